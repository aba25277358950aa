"""The `console` blocks of the README and the guides, run for real: regenerate their outputs, or check them.

A fenced block whose info string is ``console`` holds commands, each on a line that starts with ``$ `` (a line
ending in `` \\`` goes on with the next), each followed by its output; ``$ echo $?`` is followed by the exit code
of the command before. Blocks with another info string (``sh``, ``text``, ``yaml``) are never run.

The pages are PAGES, in the order a reader takes them. Each page starts from a fresh folder holding the state it
names, always at the same temporary path (two pages at a time, each at a path of its own):

- ``clone``: a fresh clone as far as the commands can tell: ``configs/``, and nothing made;
- ``demo``: what ``make demo`` leaves: the clone after the commands of the Makefile's ``demo`` recipe
  (``data/demo/``, the run ``runs/demo/1``).

So a page can be read, and checked, on its own: a page that needs a run the demo does not make makes it in one
of its console blocks, and later blocks of that page use it. Pages never depend on each other.

- Each command runs in bash in that folder, with ``dnn`` and ``python`` on the PATH being this Python's, and
  standard output and error together, as a pipe gets them (so `dnn predict` prints tab-separated lines).
- The folder appears as ``/tmp/dnn`` in outputs, and BLAS runs on one thread, so figures do not depend on where
  or on how many cores the commands ran.
- A line ``...`` in an output stands for any number of lines (the middle of a long log); it is kept.
- Checking ignores what depends on timing: durations (``0.4s``) and dates (``2026-11-28 18:16``); regenerating
  keeps an output that differs from the page in those alone, so a page changes only where dnn's output did.
- A command whose output ends in an ``Error:`` line must fail (exit 2, or the code its ``$ echo $?`` gives);
  any other must exit 0.
- A block whose info string is ``console cat-files`` needs the course's cat files: they are copied into
  ``data/cat/`` from ``--cat-data`` (default ``$DNN_CAT_DATA``, else ``data/cat/``) when they are there, and
  the block is skipped otherwise (its outputs are kept as they are). Later blocks must not need what it made.
- A block whose info string names a file after its language (```` ```python classify.py ````) is written to that
  file in the folder when the runner gets to it, so that a later console block can run it.
- A block whose info string is ``console serve`` talks to ``dnn serve``, which the reader started in another
  terminal: its commands (curl) name ``localhost:8000``. The runner starts ``dnn serve --quiet`` in the folder on
  a free port for the block, runs the commands with that port in place of 8000, and stops the server after.
  Without curl the block is skipped.

    python docs/regenerate.py                     # rewrite every page's console outputs from real runs
    python docs/regenerate.py docs/guide/03-training.md    # only this page
    python docs/regenerate.py --check             # say what differs; exit 1 if anything does
"""

import argparse
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLONE, DEMO = "clone", "demo"
PAGES = [  # (page, the state its commands start from), in reading order
    ("README.md", DEMO),
    ("docs/guide/01-pictures.md", DEMO),
    ("docs/guide/02-tables.md", CLONE),
    ("docs/guide/03-training.md", DEMO),
    ("docs/guide/04-evaluating.md", DEMO),
    ("docs/guide/05-finding-a-good-model.md", DEMO),
    ("docs/guide/06-sharing.md", DEMO),
    ("docs/guide/07-python.md", CLONE),
]
SHOWN_ROOT = "/tmp/dnn"  # what the temporary folder is called in outputs
ELISION = "..."
FENCE = re.compile(r"^```console(?:[ \t]+(?P<needs>[\w-]+))?[ \t]*$")
FILE_FENCE = re.compile(r"^```\w+[ \t]+(?P<file>[\w-]+(?:/[\w-]+)*\.\w+)[ \t]*$")  # ```python classify.py
CAT_FILES = ("train_catvnoncat.h5", "test_catvnoncat.h5")
TIMING = [
    (re.compile(r"\b\d+(\.\d+)?s\b"), "<seconds>"),
    (re.compile(r"\b\d+m\d{2}s\b"), "<seconds>"),
    (re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}"), "<date>"),
]
COMMAND_SECONDS = 300
WORKERS = 2  # pages run two at a time, each in a folder of its own (beside them, make test runs other test files)
SERVED = "localhost:8000"  # where a `console serve` block's commands find `dnn serve`
SERVER_START_SECONDS = 60


@dataclass
class Command:
    source: list  # the block's lines of the command, continuation lines included, without the "$ "
    expected: list = field(default_factory=list)  # the page's output lines
    exit_code: int = None  # from a following `$ echo $?`
    output: list = None  # what it printed (stdout and stderr, in order)
    returncode: int = None

    @property
    def line(self):
        return "\n".join(self.source)


@dataclass
class Block:
    start: int  # index of the first line inside the fence
    end: int  # index of the closing fence
    commands: list
    needs: str = None  # "cat-files", "serve", or None
    skipped: bool = False
    file: str = None  # a file block's file name; its lines are the file


@dataclass
class Page:
    path: str  # relative to the repository's root
    start: str  # CLONE or DEMO
    lines: list
    blocks: list


def console_blocks(lines):
    """Every ``console`` block of a page, its commands and their expected outputs, and every file block."""
    blocks, i = [], 0
    while i < len(lines):
        fence, file = FENCE.match(lines[i]), FILE_FENCE.match(lines[i])
        if not fence and not file:
            i += 1
            continue
        start = end = i + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        if file:
            blocks.append(Block(start, end, [], file=file["file"]))
            i = end + 1
            continue
        commands, going_on = [], False
        for line in lines[start:end]:
            if going_on:
                commands[-1].source.append(line)
            elif line == "$ echo $?" and commands:
                commands[-1].exit_code = "pending"
            elif line.startswith("$ "):
                commands.append(Command([line[2:]]))
            elif commands and commands[-1].exit_code == "pending":
                commands[-1].exit_code = int(line)
            elif commands:
                commands[-1].expected.append(line)
            going_on = line.endswith(" \\") and bool(commands)
        blocks.append(Block(start, end, commands, fence["needs"]))
        i = end + 1
    return blocks


def read_pages(chosen=None):
    """The pages of PAGES (or only those named in ``chosen``), read and parsed."""
    pages = []
    for path, start in PAGES:
        if chosen and path not in chosen:
            continue
        lines = (ROOT / path).read_text().splitlines()
        pages.append(Page(path, start, lines, console_blocks(lines)))
    return pages


def make_demo_commands():
    """The commands of the Makefile's ``demo`` recipe, as a shell in the clone with ``dnn`` on its PATH runs them."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    start = lines.index(next(line for line in lines if line.startswith("demo:")))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip().replace("$(BIN)/", ""))
    return recipe


def environment(bin_folder):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DNN_", "BASH_"))}
    env.update(PATH=f"{bin_folder}{os.pathsep}{os.environ.get('PATH', '')}", PYTHONUNBUFFERED="1")
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.update(COLUMNS="200", NO_COLOR="1", TERM="dumb")
    return env


def shims(bin_folder):
    """``dnn`` and ``python`` for the commands: this Python, whatever the PATH holds."""
    bin_folder.mkdir()
    as_dnn = "import sys; sys.argv[0] = 'dnn'; from dnncli.cli import main; main()"  # named dnn, as its script is
    for name, command in (("dnn", f'"{sys.executable}" -c "{as_dnn}"'), ("python", f'"{sys.executable}"')):
        shim = bin_folder / name
        shim.write_text(f'#!/bin/sh\nexec {command} "$@"\n')
        shim.chmod(0o755)


def shell(line, folder, env):
    return subprocess.run(
        ["bash", "-c", line],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=COMMAND_SECONDS,
    )


def make_state(start, folder, env, cat_data):
    """``folder`` as a page starting from ``start`` finds it (``folder`` does not exist yet)."""
    shutil.copytree(ROOT / "configs", folder / "configs")
    if cat_data:
        (folder / "data" / "cat").mkdir(parents=True)
        for name in CAT_FILES:
            shutil.copyfile(Path(cat_data) / name, folder / "data" / "cat" / name)
    if start == DEMO:
        for line in make_demo_commands():
            done = shell(line, folder, env)
            if done.returncode != 0:
                raise SystemExit(f"make demo's `{line}` failed:\n{done.stdout}")


def run_pages(pages, cat_data=None, workers=WORKERS):
    """Runs every command of ``pages``, each page from a fresh copy of its start; fills in outputs and skips."""
    waiting = queue.SimpleQueue()
    for page in pages:
        waiting.put(page)
    with ThreadPoolExecutor(workers) as pool:
        for done in [pool.submit(run_waiting, waiting, cat_data) for _ in range(min(workers, len(pages)))]:
            done.result()


def run_waiting(waiting, cat_data):
    """Takes pages from ``waiting`` and runs them one after the other, in a temporary folder of its own."""
    with tempfile.TemporaryDirectory(prefix="dnn-docs-") as tmp:
        tmp = Path(tmp).resolve()
        folder, bin_folder = tmp / "dnn", tmp / "bin"
        shims(bin_folder)
        env = environment(bin_folder)
        states = {}
        while True:
            try:
                page = waiting.get_nowait()
            except queue.Empty:
                return
            if page.start not in states:  # made at the pages' own path: run folders record absolute paths
                shutil.rmtree(folder, ignore_errors=True)
                make_state(page.start, folder, env, cat_data)
                states[page.start] = shutil.copytree(folder, tmp / f"state-{page.start}", symlinks=True)
            shutil.rmtree(folder, ignore_errors=True)
            shutil.copytree(states[page.start], folder, symlinks=True)
            for block in page.blocks:
                block.skipped = (block.needs == "cat-files" and not cat_data) or (
                    block.needs == "serve" and not shutil.which("curl")
                )
                if block.file:
                    (folder / block.file).parent.mkdir(parents=True, exist_ok=True)
                    (folder / block.file).write_text("\n".join(page.lines[block.start : block.end]) + "\n")
                elif not block.skipped:
                    run_block(block, folder, bin_folder, env)


def run_block(block, folder, bin_folder, env):
    with serving(folder, bin_folder, env) if block.needs == "serve" else nullcontext() as port:
        for command in block.commands:
            line = command.line if port is None else command.line.replace(SERVED, f"localhost:{port}")
            done = shell(line, folder, env)
            command.returncode = done.returncode
            command.output = [line.rstrip().replace(str(folder), SHOWN_ROOT) for line in done.stdout.splitlines()]


@contextmanager
def serving(folder, bin_folder, env):
    """``dnn serve`` of ``folder``'s newest run on a free port of this machine, while the block runs; the port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryFile("w+") as log:
        server = subprocess.Popen(
            [str(bin_folder / "dnn"), "serve", "--port", str(port), "--quiet"],
            cwd=folder,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + SERVER_START_SECONDS
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5).close()
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        raise SystemExit(f"dnn serve did not start:\n{log.read()}") from None
                    time.sleep(0.2)
            yield port
        finally:
            server.terminate()
            server.wait(30)


def shown(command):
    """The output as the page shows it: the same lines elided as before."""
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


def problems(page):
    """What is wrong with a page's runs against what it shows, as paragraphs (none when it all matches)."""
    found = []
    for block in page.blocks:
        for command in [] if block.skipped else block.commands:
            failing = bool(command.expected) and command.expected[-1].startswith("Error:")
            wanted = command.exit_code if isinstance(command.exit_code, int) else (2 if failing else 0)
            if command.returncode != wanted:
                found.append(f"{page.path}: `$ {command.line}` exited {command.returncode}, the page says {wanted}")
            if not matches(command.expected, command.output):
                found.append(f"{page.path}: `$ {command.line}` printed:\n" + "\n".join(command.output))
    return found


def regenerated(page):
    """The page's lines with every console block's outputs replaced by the real ones; outputs that differ only in
    timings are kept as they are, and so are skipped blocks."""
    out, position = [], 0
    for block in page.blocks:
        if block.skipped or block.file:
            continue
        out += page.lines[position : block.start]
        for command in block.commands:
            out += ["$ " + command.source[0], *command.source[1:]]
            out += command.expected if matches(command.expected, command.output) else shown(command)
            if isinstance(command.exit_code, int):
                out += ["$ echo $?", str(command.returncode)]
        position = block.end
    return out + page.lines[position:]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", help="pages to run (default: every page of PAGES)")
    parser.add_argument("--check", action="store_true", help="say what differs; exit 1 if anything does")
    parser.add_argument(
        "--cat-data",
        type=Path,
        default=os.environ.get("DNN_CAT_DATA") or ROOT / "data" / "cat",
        help="folder with the course's cat files [default: $DNN_CAT_DATA, else data/cat]",
    )
    args = parser.parse_args()
    unknown = set(args.pages) - {path for path, _ in PAGES}
    if unknown:
        raise SystemExit(f"not a page of PAGES: {', '.join(sorted(unknown))}")
    cat_data = args.cat_data if all((args.cat_data / name).exists() for name in CAT_FILES) else None
    pages = read_pages(args.pages)
    run_pages(pages, cat_data)
    for page in pages:
        for block in page.blocks:
            if block.skipped:
                print(f"{page.path}: skipped a `console {block.needs}` block (line {block.start})")
    if args.check:
        found = [problem for page in pages for problem in problems(page)]
        print("\n\n".join(found) if found else "every console block matches")
        return 1 if found else 0
    for page in pages:
        (ROOT / page.path).write_text("\n".join(regenerated(page)) + "\n")
        print(page.path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
