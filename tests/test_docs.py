"""The docs keep up with the code."""

from conftest import ROOT
from dnncli import config as configs


def leaf_keys(schema, prefix=""):
    for key, spec in schema.items():
        if isinstance(spec, dict):
            yield from leaf_keys(spec, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def test_every_config_key_is_in_the_reference():
    reference = (ROOT / "docs" / "config.md").read_text()
    missing = [key for key in leaf_keys(configs.SCHEMA) if f"`{key}`" not in reference]
    assert not missing, f"docs/config.md does not describe {missing}"
