"""compare: a table against itself scores 1, a column replaced by a known distribution gets
its analytic KS value, every metric agrees with SDMetrics, and bad input is refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sdmetrics.column_pairs import ContingencySimilarity, CorrelationSimilarity
from sdmetrics.reports import QualityReport
from sdmetrics.single_column import KSComplement, TVComplement

from calibration.fidelity import compare
from calibration.fidelity.metrics import (
    contingency_similarity,
    correlation_similarity,
    discretize,
    ks_complement,
    numeric_values,
    tv_complement,
)
from simulations.errors import ConfigError
from simulations.roles import TableRoles
from tests.fidelity_support import event_table

ROLES = TableRoles(entities=("account",), time="when", identifiers=("event_id",),
                   labels=("planted", "clean", "id_leak"))  # fmt: skip


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return event_table(n=20_000, accounts=1_000, positives=300)


def test_table_compared_with_itself_scores_one(events):
    report = compare(events, events, roles=ROLES)
    for part in ("column_shapes", "column_pair_trends", "event_structure", "overall"):
        assert report.scores[part] == 1.0, part
    assert (report.shapes["score"] == 1.0).all()
    assert (report.pairs["score"] == 1.0).all()
    # A copy is perfectly faithful and not private at all.
    assert report.privacy["exact_copy_share"] == 1.0
    assert report.scores["privacy"] == 0.0


def test_identifier_and_entity_columns_are_not_compared(events):
    report = compare(events, events, roles=ROLES)
    assert {"event_id", "account"}.isdisjoint(report.shapes["column"])
    assert set(report.shapes["column"]) == {"when", "kind", "amount", "channel", "planted",
                                            "clean", "id_leak"}  # fmt: skip


def test_column_of_known_distribution_gets_the_analytic_ks_value():
    n = 100_000
    rng = np.random.default_rng(1)
    real = pd.DataFrame({"x": rng.uniform(0, 1, n), "k": rng.choice(list("ab"), n)})
    synthetic = real.copy()
    synthetic["x"] = rng.uniform(0, 1.5, n)
    report = compare(synthetic, real)
    scores = report.shapes.set_index("column")["score"]
    # sup |F_U(0,1) - F_U(0,1.5)| = 1 - 1/1.5 at x = 1; the Dvoretzky-Kiefer-Wolfowitz bound
    # keeps each empirical CDF within sqrt(ln(2 / 1e-6) / (2 n)) of its own, failure 1e-6.
    tolerance = 2 * np.sqrt(np.log(2 / 1e-6) / (2 * n))
    assert scores["x"] == pytest.approx(1 / 1.5, abs=tolerance)
    assert scores["k"] == 1.0


def _mixed(n: int, seed: int, shift: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1, n)
    frame = pd.DataFrame({
        "x": x, "y": 0.5 * x + rng.normal(0, 1, n),
        "when": pd.Timestamp("2025-03-01") + pd.to_timedelta(rng.integers(0, 10**7, n), "s"),
        "k": rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2 + shift / 10, 0.1 - shift / 10]),
        "flag": rng.random(n) < 0.3 + shift / 5,
    })  # fmt: skip
    frame.loc[rng.random(n) < 0.05, "x"] = np.nan
    frame.loc[rng.random(n) < 0.05, "k"] = None
    if shift:
        frame.loc[frame["k"] == "d", "k"] = "e"  # a category the other table lacks
    return frame


def test_metrics_agree_with_sdmetrics():
    real, synthetic = _mixed(3000, 0, 0.0), _mixed(2500, 1, 0.3)
    for column in ("x", "y", "when"):
        ours = ks_complement(*(numeric_values(f[column]) for f in (real, synthetic)))
        assert ours == pytest.approx(KSComplement.compute(real[column], synthetic[column]),
                                     abs=1e-6)  # fmt: skip
    for column in ("k", "flag"):
        assert tv_complement(real[column], synthetic[column]) == pytest.approx(
            TVComplement.compute(real[column], synthetic[column]), abs=1e-6)
    score, _, _ = correlation_similarity(real["x"].to_numpy(), real["y"].to_numpy(),
                                         synthetic["x"].to_numpy(), synthetic["y"].to_numpy())
    assert score == pytest.approx(CorrelationSimilarity.compute(real[["x", "y"]],
                                                                synthetic[["x", "y"]]), abs=1e-6)
    assert contingency_similarity(real["k"], real["flag"], synthetic["k"], synthetic["flag"]) \
        == pytest.approx(ContingencySimilarity.compute(real[["k", "flag"]],
                                                       synthetic[["k", "flag"]]), abs=1e-6)
    bins = [pd.Series(b) for b in discretize(real["x"].to_numpy(), synthetic["x"].to_numpy())]
    assert contingency_similarity(real["k"], bins[0], synthetic["k"], bins[1]) == pytest.approx(
        ContingencySimilarity.compute(real[["k", "x"]], synthetic[["k", "x"]],
                                      continuous_column_names=["x"]), abs=1e-6)


def test_column_shapes_score_agrees_with_the_sdmetrics_quality_report():
    real, synthetic = _mixed(3000, 0, 0.0), _mixed(2500, 1, 0.3)
    columns = {"x": {"sdtype": "numerical"}, "y": {"sdtype": "numerical"},
               "when": {"sdtype": "datetime"}, "k": {"sdtype": "categorical"},
               "flag": {"sdtype": "boolean"}}  # fmt: skip
    quality = QualityReport()
    quality.generate({"t": real}, {"t": synthetic}, {"tables": {"t": {"columns": columns}}},
                     verbose=False)  # fmt: skip
    expected = quality.get_details("Column Shapes").set_index("Column")["Score"]
    report = compare(synthetic, real)
    ours = report.shapes.set_index("column")["score"]
    for column in columns:
        assert ours[column] == pytest.approx(expected[column], abs=1e-6), column
    assert report.scores["column_shapes"] == pytest.approx(
        quality.get_properties().set_index("Property").loc["Column Shapes", "Score"], abs=1e-6)


def test_pairs_use_the_seeded_sample_and_say_so(events):
    report = compare(events.iloc[:12_000], events.iloc[8_000:], roles=ROLES, sample_rows=5_000)
    assert report.rows["column_pair_trends"] == {"synthetic": 5_000, "real": 5_000}
    again = compare(events.iloc[:12_000], events.iloc[8_000:], roles=ROLES, sample_rows=5_000)
    pd.testing.assert_frame_equal(report.pairs, again.pairs)


def test_event_structure_sees_a_shifted_day(events):
    shifted = events.assign(when=events["when"] + pd.Timedelta(hours=6))
    structure = compare(shifted, events, roles=ROLES).structure.set_index("measure")["score"]
    assert structure["hour of day"] < 0.9
    assert structure["events per entity"] == 1.0
    assert structure["seconds between an entity's events"] == 1.0


def test_utility_of_a_faithful_and_of_a_label_shuffled_table(events):
    faithful = compare(events, events, roles=ROLES, target="planted", seed=2).utility
    # Only the amount tell (60% of planted rows) is visible without an hour-of-day feature:
    # a perfect model of it ranks at 0.6 + 0.4 / 2 = 0.8.
    assert faithful["trtr"] > 0.75 and faithful["score"] > 0.9
    shuffled = events.assign(planted=np.random.default_rng(0).permutation(events["planted"]))
    useless = compare(shuffled, events, roles=ROLES, target="planted", seed=2).utility
    assert useless["tstr"] < 0.7 and useless["score"] < 0.3


def test_independent_draws_copy_no_row_and_sit_as_far_as_a_holdout():
    real, synthetic = _mixed(20_000, 0, 0.0), _mixed(20_000, 1, 0.0)
    privacy = compare(synthetic, real).privacy
    assert privacy["exact_copy_share"] == 0.0
    assert 0.8 < privacy["dcr_ratio"] < 1.25


def test_mapping_renames_real_columns(events):
    real = events.rename(columns={"amount": "value", "kind": "type"})
    report = compare(events, real, roles=ROLES, mapping={"amount": "value", "kind": "type"})
    assert report.scores["column_shapes"] == 1.0
    assert {"amount", "kind"} <= set(report.shapes["column"])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"mapping": {"nope": "amount"}}, "The mapping names 'nope', not columns of DataFrame"),
    ({"mapping": {"amount": "nope"}}, "The mapping names 'nope', not columns of DataFrame"),
    ({"target": "nope"}, "The target 'nope' is not a compared column of both tables"),
    ({"sample_rows": 5}, "The 'sample_rows' parameter of compare must be an int in the range "
                         "[1000, inf). Got 5 instead."),
])  # fmt: skip
def test_bad_arguments_are_refused_with_the_valid_choices(events, kwargs, message):
    with pytest.raises(ConfigError) as error:
        compare(events, events, roles=ROLES, **kwargs)
    assert message in str(error.value)


def test_incompatible_column_types_are_refused(events):
    real = events.assign(amount=events["amount"].astype(str))
    with pytest.raises(ConfigError, match="'amount' is numeric in DataFrame but categorical"):
        compare(events, real, roles=ROLES)


def test_tables_without_a_shared_column_or_rows_are_refused(events):
    with pytest.raises(ConfigError, match="no column in common"):
        compare(events[["amount"]], events[["kind"]].rename(columns={"kind": "other"}))
    with pytest.raises(ConfigError, match="empty"):
        compare(events.iloc[:0], events)
