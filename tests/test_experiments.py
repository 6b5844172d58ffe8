"""What-if experiments: plans (simulations/plan.py), their runs and statistics
(simulations/experiment.py, simulations/statistics.py) and ``synthsim experiment``.

Runs are tiny patients runs (2 days, 60 arrivals a day, a catchment of 2,000), so a run takes
a few hundredths of a second once the kernels are compiled.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import simulations.runner
from simulations import ExperimentResult, Plan, load_plan, run_experiment
from simulations.cli import cli
from simulations.errors import ConfigError, OutputError
from simulations.plan import run_seed
from simulations.runner import run
from simulations.scenario import get_scenario
from simulations.statistics import mean_ci, paired_difference, replications_needed

TINY = {"run.days": 2, "population.catchment": 2000, "arrivals.per_day": 60}
METRICS = ["within_4h_share", "non_admitted_time_in_department_mean_minutes",
           "occupancy.ward_bed"]  # fmt: skip


def plan_document(**changes) -> dict:
    document = {
        "scenario": "patients", "replications": 3, "seed": 1, "metrics": METRICS,
        "interval_width": {"within_4h_share": 0.05}, "base": dict(TINY),
        "variants": {"beds_144": {"capacity.ward_bed": 144},
                     "beds_60": {"capacity.ward_bed": 60}},
    }  # fmt: skip
    document.update(changes)
    return {k: v for k, v in document.items() if v is not None}


def toml_text(document: dict) -> str:
    """A plan dict as TOML (enough of TOML for these plans)."""
    from simulations.plan import _toml_value

    lines, tables = [], []
    for key, value in document.items():
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    for key, table in tables:
        nested = {k: v for k, v in table.items() if isinstance(v, dict)}
        if len(nested) < len(table) or not table:
            lines.append(f"[{key}]")
            lines += [f'"{k}" = {_toml_value(v)}' for k, v in table.items() if k not in nested]
        for name, inner in nested.items():
            lines.append(f'[{key}."{name}"]')
            lines += [f'"{k}" = {_toml_value(v)}' for k, v in inner.items()]
    return "\n".join(lines) + "\n"


def write_plan(folder: Path, document: dict, name: str = "plan.toml") -> Path:
    path = folder / name
    path.write_text(toml_text(document))
    return path


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> ExperimentResult:
    folder = tmp_path_factory.mktemp("experiment")
    plan = load_plan(write_plan(folder, plan_document()))
    return run_experiment(plan, folder / "out", progress=False)


# statistics ---------------------------------------------------------------------------------


def test_mean_ci_against_hand_computed_values():
    # mean 2.5, s = sqrt(5/3) = 1.29099, t(0.975, 3) = 3.18245, half width 2.05426
    interval = mean_ci([1.0, 2.0, 3.0, 4.0, np.nan])  # the NaN is left out
    assert interval.n == 4 and interval.mean == pytest.approx(2.5)
    assert interval.std == pytest.approx(math.sqrt(5 / 3))
    assert interval.low == pytest.approx(2.5 - 2.054260, abs=1e-6)
    assert interval.high == pytest.approx(2.5 + 2.054260, abs=1e-6)
    one = mean_ci([7.0])
    assert one.n == 1 and one.mean == 7.0 and math.isnan(one.low)


def test_paired_difference_against_hand_computed_values():
    # d = [2, 3, 3]: mean 8/3, s = 0.57735, t(0.975, 2) = 4.30265, half width 1.43422;
    # var(d) = 1/3, var(a) = 4, var(b) = 7/3: ratio (1/3) / (19/3) = 1/19
    paired = paired_difference([3.0, 5.0, 7.0, 9.0], [1.0, 2.0, 4.0, np.nan])
    assert paired.n == 3 and paired.mean == pytest.approx(8 / 3)
    assert paired.low == pytest.approx(8 / 3 - 1.434218, abs=1e-6)
    assert paired.high == pytest.approx(8 / 3 + 1.434218, abs=1e-6)
    assert paired.variance_ratio == pytest.approx(1 / 19)
    with pytest.raises(ValueError, match="one shape"):
        paired_difference([1.0, 2.0], [1.0])


def test_replications_needed_against_hand_computed_values():
    # s = 2, half width 0.5: t(9) = 2.26216 -> (2.26216 * 4)**2 = 81.88 -> 82;
    # t(81) = 1.98969 -> (1.98969 * 4)**2 = 63.34 -> 64
    assert replications_needed(2.0, 10, 1.0) == 64
    assert replications_needed(0.0, 10, 1.0) == 2
    assert replications_needed(float("nan"), 10, 1.0) is None
    assert replications_needed(2.0, 1, 1.0) is None


# plans --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"scenario": "hospital"}, "Unknown scenario 'hospital'. Available: bank, patients"),
        ({"variants": {"a": {"capacity.ward_beds": 100}}},
         "variant 'a': Unknown config key 'capacity.ward_beds'"),
        ({"variants": {}}, "no variants"),
        ({"variants": None, "design": {"kind": "grid"}, "factors": {}}, "empty design"),
        ({"metrics": ["within_5h_share"]}, "metric 'within_5h_share' is not declared"),
        ({"replications": 0}, "'replications' must be an int in the range [1, inf)"),
        ({"replicates": 3}, "unknown key 'replicates'; valid keys: scenario, replications"),
        ({"baseline": "beds_200"}, "baseline 'beds_200' is not a variant"),
        ({"variants": {"a": {"capacity.ward_bed": -1}}}, "variant 'a':"),
        ({"interval_width": 0}, "interval_width of 'within_4h_share' must be a number > 0"),
        ({"design": {"kind": "grid"}, "factors": {"capacity.ward_bed": {"values": [1]}}},
         "either [variants] or a [design]"),
        ({"variants": None, "design": {"kind": "grid"},
          "factors": {"capacity.ward_bed": {"values": [100, 100]}}}, "repeated points"),
        ({"variants": None, "design": {"kind": "lhs"},
          "factors": {"capacity.ward_bed": {"low": 1, "high": 2}}}, "kind must be one of grid"),
        ({"variants": {"../up": {}}}, "variant name '../up' must be a folder name"),
    ],
)  # fmt: skip
def test_a_bad_plan_is_one_line_naming_the_file_and_writes_nothing(tmp_path, changes, fragment):
    path = write_plan(tmp_path, plan_document(**changes))
    out = tmp_path / "out"
    with pytest.raises(ConfigError) as caught:
        run_experiment(path, out, progress=False)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"Plan file '{path}': ") and fragment in message
    assert not out.exists()


def test_an_unknown_config_key_lists_the_valid_keys(tmp_path):
    path = write_plan(tmp_path, plan_document(base={"run.dayz": 2}))
    with pytest.raises(ConfigError, match=r"Did you mean 'run.days'\?.* Valid keys: run.seed"):
        load_plan(path)


def test_an_undeclared_metric_lists_the_declared_ones():
    with pytest.raises(ConfigError, match=r"declared: attendances, within_4h_share, .*"
                                          r"occupancy.ward_bed\.$"):  # fmt: skip
        load_plan(plan_document(metrics=["nope"]))


def test_common_random_numbers_share_seeds_across_variants_and_independent_ones_do_not():
    crn = load_plan(plan_document()).runs()
    assert [(s.variant, s.replication) for s in crn] == [
        ("beds_144", 0), ("beds_144", 1), ("beds_144", 2),
        ("beds_60", 0), ("beds_60", 1), ("beds_60", 2)]  # fmt: skip
    seeds = {(s.variant, s.replication): s.seed for s in crn}
    assert all(seeds["beds_144", r] == seeds["beds_60", r] for r in range(3))
    assert len({seeds["beds_144", r] for r in range(3)}) == 3
    assert seeds["beds_144", 0] == int(np.random.SeedSequence(1, spawn_key=(0,))
                                       .generate_state(1)[0])  # fmt: skip
    assert crn[0].overrides[-1] == f"run.seed={seeds['beds_144', 0]}"
    independent = load_plan(plan_document(common_random_numbers=False)).runs()
    other = {(s.variant, s.replication): s.seed for s in independent}
    assert all(other["beds_144", r] != other["beds_60", r] for r in range(3))
    assert other["beds_60", 2] == run_seed(1, 2, variant=1)


def test_plan_metrics_default_to_every_declared_metric_and_baseline_to_the_first_variant():
    plan = load_plan(plan_document(metrics=None))
    config = get_scenario("patients").resolve_config(None, [f"{k}={v}" for k, v in TINY.items()])
    assert plan.metrics == get_scenario("patients").metric_names(config)
    assert plan.baseline == "beds_144"
    assert isinstance(plan, Plan)


FACTORS = {"capacity.ward_bed": {"values": [100, 120, 140], "low": 100, "high": 140,
                                 "integer": True},
           "arrivals.per_day": {"values": [50.0, 70.0], "low": 40.0, "high": 80.0}}  # fmt: skip


def design_plan(kind: str, **design) -> Plan:
    factors = {key: {k: v for k, v in spec.items()
                     if (k == "values") == (kind in ("grid", "one_at_a_time"))}
               for key, spec in FACTORS.items()}  # fmt: skip
    return load_plan(plan_document(variants=None, design={"kind": kind, **design},
                                   factors=factors, base={"run.days": 2},
                                   interval_width=None))  # fmt: skip


def test_grid_and_one_at_a_time_designs():
    grid = design_plan("grid")
    assert len(grid.variants) == 6
    assert grid.variants["capacity.ward_bed=120+arrivals.per_day=70"] == {
        "capacity.ward_bed": 120,
        "arrivals.per_day": 70.0,
    }
    assert grid.baseline == "capacity.ward_bed=100+arrivals.per_day=50"
    one = design_plan("one_at_a_time")
    assert list(one.variants.values()) == [
        {"capacity.ward_bed": 100, "arrivals.per_day": 50.0},
        {"capacity.ward_bed": 120, "arrivals.per_day": 50.0},
        {"capacity.ward_bed": 140, "arrivals.per_day": 50.0},
        {"capacity.ward_bed": 100, "arrivals.per_day": 70.0}]  # fmt: skip


def test_latin_hypercube_stays_within_bounds_and_rounds_integers():
    plan = design_plan("latin_hypercube", samples=10)
    points = list(plan.factors.values())
    assert len(points) == 10
    beds = [p["capacity.ward_bed"] for p in points]
    rates = [p["arrivals.per_day"] for p in points]
    assert all(isinstance(b, int) and 100 <= b <= 140 for b in beds)
    assert all(40.0 <= r <= 80.0 for r in rates)
    assert len({int((r - 40) // 4) for r in rates}) == 10  # one point in each tenth
    assert design_plan("latin_hypercube", samples=10).factors == plan.factors  # seeded


def test_sobol_and_morris_sample_counts_follow_salib():
    assert len(design_plan("sobol", samples=8).variants) == 8 * (2 + 2)
    assert len(design_plan("sobol", samples=8, second_order=True).variants) == 8 * (2 * 2 + 2)
    assert len(design_plan("morris", samples=3).variants) == 3 * (2 + 1)
    with pytest.raises(ConfigError, match="power of 2"):
        design_plan("sobol", samples=6)


# experiments --------------------------------------------------------------------------------


def test_an_experiment_writes_every_file(finished):
    out = finished.path
    for name in ("results.csv", "summary.csv", "differences.csv", "replications.csv",
                 "experiment.json", *(f"plots/{m}.png" for m in METRICS)):  # fmt: skip
        assert (out / name).is_file(), name
    assert not (out / "failures.csv").exists()
    assert sorted(p.name for p in (out / "runs" / "beds_60").iterdir()) == ["0", "1", "2"]
    assert not any((out / "runs").rglob("dataset"))  # metrics only by default
    manifest = json.loads((out / "experiment.json").read_text())
    assert manifest["counts"] == {"variants": 2, "replications": 3, "runs": 6, "finished": 6,
                                  "executed": 6, "skipped": 0, "failed": 0}  # fmt: skip
    assert manifest["scenario"] == "patients" and "numpy" in manifest["versions"]
    assert set(manifest["files"]) == set(finished.files)
    results = pd.read_csv(out / "results.csv")
    assert list(results.columns) == ["variant", "replication", "seed", "metric", "value"]
    assert len(results) == 2 * 3 * len(METRICS)
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns) == ["variant", "metric", "n", "mean", "std", "ci_low",
                                     "ci_high"]  # fmt: skip
    assert (summary["n"] == 3).all() and (summary["ci_low"] <= summary["mean"]).all()
    needed = pd.read_csv(out / "replications.csv")
    assert set(needed["metric"]) == {"within_4h_share"} and (needed["replications_needed"] >= 2
                                                             ).all()  # fmt: skip


def test_runs_match_running_the_config_directly(finished, tmp_path):
    record = json.loads((finished.path / "runs" / "beds_60" / "1" / "run.json").read_text())
    assert record["variant"] == "beds_60" and record["replication"] == 1
    assert record["seed"] == run_seed(1, 1)
    scenario = get_scenario("patients")
    config = scenario.resolve_config(None, [f"{k}={v}" for k, v in TINY.items()] + [
        "capacity.ward_bed=60", f"run.seed={record['seed']}"])  # fmt: skip
    direct = run(scenario, config, tmp_path / "direct", progress=False).manifest["metrics"]
    for metric in METRICS:
        assert record["metrics"][metric] == pytest.approx(direct[metric], rel=1e-12)
    results = finished.results.set_index(["variant", "replication", "metric"])["value"]
    assert results["beds_60", 1, "occupancy.ward_bed"] == pytest.approx(
        direct["occupancy.ward_bed"]
    )


def test_paired_differences_with_common_random_numbers(finished):
    differences = pd.read_csv(finished.path / "differences.csv")
    assert list(differences["variant"]) == ["beds_60"] * 3
    assert (differences["baseline"] == "beds_144").all()
    occupancy = differences.set_index("metric").loc["occupancy.ward_bed"]
    assert occupancy["n"] == 3 and occupancy["mean"] > 0  # fewer beds: fuller ward
    results = finished.results
    pivot = results[results["metric"] == "occupancy.ward_bed"].pivot(
        index="replication", columns="variant", values="value"
    )
    expected = paired_difference(pivot["beds_60"], pivot["beds_144"])
    assert occupancy["mean"] == pytest.approx(expected.mean)
    assert occupancy["variance_ratio"] == pytest.approx(expected.variance_ratio)
    assert occupancy["variance_ratio"] < 1  # same streams in both variants


def test_a_rerun_executes_only_missing_runs_and_refuses_another_plan(tmp_path):
    document = plan_document(replications=2)
    out = tmp_path / "out"
    first = run_experiment(document, out, progress=False)
    assert (first.executed, first.skipped) == (4, 0)
    records = sorted((out / "runs").rglob("run.json"))
    stamps = {p: p.stat().st_mtime_ns for p in records}
    (out / "runs" / "beds_60" / "1" / "run.json").unlink()
    (out / "experiment.json").unlink()  # as if interrupted before the end
    second = run_experiment(document, out, progress=False)
    assert (second.executed, second.skipped) == (1, 3)
    for path, stamp in stamps.items():
        if path.parent != out / "runs" / "beds_60" / "1":
            assert path.stat().st_mtime_ns == stamp, path
    pd.testing.assert_frame_equal(second.results, first.results)
    changed = plan_document(replications=2, base={**TINY, "arrivals.per_day": 61})
    with pytest.raises(OutputError, match="different plan; pass --overwrite"):
        run_experiment(changed, out, progress=False)
    third = run_experiment(changed, out, progress=False, overwrite=True)
    assert (third.executed, third.skipped) == (4, 0)  # every config changed
    same = run_experiment(changed, out, progress=False)
    assert (same.executed, same.skipped) == (0, 4)


def test_a_run_with_another_config_hash_is_rerun(tmp_path):
    document = plan_document(replications=1, variants={"only": {}})
    out = tmp_path / "out"
    run_experiment(document, out, progress=False)
    record_path = out / "runs" / "only" / "0" / "run.json"
    record = json.loads(record_path.read_text())
    record_path.write_text(json.dumps({**record, "config_hash": "0" * 64}))
    again = run_experiment(document, out, progress=False)
    assert (again.executed, again.skipped) == (1, 0)
    assert json.loads(record_path.read_text())["config_hash"] == record["config_hash"]


def test_a_failing_run_is_reported_and_the_others_complete(tmp_path, monkeypatch):
    real = simulations.runner.run
    bad_seed = run_seed(1, 1)

    def flaky(scenario, config, out, **kwargs):
        if config["capacity"]["ward_bed"] == 60 and config["run"]["seed"] == bad_seed:
            raise RuntimeError("simulated crash")
        return real(scenario, config, out, **kwargs)

    monkeypatch.setattr(simulations.runner, "run", flaky)
    out = tmp_path / "out"
    result = run_experiment(plan_document(), out, progress=False)
    assert [(f["variant"], f["replication"]) for f in result.failures] == [("beds_60", 1)]
    assert "RuntimeError: simulated crash" in result.failures[0]["error"]
    assert len(result.records) == 5
    failures = pd.read_csv(out / "failures.csv")
    assert list(failures[["variant", "replication"]].itertuples(index=False, name=None)) == [
        ("beds_60", 1)
    ]
    manifest = json.loads((out / "experiment.json").read_text())
    assert manifest["counts"]["failed"] == 1 and manifest["failed_runs"][0]["replication"] == 1
    assert not (out / "runs" / "beds_60" / "1" / "run.json").exists()
    assert (
        pd.read_csv(out / "summary.csv")
        .set_index(["variant", "metric"])
        .loc[("beds_60", "within_4h_share"), "n"]
        == 2
    )
    monkeypatch.setattr(simulations.runner, "run", real)
    again = run_experiment(plan_document(), out, progress=False)
    assert (again.executed, again.skipped, again.failures) == (1, 5, [])
    assert not (out / "failures.csv").exists()


def test_kept_datasets_and_local_processes_give_the_same_results(tmp_path):
    document = plan_document(replications=2, variants={"only": {}}, keep_datasets=True)
    serial = run_experiment(document, tmp_path / "serial", progress=False)
    parallel = run_experiment(document, tmp_path / "parallel", workers=2, progress=False)
    pd.testing.assert_frame_equal(parallel.results, serial.results)
    assert (tmp_path / "parallel" / "runs" / "only" / "1" / "dataset" / "manifest.json").is_file()


def test_a_folder_that_is_not_an_experiment_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="not a synthsim experiment"):
        run_experiment(plan_document(replications=1), out, progress=False)
    assert os.listdir(out) == ["notes.txt"]


# metric declarations ------------------------------------------------------------------------


def test_patients_metric_names_are_the_keys_of_a_real_runs_metrics(tmp_path):
    scenario = get_scenario("patients")
    config = scenario.resolve_config(None, [f"{k}={v}" for k, v in TINY.items()])
    metrics = run(scenario, config, tmp_path / "ds", progress=False).manifest["metrics"]
    assert scenario.metric_names(config) == tuple(metrics)
    assert "occupancy.ward_bed" in metrics and "utilisation.triage_nurse" in metrics


# command line -------------------------------------------------------------------------------


def test_cli_experiment_prints_the_summary(tmp_path):
    path = write_plan(tmp_path, plan_document(replications=2))
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["experiment", str(path), "--out", str(out)],
                                env={"COLUMNS": "200"})  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    assert "within_4h_share" in result.stdout and "beds_60" in result.stdout
    assert "difference [95% CI]" in result.stdout and "baseline" in result.stdout
    assert "runs: 4 executed, 0 already finished, 0 failed" in result.stdout
    assert f"wrote {out}" in result.stdout
    assert (out / "experiment.json").is_file()


def test_cli_experiment_refuses_a_bad_plan_in_one_line(tmp_path):
    path = write_plan(tmp_path, plan_document(metrics=["nope"]))
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["experiment", str(path), "--out", str(out), "--quiet"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: Plan file '{path}': metric 'nope'")
    assert result.stderr.count("\n") == 1
    assert not out.exists()


# sensitivity --------------------------------------------------------------------------------


def _unit_design(kind: str) -> tuple[dict, dict]:
    """Points of a SALib design on [0, 1]^2 named like plan variants, and their settings."""
    from SALib.sample import morris, sobol

    problem = {"num_vars": 2, "names": ["a", "b"], "bounds": [[0.0, 1.0]] * 2}
    x = (sobol.sample(problem, 256, calc_second_order=False, seed=3) if kind == "sobol"
         else morris.sample(problem, 40, num_levels=4, seed=3))  # fmt: skip
    return {"kind": kind, "levels": 4}, {f"{i:04d}": {"a": r[0], "b": r[1]} for i, r in
                                          enumerate(x)}  # fmt: skip


@pytest.mark.parametrize("kind", ["sobol", "morris"])
def test_sensitivity_finds_the_factor_that_matters(kind):
    """y = 10 a (b does nothing): Sobol gives a all the variance, Morris all the effect."""
    from simulations.sensitivity import sensitivity_table

    design, points = _unit_design(kind)
    means = pd.DataFrame({"y": [10 * p["a"] for p in points.values()]}, index=list(points))
    table = sensitivity_table(design, points, means, seed=5).set_index("factor")
    if kind == "sobol":
        assert table.loc["a", "S1"] == pytest.approx(1.0, abs=0.05)
        assert abs(table.loc["b", "ST"]) < 0.02
    else:
        assert table.loc["a", "mu_star"] > 1.0 and table.loc["b", "mu_star"] == pytest.approx(0)


def test_a_morris_experiment_writes_sensitivity(tmp_path):
    factors = {k: {kk: v for kk, v in s.items() if kk != "values"} for k, s in FACTORS.items()}
    plan = load_plan(plan_document(variants=None, replications=1, interval_width=None,
                                   design={"kind": "morris", "samples": 2}, factors=factors))
    result = run_experiment(plan, tmp_path / "out", progress=False)
    table = pd.read_csv(tmp_path / "out" / "sensitivity.csv")
    assert "sensitivity.csv" in result.files
    assert set(table["factor"]) == set(FACTORS) and set(table["metric"]) == set(METRICS)
    assert np.isfinite(table["mu_star"]).all()
