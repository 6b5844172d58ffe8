"""Each package's public API is explicit, importable, and named in docs/architecture.md."""

import importlib
from pathlib import Path

import pytest

DOCS = (Path(__file__).parents[1] / "docs" / "architecture.md").read_text()


@pytest.mark.parametrize(
    "package",
    ["simulations", "agents", "rules", "calibration", "calibration.fidelity", "scenarios",
     "scenarios.bank"],
)
def test_public_names_exist_and_are_documented(package):
    module = importlib.import_module(package)
    for name in module.__all__:
        assert hasattr(module, name), f"{package}.{name} is exported but missing"
        assert f"`{name}`" in DOCS, f"{package}.{name} is not in docs/architecture.md"
