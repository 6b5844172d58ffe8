"""Tests for the ``synthsim`` command line (simulations/cli.py) end to end.

Runs are kept tiny (600 customers in 3 shards of 200, 10 days) so the whole file stays fast;
the first run in a fresh checkout compiles the Numba kernels (cached on disk afterwards).
"""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import scenarios.bank
from rules.financial_crime import TYPOLOGIES
from simulations.cli import cli
from simulations.datasets import read_manifest, read_table
from simulations.eventlog import MANIFEST_NAME
from simulations.scenario import get_scenario

SMALL = [
    "population.n_customers=600",
    "run.days=10",
    "run.shard_size=200",
    "population.n_merchants=100",
]
# The default case rates give no cases at all in a population this small.
LABELLED = SMALL + [
    "fraud.account_takeover=3",
    "fraud.stolen_card_burst=5",
    "fraud.card_testing=3",
    "laundering.fan_in=2",
    "laundering.fan_out=2",
    "laundering.cycle=2",
    "laundering.structuring=3",
]
TABLES = ("transactions", "customers", "accounts", "merchants", "sessions", "alerts")
MONEY_KEYS = (
    "money.opening_cents",
    "money.closing_cents",
    "money.external_in_cents",
    "money.external_out_cents",
)


def _sets(overrides):
    args = []
    for item in overrides:
        args += ["--set", item]
    return args


def invoke(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


def run_bank(out, *extra, overrides=SMALL):
    """Run the bank scenario in-process; fail with the CLI's output if it does not succeed."""
    result = invoke("run", "bank", *_sets(overrides), "--out", out, "--quiet", *extra)
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def run_bank_process(out, *extra, overrides=SMALL):
    """Run the bank scenario in a real ``python -m simulations.cli`` process."""
    cmd = [sys.executable, "-m", "simulations.cli", "run", "bank", *_sets(overrides)]
    cmd += ["--out", str(out), "--quiet", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones included) by relative path, with its bytes."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def differing_files(a: Path, b: Path) -> set[str]:
    fa, fb = files_of(a), files_of(b)
    assert fa.keys() == fb.keys()
    return {name for name in fa if fa[name] != fb[name]}


def assert_same_tables(a: Path, b: Path, tables=TABLES) -> None:
    for table in tables:
        ta = pq.read_table(sorted((a / table).glob("*.parquet")))
        tb = pq.read_table(sorted((b / table).glob("*.parquet")))
        assert ta.equals(tb), table


def leftovers(folder: Path) -> list[Path]:
    """Hidden temporary / old-copy siblings the dataset writer may leave behind."""
    return sorted(folder.glob(".*synthsim-*"))


def assert_one_error_line(result, *fragments: str) -> str:
    assert result.exit_code != 0
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("small") / "ds"
    run_bank(out)
    return out


@pytest.fixture(scope="module")
def labelled_dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("labelled") / "ds"
    run_bank(out, "--seed", 7, overrides=LABELLED)
    return out


@pytest.fixture(scope="module")
def by_workers(tmp_path_factory) -> tuple[Path, Path]:
    """The same 3-shard config run in real processes with --workers 1 and --workers 2."""
    root = tmp_path_factory.mktemp("workers")
    run_bank_process(root / "w1", "--workers", "1")
    run_bank_process(root / "w2", "--workers", "2")
    return root / "w1", root / "w2"


# --- list / describe -------------------------------------------------------------------------


def test_version_option():
    result = invoke("--version")
    assert result.exit_code == 0
    assert version("synthsim") in result.output


def test_list_shows_bank_with_description():
    result = invoke("list")
    assert result.exit_code == 0
    lines = [line for line in result.output.splitlines() if line.split()[:1] == ["bank"]]
    assert len(lines) == 1
    assert get_scenario("bank").description in lines[0]


def _describe_rows(output: str) -> dict[str, list[str]]:
    rows = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if cells and cells[0]:
            rows[cells[0]] = cells
    return rows


def test_describe_lists_every_key_default_table_and_column():
    sc = get_scenario("bank")
    result = invoke("describe", "bank", env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    rows = _describe_rows(result.output)
    defaults = sc.resolve_config()
    keys = [f"{section}.{key}" for section, params in sc.schema.items() for key in params]
    for key in keys:
        assert key in rows, key
        section, name = key.split(".")
        assert rows[key][2] == str(defaults[section][name]), key
    assert rows["population.n_customers"][1:3] == ["int", "20000"]
    assert rows["run.start_date"][2] == "2025-01-01"
    for table, schema in sc.tables.items():
        assert f"table {table}:" in result.output
        for field in schema:
            assert field.name in rows, (table, field.name)
    for column in ("is_fraud", "is_laundering", "fraud_type", "case_id", "is_mule"):
        assert column in rows


def test_describe_keys_readable_at_80_columns():
    result = invoke("describe", "bank", env={"COLUMNS": "80"})
    assert result.exit_code == 0
    for key in ("population.n_customers", "population.mule_fraction"):
        assert key in result.output


def test_describe_prints_units_and_types_verbatim():
    result = invoke("describe", "bank", env={"COLUMNS": "300"})
    assert result.exit_code == 0
    rows = _describe_rows(result.output)
    assert rows["run.days"][4] == "number of simulated days [days]"
    assert rows["timestamp"][1] == "timestamp[s]"


def test_describe_unknown_scenario_is_one_error_line():
    assert_one_error_line(invoke("describe", "nosuch"), "nosuch", "bank")


# --- a successful run ------------------------------------------------------------------------


def test_run_writes_tables_and_manifest_only(small_dataset):
    assert sorted(p.name for p in small_dataset.iterdir()) == sorted([*TABLES, MANIFEST_NAME])
    assert [p.name for p in sorted((small_dataset / "transactions").iterdir())] == [
        "part-00000.parquet",
        "part-00001.parquet",
        "part-00002.parquet",
    ]
    assert [p.name for p in (small_dataset / "merchants").iterdir()] == ["part-00000.parquet"]
    assert leftovers(small_dataset.parent) == []


def test_manifest_records_scenario_seed_config_and_versions(labelled_dataset):
    manifest = read_manifest(labelled_dataset)
    sc = get_scenario("bank")
    assert manifest["scenario"] == "bank"
    assert manifest["seed"] == 7
    assert manifest["format"] == "parquet"
    assert manifest["engine"] == "kernel"
    assert manifest["config"] == sc.resolve_config(overrides=LABELLED, seed=7)
    assert manifest["config"]["population"]["n_customers"] == 600
    assert manifest["config"]["run"]["seed"] == 7
    for package in ("synthsim", "numpy", "numba", "pyarrow", "pandas", "mesa", "faker"):
        assert manifest["versions"][package] == version(package), package
    assert manifest["versions"]["python"] == ".".join(map(str, sys.version_info[:3]))


def test_manifest_schema_and_row_counts_match_the_data(labelled_dataset):
    manifest = read_manifest(labelled_dataset)
    sc = get_scenario("bank")
    assert set(manifest["tables"]) == set(sc.tables)
    for name, schema in sc.tables.items():
        entry = manifest["tables"][name]
        assert [c["name"] for c in entry["schema"]] == schema.names
        assert [c["type"] for c in entry["schema"]] == [str(f.type) for f in schema]
        frame = read_table(labelled_dataset, name)
        assert list(frame.columns) == schema.names
        assert entry["rows"] == len(frame), name
    assert manifest["tables"]["customers"]["rows"] == 600
    assert manifest["tables"]["accounts"]["rows"] == 600
    assert manifest["tables"]["merchants"]["rows"] == 100
    assert manifest["tables"]["transactions"]["rows"] > 600


def test_manifest_label_prevalence_matches_the_data(labelled_dataset):
    prevalence = read_manifest(labelled_dataset)["label_prevalence"]
    tx = read_table(labelled_dataset, "transactions")
    for column in ("is_fraud", "is_laundering"):
        stats = prevalence["transactions"][column]["true"]
        assert stats["rows"] == int(tx[column].sum()) > 0, column
        assert stats["prevalence"] == pytest.approx(tx[column].sum() / len(tx)), column
    by_type = tx["fraud_type"].value_counts()
    recorded = prevalence["transactions"]["fraud_type"]
    assert {k: v["rows"] for k, v in recorded.items()} == {
        k: int(v) for k, v in by_type.items() if v
    }
    assert sum(v["rows"] for v in recorded.values()) == tx["case_id"].notna().sum()
    accounts = read_table(labelled_dataset, "accounts")
    assert prevalence["accounts"]["is_mule"]["true"]["rows"] == int(accounts["is_mule"].sum())


def test_manifest_summary_cases_and_money(labelled_dataset):
    summary = read_manifest(labelled_dataset)["summary"]
    fit = {k for k in summary if k.startswith("fit.")}
    tallies = {k for k in summary if k.startswith("tally.")}  # tested in test_bank_metrics
    assert fit and tallies
    assert set(summary) - fit - tallies == ({f"cases.{t.name}" for t in TYPOLOGIES}
                                            | set(MONEY_KEYS))  # fmt: skip
    tx = read_table(labelled_dataset, "transactions")
    for t in TYPOLOGIES:
        in_data = tx.loc[tx["fraud_type"] == t.name, "case_id"].nunique()
        assert 0 < in_data <= summary[f"cases.{t.name}"], t.name
    accounts = read_table(labelled_dataset, "accounts")
    assert summary["money.opening_cents"] == round(accounts["opening_balance"].sum() * 100)
    assert summary["money.closing_cents"] == round(accounts["closing_balance"].sum() * 100)
    assert (
        summary["money.opening_cents"]
        + summary["money.external_in_cents"]
        - summary["money.external_out_cents"]
        == summary["money.closing_cents"]
    )


def test_run_without_quiet_prints_a_summary(tmp_path):
    result = invoke("run", "bank", *_sets(SMALL), "--out", tmp_path / "ds")
    assert result.exit_code == 0, result.output
    manifest = read_manifest(tmp_path / "ds")
    assert f"wrote {tmp_path / 'ds'}" in result.output
    rows = f"{manifest['tables']['transactions']['rows']:,} rows"
    assert any("transactions" in line and rows in line for line in result.output.splitlines())
    assert "accounts.is_mule:" in result.output


def test_run_default_out_is_out_slash_scenario(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("run", "bank", *_sets(SMALL), "--quiet")
    assert result.exit_code == 0, result.output
    assert read_manifest(tmp_path / "out" / "bank")["scenario"] == "bank"


# --- reproducibility -------------------------------------------------------------------------


def test_same_seed_twice_gives_identical_datasets(tmp_path, small_dataset):
    run_bank(tmp_path / "again")
    assert differing_files(small_dataset, tmp_path / "again") == set()
    assert (small_dataset / MANIFEST_NAME).read_bytes() == (
        tmp_path / "again" / MANIFEST_NAME
    ).read_bytes()
    assert_same_tables(small_dataset, tmp_path / "again")


def test_same_seed_twice_gives_byte_identical_datasets(tmp_path, small_dataset):
    run_bank(tmp_path / "again")
    assert differing_files(small_dataset, tmp_path / "again") == set()


def test_customers_first_name_is_dictionary_encoded(small_dataset):
    meta = pq.ParquetFile(small_dataset / "customers" / "part-00000.parquet").metadata
    columns = [meta.row_group(0).column(i) for i in range(meta.num_columns)]
    encodings = {c.path_in_schema: c.encodings for c in columns}
    assert "RLE_DICTIONARY" in encodings["last_name"]
    assert "RLE_DICTIONARY" in encodings["first_name"]


def test_different_seed_gives_different_transactions(tmp_path, small_dataset):
    run_bank(tmp_path / "other", "--seed", 43)
    assert read_manifest(tmp_path / "other")["seed"] == 43
    a = read_table(small_dataset, "transactions")
    b = read_table(tmp_path / "other", "transactions")
    assert not (len(a) == len(b) and a.equals(b))
    assert not a["amount"].head(50).reset_index(drop=True).equals(b["amount"].head(50))


def test_seed_option_beats_set_run_seed(tmp_path):
    run_bank(tmp_path / "ds", "--seed", 5, overrides=[*SMALL, "run.seed=9"])
    assert read_manifest(tmp_path / "ds")["config"]["run"]["seed"] == 5


def test_workers_1_and_2_give_identical_datasets(by_workers):
    w1, w2 = by_workers
    assert len(list((w1 / "transactions").iterdir())) >= 3
    assert differing_files(w1, w2) == set()
    assert (w1 / MANIFEST_NAME).read_bytes() == (w2 / MANIFEST_NAME).read_bytes()
    assert_same_tables(w1, w2)


def test_workers_1_and_2_give_byte_identical_datasets(by_workers):
    assert differing_files(*by_workers) == set()


# --- formats and config layering -------------------------------------------------------------


def test_csv_format_matches_parquet_row_counts(tmp_path, small_dataset):
    run_bank(tmp_path / "csv", "--format", "csv")
    manifest = read_manifest(tmp_path / "csv")
    assert manifest["format"] == "csv"
    parquet_manifest = read_manifest(small_dataset)
    for table in TABLES:
        parts = sorted(p.name for p in (tmp_path / "csv" / table).iterdir())
        assert parts and all(name.endswith(".csv") for name in parts), table
        rows = len(read_table(tmp_path / "csv", table))
        assert rows == len(read_table(small_dataset, table)), table
        assert (
            rows == manifest["tables"][table]["rows"] == parquet_manifest["tables"][table]["rows"]
        )
    assert manifest["label_prevalence"] == parquet_manifest["label_prevalence"]
    assert manifest["summary"] == parquet_manifest["summary"]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_config_file_is_layered_under_set(tmp_path):
    config = _write(tmp_path / "c.toml", "[population]\nn_customers = 700\n")
    overrides = [s for s in SMALL if not s.startswith("population.n_customers")]
    run_bank(tmp_path / "file", "--config", config, overrides=overrides)
    assert read_manifest(tmp_path / "file")["config"]["population"]["n_customers"] == 700
    assert read_manifest(tmp_path / "file")["tables"]["customers"]["rows"] == 700
    both = [*overrides, "population.n_customers=650"]
    run_bank(tmp_path / "both", "--config", config, overrides=both)
    assert read_manifest(tmp_path / "both")["config"]["population"]["n_customers"] == 650
    assert read_manifest(tmp_path / "both")["tables"]["customers"]["rows"] == 650


# --- bad input: one error line, nothing written ----------------------------------------------


def _run_fails(tmp_path, *args, overrides=SMALL):
    out = tmp_path / "ds"
    result = invoke("run", *args, *_sets(overrides), "--out", out, "--quiet")
    assert not out.exists()
    assert leftovers(tmp_path) == []
    return result


def test_unknown_key_names_valid_keys_and_suggests(tmp_path):
    result = _run_fails(tmp_path, "bank", overrides=[*SMALL, "population.n_customer=5"])
    line = assert_one_error_line(result, "'population.n_customer'")
    assert "Did you mean 'population.n_customers'?" in line
    assert "Valid keys:" in line and "laundering.reporting_threshold" in line


def test_out_of_range_value_names_parameter_range_and_value(tmp_path):
    result = _run_fails(tmp_path, "bank", overrides=[*SMALL, "population.n_customers=0"])
    assert_one_error_line(result, "'population.n_customers'", "[1, 1000000000]", "Got 0")


def test_wrong_type_value(tmp_path):
    result = _run_fails(tmp_path, "bank", overrides=[*SMALL, "run.days=abc"])
    assert_one_error_line(result, "'run.days'", "int", "'abc'")


def test_malformed_set(tmp_path):
    result = _run_fails(tmp_path, "bank", overrides=[*SMALL, "nonsense"])
    assert_one_error_line(result, "Malformed --set 'nonsense'", "KEY=VALUE")


def test_unknown_scenario(tmp_path):
    result = _run_fails(tmp_path, "nosuch")
    assert_one_error_line(result, "'nosuch'", "bank")


def test_unknown_engine(tmp_path):
    result = _run_fails(tmp_path, "bank", "--engine", "turbo")
    assert_one_error_line(result, "'engine'", "'turbo'")


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--workers", "0"], "--workers"),
        (["--format", "xml"], "--format"),
        (["--seed", "-1"], "--seed"),
    ],
)
def test_click_usage_errors(tmp_path, args, option):
    result = _run_fails(tmp_path, "bank", *args)
    assert result.exit_code == 2
    assert option in result.stderr


def test_config_missing_file(tmp_path):
    result = _run_fails(tmp_path, "bank", "--config", tmp_path / "missing.toml")
    assert_one_error_line(result, "missing.toml", "does not exist")


def test_config_toml_syntax_error(tmp_path):
    config = _write(tmp_path / "bad.toml", "[population]\nn_customers = \n")
    result = _run_fails(tmp_path, "bank", "--config", config)
    assert_one_error_line(result, "bad.toml", "not valid TOML", "line 2")


def test_config_unknown_key(tmp_path):
    config = _write(tmp_path / "unknown.toml", "[population]\nn_customer = 700\n")
    result = _run_fails(tmp_path, "bank", "--config", config)
    assert_one_error_line(result, "'population.n_customer'", "'population.n_customers'")


def test_existing_dataset_refused_without_overwrite_and_replaced_with_it(tmp_path):
    out = tmp_path / "ds"
    run_bank(out)
    before = files_of(out)
    result = invoke("run", "bank", *_sets(SMALL), "--seed", 5, "--out", out, "--quiet")
    assert_one_error_line(result, str(out), "--overwrite")
    assert files_of(out) == before
    assert leftovers(tmp_path) == []

    run_bank(out, "--seed", 5, "--overwrite")
    assert read_manifest(out)["seed"] == 5
    assert files_of(out) != before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


@pytest.mark.parametrize("sub", [("ds",), ("sub", "ds")])
def test_out_under_a_regular_file(tmp_path, sub):
    afile = _write(tmp_path / "afile", "keep me\n")
    out = afile.joinpath(*sub)
    result = invoke("run", "bank", *_sets(SMALL), "--out", out, "--quiet")
    assert_one_error_line(result, str(out))
    assert afile.read_text() == "keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_out_is_a_regular_file(tmp_path):
    afile = _write(tmp_path / "afile", "keep me\n")
    result = invoke("run", "bank", *_sets(SMALL), "--out", afile, "--overwrite", "--quiet")
    assert_one_error_line(result, str(afile), "not a folder")
    assert afile.read_text() == "keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_non_dataset_folder_refused_even_with_overwrite(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    _write(folder / "notes.txt", "precious\n")
    (folder / "sub").mkdir()
    before = files_of(folder)
    result = invoke("run", "bank", *_sets(SMALL), "--out", folder, "--overwrite", "--quiet")
    assert_one_error_line(result, str(folder), "not a synthsim dataset")
    assert files_of(folder) == before
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt", "sub"]
    assert leftovers(tmp_path) == []


def test_empty_folder_is_filled(tmp_path):
    (tmp_path / "empty").mkdir()
    run_bank(tmp_path / "empty")
    assert read_manifest(tmp_path / "empty")["scenario"] == "bank"


# --- a run that crashes leaves nothing ---------------------------------------------------------


def install_crash(monkeypatch):
    """Make shard 1 raise after it has written customers and a first transactions batch."""
    original = scenarios.bank.BankScenario.run_shard

    def run_shard(self, config, shard, emit, advance, engine="kernel"):
        def emit_then_crash(table, batch):
            emit(table, batch)
            if shard == 1 and table == "transactions":
                raise RuntimeError("simulated crash")

        return original(self, config, shard, emit_then_crash, advance, engine)

    monkeypatch.setattr(scenarios.bank.BankScenario, "run_shard", run_shard)


@pytest.fixture
def crash_in_shard_1(monkeypatch):
    install_crash(monkeypatch)


def test_crash_mid_run_leaves_nothing(tmp_path, crash_in_shard_1):
    out = tmp_path / "ds"
    result = invoke("run", "bank", *_sets(SMALL), "--out", out, "--quiet")
    assert result.exit_code != 0
    assert isinstance(result.exception, RuntimeError)
    assert "simulated crash" in str(result.exception)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_crash_with_overwrite_keeps_the_old_dataset(tmp_path, monkeypatch):
    out = tmp_path / "ds"
    run_bank(out)
    before = files_of(out)
    install_crash(monkeypatch)
    result = invoke("run", "bank", *_sets(SMALL), "--seed", 5, "--out", out, "--overwrite")
    assert isinstance(result.exception, RuntimeError)
    assert files_of(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_crash_leaves_no_parent_folders(tmp_path, crash_in_shard_1):
    out = tmp_path / "new" / "deeper" / "ds"
    result = invoke("run", "bank", *_sets(SMALL), "--out", out, "--quiet")
    assert isinstance(result.exception, RuntimeError)
    assert list(tmp_path.iterdir()) == []
