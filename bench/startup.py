"""How long `dnn --help` and `dnn COMMAND --help` take, this tree beside an earlier revision, interleaved.

    python bench/startup.py                 # against 0dee48c, the last commit before the layers
    python bench/startup.py --rev HEAD~3 --repeats 21

Each call is a fresh interpreter (`python -c "from dnncli.cli import main; main([...])"`), with the package
found through PYTHONPATH: this tree, or the revision's dnncli/ unpacked by `git archive` into a temporary folder.
Medians, and the ratio; a bare `python -c "import click"` is the floor.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = (["--help"], ["train", "--help"], ["predict", "--help"], ["data", "import", "--help"])


def seconds(code, path):
    env = {**os.environ, "PYTHONPATH": str(path)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, cwd=tempfile.gettempdir(), check=True)
    return time.perf_counter() - start


def unpack(rev, into):
    archive = subprocess.run(["git", "archive", rev, "dnncli"], cwd=ROOT, capture_output=True, check=True).stdout
    path = Path(into) / "archive.tar"
    path.write_bytes(archive)
    with tarfile.open(path) as tar:
        tar.extractall(into, filter="data")
    return Path(into)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default="0dee48c", help="the revision to compare with (default 0dee48c)")
    parser.add_argument("--repeats", type=int, default=11)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        before = unpack(args.rev, folder)
        print(f"{'command':<28}{args.rev:>10}{'this tree':>11}{'ratio':>8}")
        for words in COMMANDS:
            code = f"from dnncli.cli import main\nmain({words!r}, prog_name='dnn', standalone_mode=False)"
            old, new = [], []
            for _ in range(args.repeats):
                old.append(seconds(code, before))
                new.append(seconds(code, ROOT))
            o, n = statistics.median(old), statistics.median(new)
            print(f"{'dnn ' + ' '.join(words):<28}{o:>9.3f}s{n:>10.3f}s{o / n:>7.1f}x")
        floor = statistics.median(seconds("import click", ROOT) for _ in range(args.repeats))
        label = 'python -c "import click"'
        print(f"{label:<28}{'':>10}{floor:>10.3f}s")


if __name__ == "__main__":
    main()
