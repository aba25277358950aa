import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    "shell, marker", [("bash", "complete -o nosort -F _dnn_completion dnn"), ("zsh", "#compdef dnn")]
)
def test_completion_script(dnn, shell, marker):
    result = dnn(env={"_DNN_COMPLETE": f"{shell}_source"}, prog_name="dnn")
    assert result.exit_code == 0
    assert marker in result.stdout


def test_completion_answers(dnn):
    result = dnn(env={"_DNN_COMPLETE": "bash_complete", "COMP_WORDS": "dnn ru", "COMP_CWORD": "1"}, prog_name="dnn")
    assert result.stdout.splitlines() == ["plain,runs"]
    result = dnn(
        env={"_DNN_COMPLETE": "bash_complete", "COMP_WORDS": "dnn train --pro", "COMP_CWORD": "2"}, prog_name="dnn"
    )
    assert result.stdout.splitlines() == ["plain,--progress"]


def test_bash_completes_with_the_script(tmp_path):
    bash = shutil.which("bash")
    script = Path(sys.executable).parent / "dnn"
    if bash is None or not script.exists():
        pytest.skip("needs bash and the installed dnn script")
    env = {**os.environ, "PATH": f"{script.parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("_DNN_COMPLETE", None)
    source = subprocess.run(["dnn"], env={**env, "_DNN_COMPLETE": "bash_source"}, capture_output=True, text=True)
    (tmp_path / "dnn.bash").write_text(source.stdout)
    probe = f'source {tmp_path / "dnn.bash"}; COMP_WORDS=(dnn ch); COMP_CWORD=1; _dnn_completion dnn; echo "${{COMPREPLY[@]}}"'
    completed = subprocess.run([bash, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert completed.stdout.split() == ["check"], completed.stderr
