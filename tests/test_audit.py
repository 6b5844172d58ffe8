"""The audit on constructed tables: planted shortcuts and identifier leaks are found, a
label drawn at random is not flagged, and the pieces (rule search, histories, AUC) are exact."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from calibration.fidelity import audit
from calibration.fidelity.features import Feature, behavioural_features, entity_codes
from calibration.fidelity.models import weighted_auc
from calibration.fidelity.shortcuts import Stratum, search
from calibration.fidelity.sources import Table
from calibration.fidelity.targets import Target
from simulations.errors import ConfigError
from simulations.roles import TableRoles
from tests.fidelity_support import ROLES, event_table

POSITIVES = 200


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return event_table(positives=POSITIVES)


@pytest.fixture(scope="module")
def report(table):
    return audit(table, roles=ROLES, seed=3)


def _flagged(report, label):
    flagged = report.flagged
    return flagged[flagged["label"] == label]


def test_planted_amount_shortcut_is_flagged_within_its_event_type(report):
    rules = _flagged(report, "planted")
    amount = rules[(rules["feature"] == "amount") & (rules["stratum"] == "kind = B")]
    assert len(amount) == 1
    rule = amount.iloc[0]
    # 120 planted rows have B amounts in [5000, 6000]; no ordinary B amount reaches 2000.
    assert rule["precision"] == 1.0
    assert rule["recall"] == pytest.approx(0.6)
    assert "5," in rule["rule"] and ">=" in rule["rule"]


def test_planted_night_shortcut_is_flagged_on_hour_of_day(report):
    rules = _flagged(report, "planted")
    hours = rules[(rules["feature"] == "hour of day") & (rules["stratum"] == "all rows")]
    assert len(hours) == 1
    assert hours.iloc[0]["rule"] == "hour of day = 03h"
    assert hours.iloc[0]["precision"] == 1.0
    assert hours.iloc[0]["recall"] == pytest.approx(0.4)


def test_random_label_and_identifier_leak_have_no_behavioural_shortcut(report):
    assert _flagged(report, "clean").empty
    assert _flagged(report, "id_leak").empty  # ids are not behavioural features
    best = report.shortcuts[report.shortcuts["label"] == "clean"]["precision"].max()
    assert best < 0.5


def test_learnability_separates_planted_from_random(report):
    auc = report.learnability.set_index("label")
    assert auc.loc["planted", "roc_auc_low"] > 0.9
    clean = auc.loc["clean"]
    # Chance AUC over 200 independent positives has sd 1 / sqrt(12 * 200) = 0.020.
    assert abs(clean["roc_auc"] - 0.5) < 4 / np.sqrt(12 * POSITIVES)
    assert clean["roc_auc_low"] <= 0.5 <= clean["roc_auc_high"]
    assert clean["prevalence"] == pytest.approx(POSITIVES / report.rows)


def test_planted_identifier_leak_is_found_and_others_are_not(report):
    leakage = report.leakage.set_index("label")
    assert leakage.loc["id_leak", "leak"]
    assert leakage.loc["id_leak", "roc_auc"] > 0.95
    assert not leakage.loc["clean", "leak"]
    assert not leakage.loc["planted", "leak"]
    assert leakage.loc["clean", "roc_auc_low"] <= 0.5 <= leakage.loc["clean", "roc_auc_high"]
    assert not report.clean


def test_shuffled_labels_flag_nothing(table):
    shuffled = audit(table, roles=ROLES, seed=3, shuffle_labels=True)
    assert shuffled.flagged.empty
    assert shuffled.leaks.empty
    for row in shuffled.learnability.itertuples():
        assert abs(row.roc_auc - 0.5) < 4 / np.sqrt(12 * row.positives), row


def test_same_seed_same_report(table):
    small = table.iloc[:15_000]
    a = audit(small, roles=ROLES, seed=5, folds=3)
    b = audit(small, roles=ROLES, seed=5, folds=3)
    pd.testing.assert_frame_equal(a.shortcuts, b.shortcuts)
    pd.testing.assert_frame_equal(a.learnability, b.learnability)
    pd.testing.assert_frame_equal(a.leakage, b.leakage)


def test_categorical_label_is_audited_value_by_value_and_as_any(table):
    frame = table.copy()
    frame["kind_of_crime"] = np.where(frame["planted"], "night_or_b",
                                      np.where(frame["clean"], "random", None))
    roles = TableRoles(labels=("kind_of_crime",), entities=("account",), time="when",
                       event_type="kind", amounts=("amount",), identifiers=("event_id",))
    report = audit(frame.drop(columns=["planted", "clean", "id_leak"]), roles=roles, seed=1,
                   folds=3)  # fmt: skip
    values = set(report.learnability["value"])
    assert values == {"any", "night_or_b", "random"}
    auc = report.learnability.set_index("value")["roc_auc"]
    assert auc["night_or_b"] > 0.9 > auc["random"]
    assert set(_flagged(report, "kind_of_crime")["value"]) <= {"night_or_b", "any"}


def test_entity_history_features_count_trailing_windows():
    frame = pd.DataFrame({
        "account": [1.0, 1.0, 2.0, 1.0, 1.0],
        "when": pd.to_datetime(["2025-01-01 00:00:00", "2025-01-01 00:30:00",
                                "2025-01-01 00:40:00", "2025-01-01 01:00:01",
                                "2025-01-02 01:00:00"]),
        "amount": [10.0, 20.0, 5.0, 30.0, 40.0],
    })  # fmt: skip
    roles = TableRoles(entities=("account",), time="when", amounts=("amount",))
    table = Table(frame, roles, "t")
    features, _ = behavioural_features(table, entity_codes(frame, roles.entities))
    by_name = {f.name: f.values for f in features}
    np.testing.assert_array_equal(by_name["events in entity's last 1h"], [1, 2, 1, 2, 1])
    np.testing.assert_array_equal(by_name["events in entity's last 24h"], [1, 2, 1, 3, 2])
    np.testing.assert_array_equal(by_name["amount sum over entity's last 24h"],
                                  [10, 30, 5, 60, 70])  # fmt: skip
    np.testing.assert_array_equal(by_name["seconds since entity's previous event"],
                                  [np.nan, 1800, np.nan, 1801, 86399])  # fmt: skip
    np.testing.assert_allclose(by_name["amount / entity's median"], [0.4, 0.8, 1, 1.2, 1.6])
    roundness = next(f for f in features if f.name == "amount roundness")
    assert [roundness.categories[c] for c in roundness.values] == \
        ["multiple of 10", "multiple of 20", "multiple of 5", "multiple of 10",
         "multiple of 20"]  # fmt: skip


def _target(mask):
    return Target("y", "True", np.asarray(mask, dtype=bool))


def test_numeric_rule_is_the_tightest_interval_around_labelled_rows():
    values = np.arange(1, 101, dtype=float)
    labelled = (values >= 40) & (values <= 49) | (values == 95)
    rules = search([Feature("x", values)], [_target(labelled)],
                   [Stratum("all rows", np.ones(100, dtype=bool))],
                   min_recall=0.5, min_positives=3, min_precision=0.5)  # fmt: skip
    rule = rules.iloc[0]
    assert rule["rule"] == "40 <= x <= 49"
    assert (rule["positives"], rule["support"]) == (10, 10)
    assert rule["recall"] == pytest.approx(10 / 11)


def test_categorical_rule_grows_by_precision_until_recall_is_reached():
    codes = np.repeat([0, 1, 2], [10, 100, 1000]).astype(np.int32)
    labelled = np.zeros(1110, dtype=bool)
    labelled[:9] = True  # a: 9 of 10
    labelled[10:20] = True  # b: 10 of 100
    labelled[110] = True  # c: 1 of 1000
    feature = Feature("k", codes, ["a", "b", "c"])
    everything = [Stratum("all rows", np.ones(1110, dtype=bool))]
    loose = search([feature], [_target(labelled)], everything, min_recall=0.4,
                   min_positives=3, min_precision=0.5).iloc[0]  # fmt: skip
    assert (loose["rule"], loose["positives"], loose["support"]) == ("k = a", 9, 10)
    assert loose["flagged"]
    strict = search([feature], [_target(labelled)], everything, min_recall=0.5,
                    min_positives=3, min_precision=0.5).iloc[0]  # fmt: skip
    assert (strict["rule"], strict["positives"], strict["support"]) == ("k in {a, b}", 19, 110)
    assert not strict["flagged"]


def test_min_positives_keeps_chance_pockets_unflagged():
    values = np.arange(1000, dtype=float)
    labelled = np.zeros(1000, dtype=bool)
    labelled[[5, 500, 900]] = True
    rules = search([Feature("x", values)], [_target(labelled)],
                   [Stratum("all rows", np.ones(1000, dtype=bool))],
                   min_recall=0.05, min_positives=5, min_precision=0.5)  # fmt: skip
    assert rules.empty


def test_a_rule_isolating_one_case_is_not_a_shortcut():
    """Ten labelled rows in a narrow window: flagged when they are ten cases, not when they
    are the rows of one case, nor of two when three are asked for."""
    values = np.arange(1000, dtype=float)
    labelled = (values >= 300) & (values < 310)
    everything = [Stratum("all rows", np.ones(1000, dtype=bool))]
    for case_of_row, flagged in ((np.arange(1000), True), (np.where(labelled, 0, values), False),
                                 (np.where(labelled, values % 2, values), False)):  # fmt: skip
        rule = search([Feature("t", values)], [_target(labelled)], everything,
                      min_recall=0.5, min_positives=5, min_precision=0.5,
                      groups=case_of_row.astype(np.int64), min_groups=3).iloc[0]  # fmt: skip
        assert rule["rule"] == "300 <= t <= 309" and rule["flagged"] == flagged
        assert rule["groups"] == len(np.unique(case_of_row[labelled]))


def test_weighted_auc_matches_scikit_learn_with_ties_and_weights():
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(20, 2000))
        scores = rng.integers(0, 15, n).astype(float)
        y = rng.random(n) < 0.3
        weights = rng.random(n) * 4
        if y.all() or not y.any():
            continue
        assert weighted_auc(scores, y, weights) == pytest.approx(
            roc_auc_score(y, scores, sample_weight=weights), abs=1e-12)


def test_table_without_labels_is_refused(table):
    with pytest.raises(ConfigError, match="no label columns"):
        audit(table, roles=TableRoles(entities=("account",)))


def test_roles_naming_missing_columns_are_refused(table):
    with pytest.raises(ConfigError, match="no column 'nope'"):
        audit(table, roles=TableRoles(labels=("planted",), entities=("nope",)))


def test_empty_table_is_refused():
    with pytest.raises(ConfigError, match="empty"):
        audit(pd.DataFrame({"y": pd.Series([], dtype=bool)}), roles=TableRoles(labels=("y",)))


def test_label_too_rare_to_audit_is_refused_with_the_reason(table):
    frame = table.assign(y=False)
    frame.loc[0, "y"] = True
    with pytest.raises(ConfigError, match=r"y=True \(1 rows\)"):
        audit(frame, roles=TableRoles(labels=("y",)))


@pytest.mark.parametrize(("name", "value", "message"), [
    ("min_precision", 0.0, "The 'min_precision' parameter of audit must be a float in the "
                           "range (0.0, 1.0]. Got 0.0 instead."),
    ("folds", 1, "The 'folds' parameter of audit must be an int in the range [2, 20]. "
                 "Got 1 instead."),
    ("sample_rows", 10, "The 'sample_rows' parameter of audit must be an int in the range "
                        "[1000, inf). Got 10 instead."),
])  # fmt: skip
def test_bad_parameters_name_the_parameter_range_and_value(table, name, value, message):
    with pytest.raises(ConfigError) as error:
        audit(table, roles=ROLES, **{name: value})
    assert str(error.value) == message


def test_features_without_variation_are_left_out_of_the_models(table):
    # One row per entity: no entity has a previous event, so that history feature is all
    # missing; a constant column says nothing either. Neither may break the models.
    frame = table.iloc[:5_000].assign(account=np.arange(5_000, dtype=float), constant=1.0)
    report = audit(frame, roles=ROLES, folds=3)
    assert report.learnability.set_index("label").loc["planted", "roc_auc"] > 0.9


def test_nullable_label_and_zone_aware_times():
    """A nullable boolean label (unknown rows are neither positives nor negatives) and a
    zone-aware time column are audited as they are."""
    from calibration.fidelity.metrics import numeric_values
    from calibration.fidelity.targets import label_values

    stamps = pd.Series(pd.date_range("2025-03-29", periods=4, freq="12h", tz="Europe/London"))
    np.testing.assert_array_equal(
        numeric_values(stamps), stamps.dt.tz_convert("UTC").dt.tz_localize(None)
        .to_numpy().astype(np.int64).astype(float))  # fmt: skip
    label = pd.array([True, False, None, False, False, None, False, False], dtype="boolean")
    frame = pd.DataFrame({"y": label})
    targets, models, _ = label_values(frame, "y", min_precision=0.5, min_positives=1)
    (model,) = models
    np.testing.assert_array_equal(targets[0].mask, [1, 0, 0, 0, 0, 0, 0, 0])
    (_, positives, negatives), = model.evaluations
    np.testing.assert_array_equal(negatives, [0, 1, 0, 1, 1, 0, 1, 1])
    assert not (positives & negatives).any()
