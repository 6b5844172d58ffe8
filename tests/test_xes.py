"""Tests of the XES exporter (simulations.xes)."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from simulations.errors import ConfigError
from simulations.xes import XES_NAMESPACE, read_xes_counts, write_xes

NS = f"{{{XES_NAMESPACE}}}"
ISO_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")
NASTY = 'Ann <&"> Lee'


@pytest.fixture
def log() -> pd.DataFrame:
    """Three cases, events deliberately out of time order, one missing amount."""
    t0 = pd.Timestamp("2025-01-01 08:30")
    minutes = [5, 0, 10, 3, 1, 2, 7]
    return pd.DataFrame(
        {
            "case:concept:name": ["c2", "c2", "c1", "c3", "c1", "c2", "c3"],
            "concept:name": ["review", "apply", "approve", "apply", "apply", "pay", "reject"],
            "time:timestamp": [t0 + pd.Timedelta(minutes=m) for m in minutes],
            "org:resource": [NASTY, "bob", "carol", "bob", "bob", "carol", "dave"],
            "lifecycle:transition": ["complete"] * 7,
            "amount": [1.5, np.nan, 2.25, 3.0, 4.0, 5.0, 6.0],
            "queue_len": np.array([1, 2, 3, 4, 5, 6, 7], dtype=np.int64),
            "urgent": [True, False, True, False, False, True, False],
            "due": pd.to_datetime(["2025-02-01"] * 7),
            "case:segment": [
                "retail",
                "retail",
                "corporate",
                "retail",
                "corporate",
                "retail",
                "sme",
            ],
            "case:limit": [100, 100, 200, 300, 200, 100, 300],
        }
    )


def _attrs(elem: ET.Element) -> dict[str, tuple[str, str]]:
    """Direct child attributes of a trace or event: key -> (element name, value)."""
    return {
        child.get("key"): (child.tag.removeprefix(NS), child.get("value"))
        for child in elem
        if child.tag != f"{NS}event"
    }


def _parse(path) -> ET.Element:
    root = ET.parse(path).getroot()
    assert root.tag == f"{NS}log"
    return root


def test_round_trip_counts_and_header(tmp_path, log):
    path = tmp_path / "log.xes"
    assert write_xes(log, path) == (3, 7)
    assert read_xes_counts(path) == (3, 7)
    root = _parse(path)
    assert root.get("xes.version") == "1849-2016"
    prefixes = {e.get("prefix"): e.get("uri") for e in root.findall(f"{NS}extension")}
    assert prefixes["concept"] == "http://www.xes-standard.org/concept.xesext"
    assert set(prefixes) == {"concept", "time", "lifecycle", "org"}
    scopes = {g.get("scope") for g in root.findall(f"{NS}global")}
    assert scopes == {"trace", "event"}
    classifiers = {c.get("name"): c.get("keys") for c in root.findall(f"{NS}classifier")}
    assert classifiers["Activity"] == "concept:name"
    assert classifiers["ActivityLifecycle"] == "concept:name lifecycle:transition"
    assert {c.get("scope") for c in root.findall(f"{NS}classifier")} == {"event"}
    assert not list(tmp_path.glob(".*tmp*")), "temporary file left behind"


def test_traces_in_first_appearance_order_events_in_time_order(tmp_path, log):
    path = tmp_path / "log.xes"
    write_xes(log, path)
    traces = _parse(path).findall(f"{NS}trace")
    assert [_attrs(t)["concept:name"] for t in traces] == [
        ("string", "c2"),
        ("string", "c1"),
        ("string", "c3"),
    ]
    activities = [[_attrs(e)["concept:name"][1] for e in t.findall(f"{NS}event")] for t in traces]
    assert activities == [["apply", "pay", "review"], ["apply", "approve"], ["apply", "reject"]]
    for trace in traces:
        stamps = [_attrs(e)["time:timestamp"][1] for e in trace.findall(f"{NS}event")]
        assert all(ISO_OFFSET.match(s) for s in stamps)
        assert stamps == sorted(stamps)


def test_event_attributes_are_typed_and_escaped(tmp_path, log):
    path = tmp_path / "log.xes"
    write_xes(log, path)
    assert "&lt;&amp;&quot;&gt;" in path.read_text(encoding="utf-8")
    events = {
        (_attrs(t)["concept:name"][1], _attrs(e)["concept:name"][1]): _attrs(e)
        for t in _parse(path).findall(f"{NS}trace")
        for e in t.findall(f"{NS}event")
    }
    review = events[("c2", "review")]
    assert review == {
        "concept:name": ("string", "review"),
        "lifecycle:transition": ("string", "complete"),
        "org:resource": ("string", NASTY),
        "time:timestamp": ("date", "2025-01-01T08:35:00.000+00:00"),
        "amount": ("float", "1.5"),
        "queue_len": ("int", "1"),
        "urgent": ("boolean", "true"),
        "due": ("date", "2025-02-01T00:00:00.000+00:00"),
    }
    apply_c2 = events[("c2", "apply")]
    assert "amount" not in apply_c2, "a missing value is left out of the event"
    assert apply_c2["urgent"] == ("boolean", "false")
    assert apply_c2["queue_len"] == ("int", "2")


def test_case_columns_are_trace_attributes_only(tmp_path, log):
    path = tmp_path / "log.xes"
    write_xes(log, path)
    for trace in _parse(path).findall(f"{NS}trace"):
        attrs = _attrs(trace)
        assert set(attrs) == {"concept:name", "segment", "limit"}
        case = attrs["concept:name"][1]
        expected = log.loc[log["case:concept:name"] == case].iloc[0]
        assert attrs["segment"] == ("string", expected["case:segment"])
        assert attrs["limit"] == ("int", str(expected["case:limit"]))
        for event in trace.findall(f"{NS}event"):
            assert not any(k in _attrs(event) for k in ("segment", "limit", "case:segment"))


def test_case_attributes_frame_and_timezone(tmp_path, log):
    log["time:timestamp"] = log["time:timestamp"].dt.tz_localize("Europe/Paris")
    extra = pd.DataFrame({"vip": [True, False]}, index=pd.Index(["c1", "c3"]))
    path = tmp_path / "log.xes"
    write_xes(log, path, case_attributes=extra)
    traces = {_attrs(t)["concept:name"][1]: t for t in _parse(path).findall(f"{NS}trace")}
    assert _attrs(traces["c1"])["vip"] == ("boolean", "true")
    assert "vip" not in _attrs(traces["c2"])
    first = _attrs(traces["c2"].find(f"{NS}event"))
    # local time with its offset, as the data hold it (the same instant as 07:30 UTC)
    assert first["time:timestamp"] == ("date", "2025-01-01T08:30:00.000+01:00")


def test_missing_required_columns(tmp_path, log):
    with pytest.raises(ConfigError, match="'concept:name'.*'time:timestamp'") as info:
        write_xes(log.drop(columns=["concept:name", "time:timestamp"]), tmp_path / "x.xes")
    message = str(info.value)
    assert "missing required column(s) 'concept:name', 'time:timestamp'" in message
    assert "'case:concept:name'" in message
    assert not (tmp_path / "x.xes").exists()


def test_large_log_is_fast_and_complete(tmp_path):
    rng = np.random.default_rng(7)
    n_events, n_cases = 200_000, 20_000
    events = pd.DataFrame(
        {
            "case:concept:name": rng.integers(0, n_cases, n_events).astype(str),
            "concept:name": rng.choice(["a", "b", "c", "d"], n_events),
            "time:timestamp": pd.Timestamp("2025-01-01")
            + pd.to_timedelta(rng.integers(0, 10**9, n_events), unit="ms"),
            "org:resource": rng.choice(["r1", "r2", "r3"], n_events),
            "amount": rng.normal(size=n_events),
        }
    )
    n_traces = events["case:concept:name"].nunique()
    path = tmp_path / "big.xes"
    start = time.perf_counter()
    assert write_xes(events, path) == (n_traces, n_events)
    assert time.perf_counter() - start < 5.0
    assert read_xes_counts(path) == (n_traces, n_events)
