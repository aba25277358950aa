"""The docs keep up with the code: every config key is in the reference, and every `console` block of the README
and the guides runs as written and prints what the page says (but for timings).

The runner is docs/regenerate.py, which also rewrites the outputs from real runs. Blocks that need the course's
cat files run when the files are here (conftest's `cat_folder`), and are left out otherwise.
"""

import importlib.util
import re

import pytest

from conftest import ROOT, cat_folder
from dnncli.config.schema import leaf_keys

spec = importlib.util.spec_from_file_location("regenerate", ROOT / "docs" / "regenerate.py")
regenerate = importlib.util.module_from_spec(spec)
spec.loader.exec_module(regenerate)


def test_every_config_key_is_in_the_reference():
    reference = (ROOT / "docs" / "config.md").read_text()
    missing = [key for key in leaf_keys() if f"`{key}`" not in reference]
    assert not missing, f"docs/config.md does not describe {missing}"


def test_the_runner_reads_blocks_elisions_continuations_and_exit_codes():
    lines = [
        "text",
        "```console",
        "$ dnn a \\",
        "    --more",
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
        "```console cat-files",
        "$ dnn d",
        "```",
        "```python run.py",
        "print(1)",
        "```",
    ]
    block, cat, file = regenerate.console_blocks(lines)
    assert [(c.line, c.expected, c.exit_code) for c in block.commands] == [
        ("dnn a \\\n    --more", ["one", "...", "last"], 2),
        ("dnn b", [], None),
    ]
    assert block.needs is None and cat.needs == "cat-files" and cat.commands[0].line == "dnn d"
    assert file.file == "run.py" and lines[file.start : file.end] == ["print(1)"] and not file.commands
    assert regenerate.matches(["one", "...", "last"], ["one", "two", "three", "last"])
    assert not regenerate.matches(["one", "...", "last"], ["one", "two"])
    assert regenerate.matches(["done in 0.4s", "2026-11-28 18:16"], ["done in 12.9s", "2027-01-01 00:00"])
    block.commands[0].output = ["one", "two", "three", "last"]
    assert regenerate.shown(block.commands[0]) == ["one", "...", "last"]


def anchors(page):
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as hyphens."""
    headings, fenced = [], False
    for line in page.read_text().splitlines():
        fenced = fenced != line.startswith("```")
        if not fenced and re.match(r"#+ ", line):
            headings.append(line.lstrip("#").strip())
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_every_page_with_console_blocks_is_run_and_its_links_lead_somewhere():
    listed = {path for path, _ in regenerate.PAGES}
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    for page in pages:
        name, text = str(page.relative_to(ROOT)), page.read_text()
        if re.search(r"^```console", text, re.MULTILINE):
            assert name in listed, f"{name} has console blocks but is not in docs/regenerate.py's PAGES"
        for target, anchor in re.findall(r"\]\(([^)#:]*)(?:#([^)]*))?\)", text):  # links within the repository
            linked = page.parent / target if target else page
            assert linked.exists(), f"{name} links to {target}, which is not there"
            if anchor:
                assert anchor in anchors(linked), f"{name} links to {target}#{anchor}, a heading that is not there"


@pytest.fixture(scope="module")
def pages_run():
    """Every page of PAGES, run once (the states they start from are made once): path -> page."""
    pages = regenerate.read_pages()
    regenerate.run_pages(pages, cat_folder())
    return {page.path: page for page in pages}


@pytest.mark.parametrize("page", [path for path, _ in regenerate.PAGES])
def test_every_console_block_runs_as_the_page_says(pages_run, page):
    found = regenerate.problems(pages_run[page])
    assert not found, "\n\n".join(found)
