"""Every `console` block of the README runs as written and prints what the README says (but for timings).

The runner is docs/regenerate_readme.py, which also rewrites the outputs from real runs.
"""

import importlib.util

from conftest import ROOT

spec = importlib.util.spec_from_file_location("regenerate_readme", ROOT / "docs" / "regenerate_readme.py")
readme = importlib.util.module_from_spec(spec)
spec.loader.exec_module(readme)


def test_the_runner_reads_blocks_elisions_and_exit_codes():
    lines = [
        "text",
        "```console",
        "$ dnn a",
        "one",
        "...",
        "last",
        "$ echo $?",
        "2",
        "$ dnn b",
        "```",
        "```sh",
        "$ dnn c",
        "```",
    ]
    (block,) = readme.console_blocks(lines)
    assert [(c.line, c.expected, c.exit_code) for c in block.commands] == [
        ("dnn a", ["one", "...", "last"], 2),
        ("dnn b", [], None),
    ]
    assert readme.matches(["one", "...", "last"], ["one", "two", "three", "last"])
    assert not readme.matches(["one", "...", "last"], ["one", "two"])
    assert readme.matches(["done in 0.4s", "2026-11-28 18:16"], ["done in 12.9s", "2027-01-01 00:00"])
    block.commands[0].output = ["one", "two", "three", "last"]
    assert readme.shown(block.commands[0]) == ["one", "...", "last"]


def test_every_console_block_of_the_readme_runs_as_it_says():
    blocks = readme.console_blocks((ROOT / "README.md").read_text().splitlines())
    assert sum(len(block.commands) for block in blocks) >= 6
    readme.run_all(blocks)
    found = [problem for block in blocks for command in block.commands for problem in readme.problems(command)]
    assert not found, "\n\n".join(found)
