"""The docs keep up with the code."""

from conftest import ROOT
from dnncli.config.schema import leaf_keys


def test_every_config_key_is_in_the_reference():
    reference = (ROOT / "docs" / "config.md").read_text()
    missing = [key for key in leaf_keys() if f"`{key}`" not in reference]
    assert not missing, f"docs/config.md does not describe {missing}"
