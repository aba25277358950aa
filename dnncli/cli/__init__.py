"""The `dnn` command line: click commands that parse, call the layers below, and print.

Command modules import only click and light constants at their top; the layers with NumPy, h5py, rich and
Pillow are imported when a command runs, so `dnn --help` and shell completion answer at once.
"""

from .main import main

__all__ = ["main"]
