"""`synthsim export xes` on a dataset with a process-mining event table."""

import numpy as np
import pandas as pd
import pyarrow as pa
from click.testing import CliRunner

from simulations.cli import cli
from simulations.eventlog import DatasetWriter, TablePartWriter
from simulations.xes import read_xes_counts

EVENTS = pa.schema([
    ("case:concept:name", pa.string()), ("concept:name", pa.string()),
    ("time:timestamp", pa.timestamp("s")), ("lifecycle:transition", pa.string()),
])  # fmt: skip


def _dataset(tmp_path):
    frame = pd.DataFrame({
        "case:concept:name": ["p1", "p1", "p2", "p2", "p2"],
        "concept:name": ["triage", "triage", "triage", "triage", "discharged"],
        "time:timestamp": pd.to_datetime(["2025-01-01 08:00", "2025-01-01 08:10",
                                          "2025-01-01 09:00", "2025-01-01 09:05",
                                          "2025-01-01 10:00"]).astype("datetime64[s]"),
        "lifecycle:transition": ["start", "complete", "start", "complete", "complete"],
    })  # fmt: skip
    with DatasetWriter(tmp_path / "ds") as writer:
        with TablePartWriter(writer.part_path("events", 0), EVENTS, "parquet") as part:
            part.write(pa.Table.from_pandas(frame, schema=EVENTS, preserve_index=False))
        schema = [{"name": f.name, "type": str(f.type)} for f in EVENTS]
        writer.commit({"tables": {"events": {"rows": 5, "schema": schema}}})
    return tmp_path / "ds"


def test_export_writes_xes_with_every_case_and_event(tmp_path):
    result = CliRunner().invoke(cli, ["export", "xes", str(_dataset(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "2 traces, 5 events" in result.output
    assert read_xes_counts(tmp_path / "ds.xes") == (2, 5)
    assert np.all((tmp_path / "ds.xes").read_bytes()[:5] == b"<?xml")


def test_export_refuses_a_dataset_without_an_event_log(tmp_path):
    (tmp_path / "bank").mkdir()
    (tmp_path / "bank" / "manifest.json").write_text('{"tables": {"accounts": {"schema": []}}}')
    result = CliRunner().invoke(cli, ["export", "xes", str(tmp_path / "bank")])
    assert result.exit_code == 2 and "no event table" in result.output
