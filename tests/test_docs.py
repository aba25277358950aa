"""The docs keep up with the code."""

from conftest import ROOT
from dnncli import config as configs


def test_every_config_key_is_in_the_reference():
    reference = (ROOT / "docs" / "config.md").read_text()
    missing = [key for key in configs.leaf_keys() if f"`{key}`" not in reference]
    assert not missing, f"docs/config.md does not describe {missing}"
