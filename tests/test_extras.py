"""The hint for a missing optional extra names a command that works for the way dnn was installed."""

import configparser
import shlex
import subprocess
import sys

from conftest import ROOT
from dnncli.extras import extra_requirements, install_command, missing_extra


def test_from_a_clone_the_hint_installs_the_clone_with_the_extra(monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    assert install_command("plot").endswith(" install -e '.[plot]'")
    monkeypatch.chdir(tmp_path)  # elsewhere, the clone by its path
    assert install_command("plot").endswith(f" install -e {shlex.quote(f'{ROOT}[plot]')}")


def test_the_hint_names_the_pip_of_the_python_dnn_runs_in(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    pip = shlex.split(install_command("plot"))[0]
    if pip != "pip":  # not the pip on PATH: this environment's, by its path
        assert pip.startswith(str(ROOT / ".venv")) or pip == shlex.quote(sys.executable)


def test_the_hint_runs(monkeypatch, tmp_path):
    """The command the hint gives, run for real with pip's --dry-run: it resolves dnn with the extra."""
    monkeypatch.chdir(tmp_path)
    command = shlex.split(install_command("plot")) + ["--dry-run"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Would install" in done.stdout and "dnncli" in done.stdout


def test_the_extras_packages_are_those_of_setup_cfg():
    """What a hint falls back to (dnn installed some other way) is read from dnn's own metadata."""
    extras = configparser.ConfigParser()
    extras.read(ROOT / "setup.cfg")
    for extra in ("plot", "serve", "export", "cluster", "sklearn"):
        listed = [line.strip() for line in extras["options.extras_require"][extra].splitlines() if line.strip()]
        assert extra_requirements(extra) == listed


def test_the_message_says_what_needs_which_package_and_the_command():
    error = missing_extra("dnn plot", "plot", "matplotlib")
    assert error.exit_code == 2
    assert (
        error.message
        == f"dnn plot needs matplotlib (the optional plot extra); install it with: {install_command('plot')}"
    )
