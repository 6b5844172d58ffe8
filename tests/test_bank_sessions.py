"""Online and mobile banking sessions built from transaction chunks: which transactions share a
session, devices and their renewal rate, account-takeover logins, reproducibility."""

from __future__ import annotations

import ipaddress

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from scenarios.bank.sessions import CONFIG_SCHEMA, DEFAULTS, DOC, ROLES, SCHEMA, SessionLog
from scenarios.bank.tables import SCHEMAS
from simulations.errors import ConfigError

EPOCH = 1_735_689_600  # 2025-01-01 00:00:00 UTC
DAY = 86400
TYPES = ("PAYMENT", "TRANSFER", "CASH_OUT", "CASH_IN", "SALARY", "BILL")
CHANNELS = ("card_present", "online", "mobile", "atm", "branch", "direct_debit",
            "direct_credit")  # fmt: skip
FRAUD_TYPES = ("account_takeover", "stolen_card_burst", "card_testing", "fan_in", "fan_out",
               "cycle", "structuring")  # fmt: skip
ACCOUNTS = 1_000_000_000 + np.arange(0, 4000, 7, dtype=np.int64)  # unordered ids work too


def _codes(values, names, mask=None):
    indices = pa.array(np.asarray(values, dtype=np.int8), pa.int8(), mask=mask)
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(names), pa.string()))


def transactions(t, src, channel="online", kind="TRANSFER", amount=100.0, dst=None,
                 fraud=None, case=None, weight=None, first_id=0, status="approved"):  # fmt: skip
    """A transactions batch with the real schema; -1 in src/dst/case means null, fraud holds
    fraud-type names or None."""
    t = np.asarray(t, dtype=np.int64)
    n = len(t)

    def full(value, dtype=None):
        return np.asarray([value] * n if np.isscalar(value) or value is None else value, dtype)

    src, dst = full(src, np.int64), full(-1 if dst is None else dst, np.int64)
    fraud = [None] * n if fraud is None else list(fraud)
    ftype = np.array([-1 if f is None else FRAUD_TYPES.index(f) for f in fraud])
    case = full(-1 if case is None else case, np.int64)
    weight = full(1.0 if weight is None else weight, np.float64)
    columns = {
        "transaction_id": pa.array(first_id + np.arange(n, dtype=np.int64)),
        "timestamp": pa.array(t, pa.timestamp("s")),
        "type": _codes([TYPES.index(k) for k in full(kind)], TYPES),
        "amount": pa.array(full(amount, np.float64)),
        "channel": _codes([CHANNELS.index(c) for c in full(channel)], CHANNELS),
        "status": _codes([("approved", "declined").index(s) for s in full(status)],
                         ("approved", "declined")),
        "currency": _codes(np.zeros(n), ("USD",)),
        "src_account": pa.array(src, mask=src < 0), "dst_account": pa.array(dst, mask=dst < 0),
        "is_fraud": pa.array(ftype >= 0), "is_laundering": pa.array(np.zeros(n, bool)),
        "fraud_type": _codes(np.maximum(ftype, 0), FRAUD_TYPES, ftype < 0),
        "case_id": pa.array(case, mask=case < 0), "sample_weight": pa.array(weight),
    }  # fmt: skip
    return batch_of(columns, n)


def batch_of(columns, n):
    """A batch of the transactions schema (whatever columns it has gained): the given
    columns, and nulls in the others."""
    schema = SCHEMAS["transactions"]
    return pa.RecordBatch.from_arrays(
        [columns[f.name].cast(f.type) if f.name in columns else pa.nulls(n, f.type)
         for f in schema], schema=schema)  # fmt: skip


def empty():
    return transactions([], [])


def log(config=None, accounts=ACCOUNTS, digital=None, seed=7, shard=3):
    return SessionLog(seed, shard, accounts, digital, {**DEFAULTS, **(config or {})}, EPOCH)


def frame(batch):
    return batch.to_pandas()


def seconds(timestamps):
    """Unix seconds of a pandas datetime column or scalar."""
    return timestamps.astype("datetime64[s]").astype("int64")


def test_config_schema_documents_every_default():
    assert set(CONFIG_SCHEMA) == set(DEFAULTS)
    assert all(p.doc for p in CONFIG_SCHEMA.values())
    ROLES.check(SCHEMA.names, "sessions")
    assert DOC and {"is_fraud", "fraud_type"} <= set(ROLES.labels)
    with pytest.raises(ConfigError, match="new_devices_per_year"):
        log({"new_devices_per_year": -1.0})
    with pytest.raises(ConfigError, match="valid keys"):
        log({"logins_per_day": 1.0})


def test_every_digital_transaction_is_in_a_session_of_its_account():
    rng = np.random.default_rng(0)
    n = 3000
    t = np.sort(EPOCH + rng.integers(0, 7 * DAY, n))
    src = np.where(rng.random(n) < 0.9, rng.choice(ACCOUNTS, n), -1)
    channel = rng.choice(CHANNELS, n)
    batch = transactions(t, src, channel)
    sessions, ids = log().feed(batch, 0, 7)
    assert sessions.schema == SCHEMA and ids.type == pa.int64()
    s, ids = frame(sessions), ids.to_pandas().to_numpy()
    assert s["session_id"].is_unique
    assert (s["session_id"] // 2**32 == 3).all()
    assert s["timestamp"].is_monotonic_increasing
    digital = np.isin(channel, ["online", "mobile"]) & (src >= 0)
    assert np.isnan(ids[~digital]).all() and not np.isnan(ids[digital]).any()
    mine = s.set_index("session_id").loc[ids[digital].astype(np.int64)]
    assert (mine["account_id"].to_numpy() == src[digital]).all()
    assert (mine["channel"].astype(str).to_numpy() == channel[digital]).all()
    assert (mine["status"] == "success").all()
    login = seconds(mine["timestamp"]).to_numpy()
    assert (login <= t[digital]).all() and (login >= EPOCH).all()
    first = pd.Series(t[digital]).groupby(ids[digital]).min()
    delay = first - seconds(s.set_index("session_id").loc[first.index, "timestamp"])
    assert delay[first >= EPOCH + 300].between(10, 300).all()  # shorter only at the start
    assert (delay[first < EPOCH + 300] <= first[first < EPOCH + 300] - EPOCH).all()


def test_transactions_under_30_minutes_apart_share_a_session():
    a, b = ACCOUNTS[:2]
    minutes = np.array([600, 610, 635, 670, 680, 681, 682])
    src = [a, a, a, a, b, a, a]
    channel = ["online", "online", "online", "online", "online", "mobile", "online"]
    batch = transactions(EPOCH + 60 * minutes, src, channel)
    sessions, ids = log().feed(batch, 0, 7)
    ids = ids.to_pylist()
    # 0-10-25 minutes apart chain; 35 minutes is a new session; another account or another
    # channel is another session, and the chain resumes after them
    assert ids[0] == ids[1] == ids[2] and ids[3] != ids[2]
    assert len({ids[3], ids[4], ids[5]}) == 3 and ids[6] == ids[3]
    s = frame(sessions).set_index("session_id")
    first = [0, 3, 4, 5]
    delay = EPOCH + 60 * minutes[first] - seconds(s.loc[np.array(ids)[first], "timestamp"])
    assert ((delay >= 10) & (delay <= 300)).all()


def test_device_and_address_formats():
    sessions, _ = log({"new_devices_per_year": 5.0}).feed(empty(), 0, 28)
    s = frame(sessions)
    assert s["device_id"].str.fullmatch(r"[0-9a-f]{16}").all()
    owners = s.groupby("device_id")["account_id"].nunique()
    assert (owners == 1).all()  # device ids are distinct across accounts
    addresses = [ipaddress.IPv4Address(a) for a in s["ip_address"]]
    assert all(a.is_global for a in addresses)
    online = s[s["channel"] == "online"]
    assert (online.groupby("account_id")["ip_address"].nunique() == 1).all()  # home address
    mobile = s[s["channel"] == "mobile"]
    assert mobile["ip_address"].nunique() > 0.9 * len(mobile)  # a carrier address each
    assert abs(len(mobile) / len(s) - 0.7) < 0.03


def test_balance_checks_follow_the_rate_and_a_daily_profile():
    digital = np.arange(len(ACCOUNTS)) % 4 != 0
    rate, days = 10.0, 56
    sessions, _ = log({"balance_checks_per_month": rate, "failed_login_share": 0.0},
                      digital=digital).feed(empty(), 0, days)  # fmt: skip
    s = frame(sessions)
    assert set(s["account_id"]) <= set(ACCOUNTS[digital])
    per_account = rate * days / 30.44
    expected = digital.sum() * per_account
    # Poisson counts at rates varying with coefficient of variation 1.2: variance
    # m + (1.2 m)^2 each
    assert abs(len(s) - expected) < 4 * np.sqrt(digital.sum() * (per_account
                                                                 + (1.2 * per_account)**2))
    hours = s["timestamp"].dt.hour.value_counts().reindex(range(24), fill_value=0)
    assert (hours > 0).all()
    assert hours[18:23].mean() > 3 * hours[1:5].mean()
    at = seconds(s["timestamp"])
    assert at.min() >= EPOCH and at.max() < EPOCH + days * DAY
    assert not s["is_fraud"].any() and s["case_id"].isna().all()
    assert (s["sample_weight"] == 1.0).all()


def test_legitimate_failed_logins_come_just_before_the_login():
    share = 0.2
    sessions, _ = log({"failed_login_share": share, "new_device_failed_share": share}).feed(
        empty(), 0, 28)  # fmt: skip
    s = frame(sessions).sort_values(["account_id", "timestamp"], kind="stable")
    ok = (s["status"] == "success").sum()
    failed = s[s["status"] == "failure"]
    # 1-3 attempts (mean 2) before a share of logins: variance 14/3 share - 4 share^2 each
    sd = np.sqrt(ok * (14 / 3 * share - 4 * share**2))
    assert abs(len(failed) - 2 * share * ok) < 4 * sd
    # each failure is followed, within 3 attempts of 20-180 s, by a success from the same
    # device and address
    success = s[s["status"] == "success"].sort_values("timestamp")
    after = pd.merge_asof(failed.sort_values("timestamp"), success, on="timestamp",
                          by=["account_id", "device_id", "ip_address"], direction="forward",
                          suffixes=("", "_login"), allow_exact_matches=False)  # fmt: skip
    login_at = s.set_index("session_id")["timestamp"].reindex(after["session_id_login"])
    gap = (login_at.to_numpy() - after["timestamp"].to_numpy()) / np.timedelta64(1, "s")
    assert after["session_id_login"].notna().all()
    assert ((gap >= 20) & (gap <= 3 * 180)).all()


def test_new_devices_arrive_at_the_configured_rate():
    rate, accounts = 2.0, ACCOUNTS[:300]
    sessions = log({"new_devices_per_year": rate, "balance_checks_per_month": 12.0,
                    "failed_login_share": 0.0, "new_device_failed_share": 0.0},
                   accounts=accounts)  # fmt: skip
    news, last = 0, {}
    for chunk in range(52):  # a year of weekly chunks
        batch, _ = sessions.feed(empty(), 7 * chunk, 7)
        s = frame(batch)
        news += int(s["is_new_device"].sum())
        last.update(seconds(s.groupby("account_id")["timestamp"].max()))
    exposure_years = sum(t - EPOCH for t in last.values()) / (365.25 * DAY)
    expected = rate * exposure_years  # Poisson: sd = sqrt(expected)
    assert expected > 500 and abs(news - expected) < 4 * np.sqrt(expected)
    assert (sessions.n_devices_ >= 1).all()


def _takeover_run(takeover_failed_share):
    """A year of weekly chunks: background digital activity of 200 accounts plus 60 account
    takeovers, each a transfer (and for cases 0-19 a second one two hours or, from case 10,
    eight days later)."""
    rng = np.random.default_rng(5)
    accounts = ACCOUNTS[:200]
    victims = rng.choice(accounts, 60, replace=False)
    cases = (3 << 32) + np.arange(60)
    at = EPOCH + rng.integers(3 * DAY, 350 * DAY, 60)
    sessions = log({"takeover_failed_share": takeover_failed_share}, accounts=accounts)
    n_background = 20_000
    later = np.r_[at[:10] + 7200, at[10:20] + 8 * DAY]
    t = np.r_[EPOCH + rng.integers(0, 364 * DAY, n_background), at, later]
    src = np.r_[rng.choice(accounts, n_background), victims, victims[:20]]
    case = np.r_[np.full(n_background, -1), cases, cases[:20]]
    channel = np.r_[rng.choice(["online", "mobile"], n_background), ["online"] * 80]
    fraud = [None] * n_background + ["account_takeover"] * 80
    weight = np.r_[np.ones(n_background), np.full(80, 0.25)]
    order = np.argsort(t, kind="stable")
    out = []
    for chunk in range(52):
        rows = order[(t[order] >= EPOCH + 7 * chunk * DAY)
                     & (t[order] < EPOCH + 7 * (chunk + 1) * DAY)]  # fmt: skip
        labels = {"fraud": [fraud[i] for i in rows], "case": case[rows], "weight": weight[rows]}
        batch = transactions(t[rows], src[rows], channel[rows], first_id=chunk << 20, **labels)
        out.append(frame(sessions.feed(batch, 7 * chunk, 7)[0]))
    return pd.concat(out, ignore_index=True), cases


def test_takeovers_log_in_from_a_device_the_account_never_used():
    s, cases = _takeover_run(0.5)
    assert s["session_id"].is_unique and s["timestamp"].is_monotonic_increasing
    labelled = s[s["case_id"].notna()]
    assert set(labelled["case_id"].astype("int64")) == set(cases)
    assert labelled["is_fraud"].all() and (labelled["fraud_type"] == "account_takeover").all()
    assert (labelled["sample_weight"] == 0.25).all()
    assert not s.loc[s["case_id"].isna(), "is_fraud"].any()
    with_failures = 0
    for case, rows in labelled.groupby("case_id"):
        account = rows["account_id"].iloc[0]  # (rows are in time order, as in the table)
        device = rows["device_id"].iloc[0]
        assert (rows["device_id"] == device).all() and (rows["account_id"] == account).all()
        own = s[(s["account_id"] == account) & s["case_id"].isna()]
        assert device not in set(own["device_id"])  # never the account's, before or after
        assert rows["ip_address"].nunique() == 1
        assert rows["ip_address"].iloc[0] not in set(own["ip_address"])
        ok = rows[rows["status"] == "success"]
        failed = rows[rows["status"] == "failure"]
        assert ok["is_new_device"].iloc[0] and not ok["is_new_device"].iloc[1:].any()
        assert failed["is_new_device"].all() and len(failed) <= 3
        assert (failed["timestamp"] < ok["timestamp"].iloc[0]).all()
        assert len(ok) == (2 if case - (3 << 32) < 20 else 1)
        with_failures += len(failed) > 0
    assert 15 <= with_failures <= 45  # about half of 60


def test_no_failed_attempts_when_the_share_is_zero():
    s, _ = _takeover_run(0.0)
    assert not (s["case_id"].notna() & (s["status"] == "failure")).any()


def test_the_same_batches_give_the_same_sessions():
    rng = np.random.default_rng(1)
    chunks = []
    for chunk in range(3):
        t = np.sort(EPOCH + 7 * chunk * DAY + rng.integers(0, 7 * DAY, 500))
        channel = rng.choice(["online", "mobile"], 500)
        chunks.append(transactions(t, rng.choice(ACCOUNTS, 500), channel, first_id=chunk << 20))
    runs = []
    for _ in range(2):
        sessions = log({"failed_login_share": 0.1})
        runs.append([sessions.feed(batch, 7 * i, 7) for i, batch in enumerate(chunks)])
    for (a, a_ids), (b, b_ids) in zip(*runs, strict=True):
        assert a.equals(b) and a_ids.equals(b_ids)
    other = log({"failed_login_share": 0.1}, seed=8).feed(chunks[0], 0, 7)[0]
    assert not other.column("device_id").equals(runs[0][0][0].column("device_id"))


def test_accounts_of_another_shard_are_refused():
    with pytest.raises(ValueError, match="not an account of shard 3"):
        log().feed(transactions([EPOCH], [5]), 0, 7)
