"""The transaction-monitoring rule engine: each rule fires exactly on the hand-built cases it
is meant for, windows carry across chunk boundaries, alerts carry no labels."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from scenarios.bank.alerts import CONFIG_SCHEMA, DEFAULTS, DOC, ROLES, RULES, SCHEMA, AlertEngine
from scenarios.bank.sessions import SCHEMA as SESSIONS
from scenarios.bank.sessions import SessionLog
from scenarios.bank.tables import SCHEMAS
from simulations.errors import ConfigError

EPOCH = 1_735_689_600  # 2025-01-01 00:00:00 UTC
HOUR, DAY = 3600, 86400
TYPES = ("PAYMENT", "TRANSFER", "CASH_OUT", "CASH_IN", "SALARY", "BILL")
CHANNELS = ("card_present", "online", "mobile", "atm", "branch", "direct_debit",
            "direct_credit")  # fmt: skip
FRAUD_TYPES = ("account_takeover", "stolen_card_burst", "card_testing", "fan_in", "fan_out",
               "cycle", "structuring")  # fmt: skip
A, B, C, D = 1_000_000_011, 1_000_000_022, 1_000_000_033, 1_000_000_044
CASH_RULES = ("cash_over_threshold", "structuring", "rapid_fan_out")


def _codes(values, names, mask=None):
    indices = pa.array(np.asarray(values, dtype=np.int8), pa.int8(), mask=mask)
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(names), pa.string()))


def transactions(rows, first_id=0):
    """A transactions batch (real schema) from (seconds after EPOCH, type, amount, src, dst)
    or (..., status) tuples, sorted by time; -1 accounts are null."""
    rows = sorted(rows, key=lambda r: r[0])
    n = len(rows)
    t = np.array([EPOCH + r[0] for r in rows], np.int64)
    kind = [TYPES.index(r[1]) for r in rows]
    src = np.array([r[3] for r in rows], np.int64)
    dst = np.array([r[4] for r in rows], np.int64)
    status = [("approved", "declined").index(r[5] if len(r) > 5 else "approved") for r in rows]
    channel = [CHANNELS.index("branch" if k == "CASH_IN" else "online") for k in
               (r[1] for r in rows)]  # fmt: skip
    columns = {
        "transaction_id": pa.array(first_id + np.arange(n, dtype=np.int64)),
        "timestamp": pa.array(t, pa.timestamp("s")), "type": _codes(kind, TYPES),
        "amount": pa.array(np.array([r[2] for r in rows], np.float64)),
        "channel": _codes(channel, CHANNELS), "status": _codes(status, ("approved", "declined")),
        "currency": _codes(np.zeros(n), ("USD",)),
        "src_account": pa.array(src, mask=src < 0), "dst_account": pa.array(dst, mask=dst < 0),
        "is_fraud": pa.array(np.zeros(n, bool)), "is_laundering": pa.array(np.zeros(n, bool)),
        "sample_weight": pa.array(np.ones(n)),
    }  # fmt: skip
    schema = SCHEMAS["transactions"]  # nulls in the columns not given, whatever it gains
    return pa.RecordBatch.from_arrays(
        [columns[f.name].cast(f.type) if f.name in columns else pa.nulls(n, f.type)
         for f in schema], schema=schema)  # fmt: skip


def engine(rules=CASH_RULES, **config):
    return AlertEngine(5, {**DEFAULTS, **config}, rules=rules)


def fired(alerts, rule=None):
    """(transaction_id, account_id, amount) of the alerts, optionally of one rule."""
    a = alerts.to_pandas()
    if rule is not None:
        a = a[a["rule"] == rule]
    return [(int(r.transaction_id), int(r.account_id), round(r.amount, 2))
            for r in a.itertuples()]  # fmt: skip


def ids_of(batch, *seconds):
    """Transaction ids of the rows at the given times (seconds after EPOCH)."""
    t = batch.column("timestamp").cast(pa.int64()).to_numpy() - EPOCH
    ids = batch.column("transaction_id").to_numpy()
    return [int(ids[np.flatnonzero(t == s)[0]]) for s in seconds]


def test_schema_has_no_labels_and_config_is_documented():
    assert set(SCHEMA.names) == {"alert_id", "timestamp", "rule", "account_id",
                                 "transaction_id", "amount"}  # fmt: skip
    assert set(CONFIG_SCHEMA) == set(DEFAULTS) and all(p.doc for p in CONFIG_SCHEMA.values())
    ROLES.check(SCHEMA.names, "alerts")
    assert DOC and not ROLES.labels and not ROLES.label_details
    with pytest.raises(ConfigError, match="structuring_count"):
        engine(structuring_count=0)
    with pytest.raises(ConfigError, match="valid rules"):
        engine(rules=("velocity",))


def test_cash_over_threshold_fires_on_approved_cash_at_or_over_it():
    batch = transactions([
        (100, "CASH_IN", 10000.00, -1, A),  # at the threshold: alert on the receiving account
        (200, "CASH_IN", 9999.99, -1, B),  # just under it
        (300, "CASH_OUT", 12000.00, C, -1),  # a withdrawal: alert on the paying account
        (400, "CASH_OUT", 15000.00, D, -1, "declined"),  # declined
        (500, "TRANSFER", 20000.00, A, B),  # not cash
        (600, "PAYMENT", 50000.00, A, -1),
    ])  # fmt: skip
    alerts = engine(rules=("cash_over_threshold",)).feed(batch)
    assert alerts.schema == SCHEMA
    assert fired(alerts) == [(ids_of(batch, 100)[0], A, 10000.0),
                             (ids_of(batch, 300)[0], C, 12000.0)]  # fmt: skip


def test_structuring_fires_at_the_deposit_completing_the_count_across_chunks():
    rows = [
        # A: three deposits in [8000, 10000) within 7 days -> alert at the third (day 5);
        # the fourth (day 6) is inside the alert's 7 days, so silent; by day 12.5 two more
        # make three in (5.5, 12.5] again, 7.5 days after the alert -> a second alert
        (0 * DAY, "CASH_IN", 8500.0, -1, A), (2 * DAY, "CASH_IN", 9000.0, -1, A),
        (5 * DAY, "CASH_IN", 9500.0, -1, A), (6 * DAY, "CASH_IN", 9000.0, -1, A),
        (11 * DAY, "CASH_IN", 8000.0, -1, A), (12 * DAY + 12 * HOUR, "CASH_IN", 9999.99, -1, A),
        # B: three, but the first is exactly 7 days before the third: outside the window
        (0 * DAY + HOUR, "CASH_IN", 9000.0, -1, B), (3 * DAY, "CASH_IN", 9000.0, -1, B),
        (7 * DAY + HOUR, "CASH_IN", 9000.0, -1, B),
        # C: one under the floor, one at the threshold, one declined: only two count
        (DAY, "CASH_IN", 7999.99, -1, C), (DAY + 1, "CASH_IN", 8000.0, -1, C),
        (DAY + 2, "CASH_IN", 10000.0, -1, C), (DAY + 3, "CASH_IN", 9000.0, -1, C),
        (DAY + 4, "CASH_IN", 9000.0, -1, C, "declined"),
        # D: withdrawals never count
        (DAY, "CASH_OUT", 9000.0, D, -1), (DAY + 5, "CASH_OUT", 9000.0, D, -1),
        (DAY + 9, "CASH_OUT", 9000.0, D, -1),
    ]  # fmt: skip
    bounds = [0, 4 * DAY, 5 * DAY + HOUR, 20 * DAY]  # the day-6 silence is carried over
    chunks = [transactions([r for r in rows if lo <= r[0] < hi], first_id=100 * i)
              for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True))]  # fmt: skip
    rules = engine(rules=("structuring",))
    alerts = [fired(rules.feed(chunk)) for chunk in chunks]
    assert alerts == [[], [(ids_of(chunks[1], 5 * DAY)[0], A, 27000.0)],
                      [(ids_of(chunks[2], 12 * DAY + 12 * HOUR)[0], A, 26999.99)]]  # fmt: skip


def test_rapid_fan_out_fires_across_a_chunk_boundary_once_per_window():
    day6 = 6 * DAY
    rows = [
        # A: four transfers late on day 6 (chunk 1) and the fifth early on day 7 (chunk 2);
        # a sixth an hour later is silent; five more from 26 hours after the alert fire again
        *[(day6 + h * HOUR, "TRANSFER", 100.0, A, B) for h in (20, 21, 22, 23)],
        (day6 + 25 * HOUR, "TRANSFER", 100.0, A, C), (day6 + 26 * HOUR, "TRANSFER", 100.0, A, C),
        *[(day6 + (51 + h) * HOUR, "TRANSFER", 50.0, A, D) for h in range(5)],
        # B: five transfers over 30 hours: never five within 24
        *[(day6 + h * HOUR, "TRANSFER", 100.0, B, C) for h in (0, 8, 16, 24, 30)],
        # C: five within an hour but one declined, and incoming ones do not count
        *[(day6 + 60 * m, "TRANSFER", 100.0, C, D) for m in range(4)],
        (day6 + 300, "TRANSFER", 100.0, C, D, "declined"),
        *[(day6 + 60 * m + 30, "TRANSFER", 100.0, D, C) for m in range(4)],
        # D: five cash withdrawals are not transfers
        *[(day6 + 60 * m + 10, "CASH_OUT", 100.0, D, -1) for m in range(5)],
    ]  # fmt: skip
    end_of_day6 = 7 * DAY
    first = transactions([r for r in rows if r[0] < end_of_day6])
    second = transactions([r for r in rows if r[0] >= end_of_day6], first_id=1000)
    rules = engine(rules=("rapid_fan_out",))
    assert fired(rules.feed(first)) == []
    expected = [(ids_of(second, day6 + 25 * HOUR)[0], A, 500.0),
                (ids_of(second, day6 + 55 * HOUR)[0], A, 250.0)]  # fmt: skip
    assert fired(rules.feed(second)) == expected
    # the same rows in one chunk give the same alerts
    whole = transactions(rows)
    again = fired(engine(rules=("rapid_fan_out",)).feed(whole))
    assert [(a, amount) for _, a, amount in again] == [(A, 500.0), (A, 250.0)]


def test_windows_are_configurable():
    rows = [(h * HOUR, "TRANSFER", 10.0, A, B) for h in range(4)]
    assert fired(engine(rules=("rapid_fan_out",), fan_out_count=5).feed(transactions(rows))) == []
    few = engine(rules=("rapid_fan_out",), fan_out_count=3, fan_out_hours=2.5)
    assert [a[2] for a in fired(few.feed(transactions(rows)))] == [30.0]


def _sessions(ids, new):
    n = len(ids)
    none = np.ones(n, bool)
    label = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int8), mask=none),
                                           pa.array(list(FRAUD_TYPES)))  # fmt: skip
    return pa.RecordBatch.from_arrays([
        pa.array(ids, pa.int64()), pa.array(np.full(n, EPOCH), pa.timestamp("s")),
        pa.array(np.full(n, A)), pa.array(["0" * 16] * n), pa.array(["8.8.8.8"] * n),
        pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int8)), ["online", "mobile"]),
        pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int8)), ["success", "failure"]),
        pa.array(new), pa.array(np.zeros(n, bool)), label,
        pa.array(np.zeros(n, np.int64), mask=none), pa.array(np.ones(n)),
    ], schema=SESSIONS)  # fmt: skip


def test_new_device_high_amount_fires_on_large_transactions_from_new_devices():
    batch = transactions([
        (100, "TRANSFER", 1500.0, A, B),  # session 7: new device -> alert
        (110, "TRANSFER", 999.99, A, B),  # session 7, under the amount
        (120, "PAYMENT", 1000.0, A, -1, "declined"),  # session 7, declined attempts count
        (130, "TRANSFER", 5000.0, A, B),  # session 8: a known device
        (140, "TRANSFER", 5000.0, A, B),  # no session (a branch transfer)
    ])  # fmt: skip
    session_ids = pa.array([7, 7, 7, 8, None], pa.int64())
    sessions = _sessions([8, 7], [False, True])
    alerts = engine(rules=RULES).feed(batch, session_ids, sessions)
    assert fired(alerts) == [(0, A, 1500.0), (2, A, 1000.0)]
    assert set(alerts.column("rule").to_pylist()) == {"new_device_high_amount"}
    with pytest.raises(ValueError, match="session_ids"):
        engine(rules=RULES).feed(batch)
    with pytest.raises(ValueError, match="not in the sessions"):
        engine(rules=RULES).feed(batch, session_ids, _sessions([8], [False]))


def test_a_takeover_transfer_from_its_criminal_device_alerts():
    victim, case = np.array([A, B], np.int64), (5 << 32) + 1
    log = SessionLog(3, 5, victim, None, {}, EPOCH)
    batch = transactions([(DAY, "TRANSFER", 2500.0, A, B), (DAY + 60, "TRANSFER", 2000.0, B, A)])
    ftype = pa.DictionaryArray.from_arrays(pa.array([0, 0], pa.int8(), mask=[False, True]),
                                           pa.array(list(FRAUD_TYPES)))  # fmt: skip
    batch = batch.set_column(batch.schema.get_field_index("fraud_type"), "fraud_type", ftype)
    batch = batch.set_column(batch.schema.get_field_index("is_fraud"), "is_fraud",
                             pa.array([True, False]))  # fmt: skip
    batch = batch.set_column(batch.schema.get_field_index("case_id"), "case_id",
                             pa.array([case, None], pa.int64()))  # fmt: skip
    sessions, session_ids = log.feed(batch, 0, 7)
    alerts = engine(rules=("new_device_high_amount",)).feed(batch, session_ids, sessions)
    new = sessions.column("is_new_device").to_numpy(zero_copy_only=False)
    assert (0, A, 2500.0) in fired(alerts)
    assert len(fired(alerts)) == 1 + int(new[sessions.column("account_id").to_numpy() == B]
                                         .any())  # fmt: skip


def test_alert_ids_are_unique_time_ordered_and_reproducible():
    rng = np.random.default_rng(2)
    accounts = [A, B, C, D]
    chunks = []
    for chunk in range(4):
        rows = [(7 * chunk * DAY + int(s), kind, float(amount), int(rng.choice(accounts)),
                 int(rng.choice(accounts)))
                for s, kind, amount in zip(rng.integers(0, 7 * DAY, 300),
                                           rng.choice(["TRANSFER", "CASH_IN", "CASH_OUT"], 300),
                                           np.round(rng.uniform(7000, 12000, 300), 2),
                                           strict=True)]  # fmt: skip
        chunks.append(transactions(rows, first_id=chunk * 1000))
    runs = []
    for _ in range(2):
        rules = engine()
        runs.append(pa.Table.from_batches([rules.feed(b) for b in chunks], schema=SCHEMA))
    assert runs[0].equals(runs[1])
    a = runs[0].to_pandas()
    assert len(a) > 50 and set(a["rule"]) == set(CASH_RULES)
    assert a["alert_id"].is_unique and a["alert_id"].is_monotonic_increasing
    assert (a["alert_id"] // 2**32 == 5).all() and a["timestamp"].is_monotonic_increasing
