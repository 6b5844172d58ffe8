"""Benchmark of ``synthsim audit`` and ``synthsim compare`` on the default bank dataset, with
SDMetrics' QualityReport timed on the same tables in the same run.

    python benchmarks/bench_fidelity.py                 # default bank (~1.8M transactions)
    python benchmarks/bench_fidelity.py --rows 200000   # first N rows of each table only

Two bank datasets are simulated (seeds 42 and 7, the default config), then timed:

- ``audit`` of the seed-42 transactions (shortcuts, learnability, leakage);
- ``compare`` of seed 7 against seed 42 (all five parts, utility on ``is_fraud``);
- the QualityReport-equivalent part of ``compare`` (column shapes and pair trends) and
  SDMetrics' ``QualityReport`` on the same two tables, and their ratio.

Timings swing by 30% or more on a shared machine: quote the ratio of one run. Needs
``pip install -e ".[bench]"`` for SDMetrics.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

from calibration.fidelity import audit, compare
from calibration.fidelity.sources import column_kind
from simulations.datasets import read_table
from simulations.runner import run
from simulations.scenario import get_scenario

_SDTYPE = {"numeric": "numerical", "datetime": "datetime", "categorical": "categorical",
           "boolean": "boolean"}  # fmt: skip


def _dataset(folder: Path, seed: int) -> Path:
    scenario = get_scenario("bank")
    out = folder / f"bank-{seed}"
    run(scenario, scenario.resolve_config(seed=seed), out, progress=False)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=None,
                        help="use only the first ROWS transactions of each dataset")
    args = parser.parse_args()
    from sdmetrics.reports import QualityReport

    # SDMetrics' groupby calls warn under pandas 2.x; the warnings say nothing about timing.
    warnings.filterwarnings("ignore", category=FutureWarning, module="sdmetrics")
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        real_path, synthetic_path = _dataset(Path(tmp), 42), _dataset(Path(tmp), 7)
        print(f"simulated two default bank datasets in {time.perf_counter() - started:.1f} s")
        real = read_table(real_path, "transactions").iloc[: args.rows]
        synthetic = read_table(synthetic_path, "transactions").iloc[: args.rows]
        roles = get_scenario("bank").roles["transactions"]
        print(f"transactions: {len(real):,} (seed 42) and {len(synthetic):,} (seed 7) rows")

        started = time.perf_counter()
        audited = audit(real, roles=roles)
        audit_s = time.perf_counter() - started
        print(f"audit:   {audit_s:6.1f} s  {len(audited.flagged)} rules flagged, "
              f"is_fraud ROC-AUC {audited.learnability['roc_auc'].iloc[0]:.3f}")

        started = time.perf_counter()
        compared = compare(synthetic, real, roles=roles, target="is_fraud")
        compare_s = time.perf_counter() - started
        print(f"compare: {compare_s:6.1f} s  overall {compared.scores['overall']:.3f} "
              f"(shapes, pairs, structure, utility; privacy {compared.scores['privacy']:.3f})")
        print(f"audit + compare: {audit_s + compare_s:.1f} s")

        columns = {c: column_kind(real[c]) for c in real.columns if c not in roles.keys}
        started = time.perf_counter()
        quality = compare(synthetic, real, roles=roles,
                          parts=("column_shapes", "column_pair_trends")).scores  # fmt: skip
        ours_s = time.perf_counter() - started
        ours = {"Column Shapes": quality["column_shapes"],
                "Column Pair Trends": quality["column_pair_trends"]}
        metadata = {"tables": {"transactions": {"columns": {
            c: {"sdtype": _SDTYPE[k]} for c, k in columns.items()}}}}  # fmt: skip
        report = QualityReport()
        started = time.perf_counter()
        report.generate({"transactions": real[list(columns)]},
                        {"transactions": synthetic[list(columns)]}, metadata, verbose=False)
        sdmetrics_s = time.perf_counter() - started
        theirs = report.get_properties().set_index("Property")["Score"]
        print(f"column shapes + pair trends, {len(columns)} columns, same tables:")
        for name, seconds, scores in (("synthsim", ours_s, ours), ("SDMetrics", sdmetrics_s,
                                                                   theirs)):  # fmt: skip
            print(f"  {name:9s} {seconds:7.1f} s  shapes {scores['Column Shapes']:.4f}  "
                  f"pairs {scores['Column Pair Trends']:.4f}")
        print(f"  synthsim is {sdmetrics_s / ours_s:.1f}x faster than SDMetrics' QualityReport; "
              f"its whole compare is {sdmetrics_s / compare_s:.1f}x faster")


if __name__ == "__main__":
    main()
