"""The package's layers: imports go downward only, the engine imports NumPy alone, and the command line answers
without loading the heavy libraries."""

import ast
import json
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, write_config

PACKAGE = ROOT / "dnncli"
# lowest first; a module may import its own layer and those below it
LAYERS = ["engine", "config", "data", "model", "run", "sklearn", "sweep", "report", "serve", "cli"]
FOUNDATION = {"errors", "files", "text", "resources", "values", "extras"}  # below every layer but the engine
HEAVY = ("numpy", "h5py", "rich", "PIL")


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules():
    return {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imports_of(name, path, known):
    """Every dnncli module ``name`` imports (at module level or inside functions), and the other top-level
    packages it imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    internal, external = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            targets = [
                f"{target}.{alias.name}" if f"{target}.{alias.name}" in known else target for alias in node.names
            ]
        else:
            continue
        for target in targets:
            (internal if target.split(".")[0] == "dnncli" else external).add(target)
    return {t for t in internal if t in known and t != name}, {t.split(".")[0] for t in external}


def graph():
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def layer_of(name):
    """(rank, label) of a module: the foundation and the package's top modules rank below every layer but
    the engine, which ranks lowest."""
    parts = name.split(".")
    if len(parts) == 1 or parts[1] in FOUNDATION or parts[1] in ("__init__", "__main__", "console"):
        if len(parts) > 1 and parts[1] in ("__main__", "console"):
            return len(LAYERS), "__main__"
        return 0.5, "foundation"
    assert parts[1] in LAYERS, f"{name}: a package the layers do not know; add it to LAYERS in order"
    return LAYERS.index(parts[1]), parts[1]


def test_there_is_no_import_cycle():
    edges = {name: internal for name, (internal, _) in graph().items()}
    # a module importing its own package's __init__ for a name is not a cycle through itself
    edges = {name: {d for d in deps if not name.startswith(d + ".")} for name, deps in edges.items()}
    state, cycles = {}, []

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, f"import cycles: {cycles}"


def test_imports_go_downward_only():
    upward = []
    for name, (internal, _) in graph().items():
        rank, label = layer_of(name)
        for target in internal:
            target_rank, target_label = layer_of(target)
            if target_rank > rank and target_label != "foundation" or (label == "engine" and target_label != "engine"):
                upward.append(f"{name} ({label}) imports {target} ({target_label})")
    assert not upward, "\n".join(upward)


def test_the_engine_imports_only_numpy_and_the_standard_library():
    allowed = {"numpy", *sys.stdlib_module_names}
    foreign = {
        name: sorted(external - allowed)
        for name, (_, external) in graph().items()
        if name.startswith("dnncli.engine") and external - allowed
    }
    assert not foreign, foreign


def test_the_layers_below_the_cli_never_use_click_to_print():
    printing = []
    for path in PACKAGE.rglob("*.py"):
        name = module_name(path)
        if name.startswith("dnncli.cli"):
            continue
        text = path.read_text(encoding="utf-8")
        if "click.echo" in text or "click.secho" in text:
            printing.append(name)
    assert printing == ["dnncli.errors"], printing  # errors.Interrupted.show: click's own error contract


def loaded_after(code):
    """The heavy libraries loaded after ``code`` runs in a fresh interpreter."""
    probe = f"""
import sys, json
{code}
print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def command_paths():
    """Every command and subcommand as its words: ["train"], ["data", "import"], ..."""
    import click

    from dnncli.cli import main

    def walk(group, prefix):
        for name, command in group.commands.items():
            yield prefix + [name]
            if isinstance(command, click.Group):
                yield from walk(command, prefix + [name])

    return list(walk(main, []))


def run_main(args, env=None):
    return f"""
import os
os.environ.update({env or {}!r})
from dnncli.cli import main
try:
    main({args!r}, prog_name="dnn")
except SystemExit:
    pass
"""


def test_help_loads_none_of_the_heavy_libraries():
    """`dnn --help` and every `dnn COMMAND --help`, in one interpreter: the first to load one is named."""
    probe = "\n".join(
        run_main([*words, "--help"]) + f"\nif any(m in sys.modules for m in {HEAVY!r}): print('LOADED BY', {words!r})"
        for words in [[]] + command_paths()
    )
    assert loaded_after("import sys\n" + probe) == []


def test_completion_loads_none_of_the_heavy_libraries():
    env = {"_DNN_COMPLETE": "bash_complete", "COMP_WORDS": "dnn train --pro", "COMP_CWORD": "2"}
    assert loaded_after(run_main([], env)) == []


def test_train_never_loads_pillow(in_tmp, demo_data):
    config = write_config(in_tmp / "c.yaml", demo_data, training={"iterations": 3})
    code = run_main(["train", "--config", str(config), "--quiet"])
    loaded = loaded_after(f"import os\nos.chdir({str(in_tmp)!r})\n{code}")
    assert "numpy" in loaded and "PIL" not in loaded
    assert list(Path(in_tmp, "runs").glob("*/1/checkpoint.npz"))
