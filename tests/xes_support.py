"""Validation of XES files against the IEEE 1849-2016 schema in ``tests/data`` (imported by
the XES tests; not a test module itself)."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulations.xes import XES_NAMESPACE

__all__ = ["SCHEMA", "validate"]

SCHEMA = Path(__file__).with_name("data") / "xes-ieee-1849-2016.xsd"


def validate(path: Path) -> None:
    """Validate an XES file against the published schema (skips the test without lxml).

    The document is checked as written except that ``xes.version`` (the standard's
    "1849-2016", which its schema types as a decimal) is read as 2.0 and elements are taken
    out of the XES namespace (the schema declares no target namespace).

    Raises
    ------
    lxml.etree.DocumentInvalid
        With the first violation.
    """
    etree = pytest.importorskip("lxml.etree")
    root = etree.parse(str(path)).getroot()
    assert root.tag == f"{{{XES_NAMESPACE}}}log" and root.get("xes.version") == "1849-2016"
    root.set("xes.version", "2.0")
    for element in root.iter():
        element.tag = etree.QName(element).localname
    etree.cleanup_namespaces(root)
    etree.XMLSchema(etree.parse(str(SCHEMA))).assertValid(root)
