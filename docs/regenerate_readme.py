"""The README's `console` blocks, run for real: regenerate their outputs, or check them (tests/test_readme.py).

A fenced block whose info string is ``console`` holds ``$ dnn ...`` lines, each followed by its output, and
``$ echo $?`` lines, followed by the exit code of the command before. Every such command runs, in README
order, from a copy of the repository's root in a temporary folder: ``configs/`` copied and the demo data
made by ``dnn data demo --out data/demo``, so nothing is left behind. Blocks with another info string
(``sh``, ``text``) are never run.

- A line ``...`` in an output stands for any number of lines (the middle of a long log); it is kept.
- The temporary folder appears as ``/tmp/dnn`` in outputs, and BLAS runs on one thread, so figures do not
  depend on where or on how many cores the commands ran.
- Checking ignores what depends on timing: durations (``0.4s``) and dates (``2026-11-28 18:16``).
- A command whose output ends in an ``Error:`` line must fail (exit 2, or the code its ``$ echo $?`` gives);
  any other must exit 0.

    python docs/regenerate_readme.py          # rewrite README.md's console outputs from real runs
    python docs/regenerate_readme.py --check  # say what differs; exit 1 if anything does
"""

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHOWN_ROOT = "/tmp/dnn"  # what the temporary copy is called in outputs
ELISION = "..."
FENCE = re.compile(r"^```console[ \t]*$")
TIMING = [
    (re.compile(r"\b\d+(\.\d+)?s\b"), "<seconds>"),
    (re.compile(r"\b\d+m\d{2}s\b"), "<seconds>"),
    (re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}"), "<date>"),
]
COMMAND_SECONDS = 300


@dataclass
class Command:
    line: str  # without the "$ "
    expected: list = field(default_factory=list)  # the README's output lines
    exit_code: int = None  # from a following `$ echo $?`
    output: list = None  # what it printed (stdout and stderr, in order)
    returncode: int = None


@dataclass
class Block:
    start: int  # index of the first line inside the fence
    end: int  # index of the closing fence
    commands: list


def console_blocks(lines):
    """Every ``console`` block of the README, its commands and their expected outputs."""
    blocks, i = [], 0
    while i < len(lines):
        if not FENCE.match(lines[i]):
            i += 1
            continue
        start = i + 1
        end = start
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        commands = []
        for line in lines[start:end]:
            if line == "$ echo $?" and commands:
                commands[-1].exit_code = "pending"
            elif line.startswith("$ "):
                commands.append(Command(line[2:]))
            elif commands and commands[-1].exit_code == "pending":
                commands[-1].exit_code = int(line)
            elif commands:
                commands[-1].expected.append(line)
        blocks.append(Block(start, end, commands))
        i = end + 1
    return blocks


def workspace(folder):
    """The repository's root as the README's commands see it: configs/ and the demo data."""
    shutil.copytree(ROOT / "configs", folder / "configs")
    subprocess.run(
        [sys.executable, "-m", "dnncli", "data", "demo", "--out", "data/demo"],
        cwd=folder,
        env=environment(folder),
        check=True,
        capture_output=True,
    )


def environment(folder):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DNN_")}
    env.update(PYTHONUNBUFFERED="1", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.update(COLUMNS="200", NO_COLOR="1", TERM="dumb")
    return env


def run(command, folder):
    words = shlex.split(command.line)
    if words[:1] != ["dnn"]:
        raise SystemExit(f"README: a console block runs only `$ dnn ...` and `$ echo $?`, not `$ {command.line}`")
    done = subprocess.run(
        [sys.executable, "-m", "dnncli", *words[1:]],
        cwd=folder,
        env=environment(folder),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=COMMAND_SECONDS,
    )
    command.returncode = done.returncode
    command.output = [line.rstrip().replace(str(folder), SHOWN_ROOT) for line in done.stdout.splitlines()]


def run_all(blocks):
    with tempfile.TemporaryDirectory(prefix="dnn-readme-") as tmp:
        folder = Path(tmp).resolve()
        workspace(folder)
        for block in blocks:
            for command in block.commands:
                run(command, folder)


def shown(command):
    """The output as the README shows it: the same lines elided as before."""
    expected, output = command.expected, command.output
    if ELISION not in expected:
        return output
    head = expected.index(ELISION)
    tail = len(expected) - 1 - max(i for i, line in enumerate(expected) if line == ELISION)
    if head + tail >= len(output):
        return output
    return output[:head] + [ELISION] + (output[len(output) - tail :] if tail else [])


def normal(line):
    for pattern, replacement in TIMING:
        line = pattern.sub(replacement, line)
    return line.rstrip()


def matches(expected, output):
    """Whether ``output`` is ``expected`` but for timings, each ``...`` standing for any lines."""
    expected, output = [normal(line) for line in expected], [normal(line) for line in output]

    def match(e, o):
        if e == len(expected):
            return o == len(output)
        if expected[e] == ELISION:
            return any(match(e + 1, k) for k in range(o, len(output) + 1))
        return o < len(output) and expected[e] == output[o] and match(e + 1, o + 1)

    return match(0, 0)


def problems(command):
    """What is wrong with a command's run against the README, as lines (none when it matches)."""
    found = []
    failing = bool(command.expected) and command.expected[-1].startswith("Error:")
    wanted = command.exit_code if isinstance(command.exit_code, int) else (2 if failing else 0)
    if command.returncode != wanted:
        found.append(f"`$ {command.line}` exited {command.returncode}, the README says {wanted}")
    if not matches(command.expected, command.output):
        found.append(f"`$ {command.line}` printed:\n" + "\n".join(command.output))
    return found


def regenerate(lines, blocks):
    """The README's lines with every console block's outputs replaced by the real ones."""
    out, position = [], 0
    for block in blocks:
        out += lines[position : block.start]
        for command in block.commands:
            out.append(f"$ {command.line}")
            out += shown(command)
            if isinstance(command.exit_code, int):
                out += ["$ echo $?", str(command.returncode)]
        position = block.end
    return out + lines[position:]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="say what differs; exit 1 if anything does")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    args = parser.parse_args()
    lines = args.readme.read_text().splitlines()
    blocks = console_blocks(lines)
    run_all(blocks)
    if args.check:
        found = [p for block in blocks for command in block.commands for p in problems(command)]
        print("\n\n".join(found) if found else "every console block matches")
        return 1 if found else 0
    args.readme.write_text("\n".join(regenerate(lines, blocks)) + "\n")
    print(args.readme)
    return 0


if __name__ == "__main__":
    sys.exit(main())
