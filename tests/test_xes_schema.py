"""XES exports validate against the IEEE 1849-2016 schema (tests/data), apart from the
standard's own version attribute and its namespace (quirks of the published schema, see the
comment at the top of the XSD)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from xes_support import validate

from simulations.xes import CLASSIFIERS, XES_NAMESPACE, write_xes

etree = pytest.importorskip("lxml.etree")

NS = f"{{{XES_NAMESPACE}}}"


def test_the_schema_rejects_what_it_should(tmp_path):
    bad = tmp_path / "bad.xes"
    bad.write_text('<?xml version="1.0"?>\n<log xes.version="1849-2016" '
                   f'xmlns="{XES_NAMESPACE}"><classifier name="a b" scope="event" '
                   'keys="concept:name"/></log>\n')  # fmt: skip
    with pytest.raises(etree.DocumentInvalid, match="NCName"):
        validate(bad)


def test_a_log_of_every_attribute_type_validates(tmp_path):
    t0 = pd.Timestamp("2025-03-30 00:30", tz="Europe/London")
    log = pd.DataFrame({
        "case:concept:name": ["a", "a", "b", "b"],
        "concept:name": ["triage", "triage", "triage", "left"],
        "time:timestamp": [t0, t0 + pd.Timedelta(hours=1), t0, t0 + pd.Timedelta(hours=2)],
        "lifecycle:transition": ["start", "ate_abort", "schedule", "complete"],
        "org:resource": ["nurse-1", "nurse-1", None, None],
        "amount": [1.5, np.nan, np.inf, -2.0],
        "n": np.array([1, 2, 3, 4]), "flag": [True, False, True, False],
        "case:acuity": [3, 3, 5, 5], "case:vip": [True, True, False, False],
    })  # fmt: skip
    path = tmp_path / "log.xes"
    write_xes(log, path)
    validate(path)
    root = etree.parse(str(path)).getroot()
    names = [c.get("name") for c in root.iter(f"{NS}classifier")]
    assert names == [name for name, _ in CLASSIFIERS]
    model = root.find(f"{NS}string[@key='lifecycle:model']")
    assert model is not None and model.get("value") == "standard"
    stamps = [d.get("value") for d in root.iter(f"{NS}date") if d.getparent().tag.endswith("event")]
    # the clocks went forward at 01:00 GMT: local time and offset as in the data
    assert stamps[:2] == ["2025-03-30T00:30:00.000+00:00", "2025-03-30T02:30:00.000+01:00"]


def test_no_lifecycle_model_for_transitions_outside_the_standard_model(tmp_path):
    log = pd.DataFrame({"case:concept:name": ["a"], "concept:name": ["x"],
                        "time:timestamp": [pd.Timestamp("2025-01-01")],
                        "lifecycle:transition": ["begin"]})  # fmt: skip
    write_xes(log, tmp_path / "log.xes")
    root = etree.parse(str(tmp_path / "log.xes")).getroot()
    assert root.find(f"{NS}string[@key='lifecycle:model']") is None
    validate(tmp_path / "log.xes")
