"""What this machine has to give: memory; and whether a process of it is still there."""

import os

MEMORY_SHARE = 0.5  # data.in_memory: auto reads a set or a table whole when it needs at most this share of the
# available memory, and from disk otherwise


def available_memory():
    """Bytes of memory available to a new allocation (Linux MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def training_memory(layers, state_copies, batch, itemsize):
    """A rough floor on the bytes training needs: weights, gradients, the optimizer's ``state_copies`` arrays
    per parameter and one update's temporaries, plus each layer's pre-activations and activations for a batch."""
    weights = sum(n * (previous + 1) for previous, n in zip(layers[:-1], layers[1:], strict=True))
    copies = 3 + state_copies
    activations = batch * (layers[0] + 3 * sum(layers[1:]))
    return (weights * copies + activations) * itemsize


CAN_ASK_FOR_PROCESSES = os.name == "posix"  # elsewhere (Windows) os.kill(pid, 0) would end the process


def no_such_process(pid):
    """Whether no process ``pid`` runs on this machine (killed, or the machine restarted); False where that
    cannot be told (not POSIX, another user's process, a number no process could have)."""
    if not CAN_ASK_FOR_PROCESSES or pid <= 0:
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False
    return False
