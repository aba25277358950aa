"""The optional extras (plot, serve, export, cluster) and the one command that installs an extra, for the way dnn
was installed, so a hint names a command that works here.

- From a clone (``pip install -e .``, or the clone on ``PYTHONPATH``): ``pip install -e '.[plot]'`` when the
  current folder is the clone, else with the clone's path.
- From a folder or a file (``pip install .``, a wheel) that is still there: that folder or file with the extra.
- From a git URL: the URL with the extra.
- Otherwise (an index, a file since deleted): the extra's own packages, as dnn's metadata lists them.

The pip named is the one of the Python dnn runs in: ``pip`` when that is the one on ``PATH``, else its path
(``.venv/bin/pip``), so the packages land where dnn looks for them.
"""

import importlib.metadata
import json
import os
import re
import shlex
import shutil
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

from .errors import UserError
from .text import short_path

DISTRIBUTION = "dnncli"
PACKAGE = Path(__file__).resolve().parent


def missing_extra(what, extra, module):
    """The ``UserError`` of ``what`` ("dnn plot") that cannot import ``module``, a package of ``extra``."""
    return UserError(f"{what} needs {module} (the optional {extra} extra); install it with: {install_command(extra)}")


def install_command(extra):
    """The shell command that installs ``extra`` into the Python dnn runs in."""
    return f"{pip_command()} install {install_target(extra)}"


def pip_command():
    here = Path(sys.executable or "python3").parent
    beside = shutil.which("pip", path=str(here))
    on_path = shutil.which("pip")
    if beside and on_path and same_file(beside, on_path):
        return "pip"
    if beside:
        return shlex.quote(short_path(beside))
    return f"{shlex.quote(short_path(sys.executable or 'python3'))} -m pip"


def same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def install_target(extra):
    """What follows ``pip install``: the clone, folder, file or URL dnn came from with ``[extra]``, or the
    extra's packages."""
    clone = source_tree()
    if clone is not None:
        return f"-e {shlex.quote(short_path(clone) + f'[{extra}]')}"
    origin = direct_url()
    url = origin.get("url", "")
    if "vcs_info" in origin and url:
        vcs = origin["vcs_info"]
        revision = f"@{vcs['commit_id']}" if vcs.get("commit_id") else ""
        return shlex.quote(f"{DISTRIBUTION}[{extra}] @ {vcs.get('vcs', 'git')}+{url}{revision}")
    local = local_path(url)
    if local is not None and local.exists():
        editable = "-e " if origin.get("dir_info", {}).get("editable") else ""
        return editable + shlex.quote(f"{short_path(local)}[{extra}]")
    requirements = extra_requirements(extra) or [f"{DISTRIBUTION}[{extra}]"]
    return " ".join(shlex.quote(requirement) for requirement in requirements)


def source_tree():
    """The clone dnn is imported from (the folder holding ``setup.cfg`` beside the package), or None."""
    root = PACKAGE.parent
    return root if (root / "setup.cfg").is_file() and (root / "pyproject.toml").is_file() else None


def direct_url():
    """How pip recorded where dnn came from (PEP 610's direct_url.json), or {}."""
    try:
        raw = importlib.metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
        origin = json.loads(raw) if raw else {}
    except (importlib.metadata.PackageNotFoundError, OSError, ValueError):
        return {}
    return origin if isinstance(origin, dict) else {}


def local_path(url):
    parsed = urlparse(url)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" and parsed.path else None


def extra_requirements(extra):
    """The requirements dnn's metadata lists for ``extra`` (``matplotlib>=3.7``), or []."""
    try:
        requires = importlib.metadata.requires(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        return []
    marker = re.compile(rf"""extra\s*==\s*["']{re.escape(extra)}["']""")
    return [line.split(";")[0].strip() for line in requires if ";" in line and marker.search(line.split(";", 1)[1])]
