"""Online and mobile banking sessions, and the devices they come from, per shard.

A :class:`SessionLog` turns a shard's transaction chunks into a ``sessions`` table. Every
online or mobile transfer from an account of the bank happens in a session of that account
(online card payments are merchant checkouts, not bank logins); customers also log in only
to check their balance. Each account starts the run with 1-3 devices the bank already knows
and gains new ones as a Poisson process in time; an account takeover logs in from a criminal
device the account has never used, sometimes after failed attempts. Everything random is a
counter-based draw keyed on stable ids (:func:`simulations.bits.keyed_uniform`), so a
shard's sessions depend only on the seed, the shard and its transactions, never on how many
workers ran.

Array layout: one row per session of the chunk before failed attempts are added, then one
per failed attempt; the table is sorted by time and numbered ``shard << 32 | f(n)`` in that
order. Times are Unix seconds (int64).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.special import ndtri

from rules.financial_crime import TYPOLOGIES
from scenarios.bank.behaviour import DAYS_PER_MONTH
from simulations.bits import keyed_uniform
from simulations.columns import column_codes, column_ints, label_column
from simulations.params import Interval, Param, validate_section
from simulations.roles import TableRoles

__all__ = ["SCHEMA", "CONFIG_SCHEMA", "DEFAULTS", "ROLES", "DOC", "SessionLog"]

_LABEL = pa.dictionary(pa.int8(), pa.string())
CHANNELS = ("online", "mobile")
STATUSES = ("success", "failure")
FRAUD_TYPES = tuple(t.name for t in TYPOLOGIES)

SCHEMA = pa.schema([
    ("session_id", pa.int64()), ("timestamp", pa.timestamp("s")), ("account_id", pa.int64()),
    ("device_id", pa.string()), ("ip_address", pa.string()), ("channel", _LABEL),
    ("status", _LABEL), ("is_new_device", pa.bool_()), ("is_fraud", pa.bool_()),
    ("fraud_type", _LABEL), ("case_id", pa.int64()), ("sample_weight", pa.float64()),
])  # fmt: skip
"""Arrow schema of the ``sessions`` table."""

CONFIG_SCHEMA = {
    "new_devices_per_year": Param(
        "float", Interval(float, 0.0, 52.0),
        "legitimate new devices per customer per year, a Poisson process in time (modelling "
        "assumption: 0.8, a phone replaced every ~2.5 years plus new browsers and tablets)",
        "1/year",
    ),
    "failed_login_share": Param(
        "float", Interval(float, 0.0, 1.0),
        "probability that a legitimate login on a known device follows 1-3 failed attempts",
    ),
    "new_device_failed_share": Param(
        "float", Interval(float, 0.0, 1.0),
        "probability that a legitimate login on a new device follows 1-3 failed attempts",
    ),
    "takeover_failed_share": Param(
        "float", Interval(float, 0.0, 1.0),
        "probability that an account takeover starts with 1-3 failed login attempts",
    ),
    "balance_checks_per_month": Param(
        "float", Interval(float, 0.0, 300.0),
        "sessions without a transaction per digital customer per month", "1/month",
    ),
}  # fmt: skip
"""Parameters of the ``[sessions]`` config section."""

DEFAULTS = {
    "new_devices_per_year": 0.8,
    "failed_login_share": 0.03,
    "new_device_failed_share": 0.3,
    "takeover_failed_share": 0.4,
    "balance_checks_per_month": 8.0,
}
"""Default values of the ``[sessions]`` section (modelling assumptions, not calibrated)."""

ROLES = TableRoles(
    labels=("is_fraud", "fraud_type"), cases=("case_id",), label_details=("sample_weight",),
    entities=("account_id",), time="timestamp", event_type="status",
    identifiers=("session_id",), references=("device_id", "ip_address"),
)  # fmt: skip
"""Column roles for ``synthsim audit`` and ``synthsim compare``."""

DOC = (
    "one row per online or mobile banking login attempt, failed ones included, in time order "
    "per shard; transactions.session_id names the session a digital transaction was made in, "
    "and sessions without a transaction are balance checks; device_id is a hashed device "
    "fingerprint and is_new_device says the bank had not seen it on this account before a "
    "successful login from it; ip_address is the home address for online sessions and a "
    "mobile-carrier address for mobile ones; labels, case_id and sample_weight are those of "
    "the transactions made in the session, so an account takeover's criminal login (and its "
    "failed attempts) is labelled with the case"
)
"""Column description of the ``sessions`` table."""

SESSION_GAP_S = 1800
"""Digital transactions of one account less than this many seconds apart share a session."""
_YEAR_S = 365.25 * 86400.0
_BALANCE_CHECK_HOURS = np.array(
    (2, 1, 1, 1, 1, 1, 2, 4, 6, 6, 5, 5, 6, 5, 5, 5, 5, 6, 7, 8, 9, 9, 7, 4), dtype=float
)  # modelling assumption: an evening peak, little but some activity at night
_BALANCE_CHECK_CDF = np.cumsum(_BALANCE_CHECK_HOURS) / _BALANCE_CHECK_HOURS.sum()
_BALANCE_CHECK_MOBILE = 0.7  # share of balance checks made in the mobile app
_ID_PRIME, _ID_MULTIPLIER, _ID_OFFSET = 4_294_967_291, 2_654_435_761, 1_013_904_223
_CHECK_CV = 1.2  # variation of balance-check rates across accounts (log-normal, mean 1): a
# few people look many times a day, many rarely
_LAST_DEVICE_SHARE = 0.6  # a known-device session is on the newest device this often
# First octets of public unicast IPv4 space: reserved, private, shared (100.64/10),
# loopback, link-local, documentation and multicast blocks are left out whole.
_PUBLIC_FIRST_OCTETS = np.array(
    [o for o in range(1, 224) if o not in (10, 100, 127, 169, 172, 192, 198, 203)],
    dtype=np.uint64,
)
_N_CARRIER_BLOCKS = 8  # mobile carriers NAT their subscribers behind few /16 blocks
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_ATO = FRAUD_TYPES.index("account_takeover")


def _pair(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """One uint64 key from two integer keys (wrapping arithmetic; keyed_uniform mixes it)."""
    with np.errstate(over="ignore"):
        return first.astype(np.uint64) * _GOLDEN + second.astype(np.uint64)


def _poisson_quantile(u: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Poisson(``mean``) counts by inversion of uniforms ``u``, one mean per draw: sequential
    search over the CDF, fast for the small means of daily counts."""
    pmf = np.exp(-mean)
    cdf, count = pmf.copy(), np.zeros(len(u), dtype=np.int64)
    todo = np.flatnonzero(u >= cdf)
    k = 0
    while len(todo):
        k += 1
        pmf[todo] *= mean[todo] / k
        cdf[todo] += pmf[todo]
        count[todo] = k
        todo = todo[u[todo] >= cdf[todo]]
    return count


def _group_starts(*keys: np.ndarray) -> np.ndarray:
    """Boolean mask of rows where any of the (sorted) key arrays changes value."""
    n = len(keys[0])
    start = np.zeros(n, dtype=bool)
    if n:
        start[0] = True
        for key in keys:
            start[1:] |= key[1:] != key[:-1]
    return start


def _group_heads(start: np.ndarray) -> np.ndarray:
    """For each row, the index of the first row of its group (``start`` marks group heads)."""
    return np.maximum.accumulate(np.where(start, np.arange(len(start)), 0))


def _hex16(values: np.ndarray) -> pa.StringArray:
    """uint64 values as 16 lower-case hex digits each, built straight into Arrow buffers."""
    shifts = np.arange(60, -4, -4, dtype=np.uint64)
    chars = _HEX[(values[:, None] >> shifts) & np.uint64(15)]
    offsets = np.arange(len(values) + 1, dtype=np.int32) * 16
    return pa.StringArray.from_buffers(
        len(values), pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(chars))
    )


def _dotted(address: np.ndarray) -> pa.Array:
    """uint64 IPv4 addresses (32 bits) as dotted-quad strings."""
    octets = [pc.cast(pa.array((address >> np.uint64(s)) & np.uint64(255)), pa.string())
              for s in (24, 16, 8, 0)]  # fmt: skip
    return pc.binary_join_element_wise(*octets, ".")


class SessionLog:
    """The sessions of one shard, built chunk by chunk.

    Parameters
    ----------
    seed : int
        Root seed of the run; every draw is keyed on it and on stable ids.
    shard : int
        Session ids are ``shard << 32 | f(n)``, n counting the shard's sessions in time
        order and f an affine bijection modulo a prime below 2**32: unique, and telling
        nothing of when (an id that counts up is a clock, and would let labels that cluster
        in time be read off the ids).
    account_id : int64 array, shape (n_customers_in_shard,)
        Account number of each local customer row (unique).
    digital : bool array, shape (n_customers_in_shard,), or None
        Customers who check their balance online (None: all of them). Digital transactions
        get sessions whatever this says.
    config : mapping
        The ``[sessions]`` section (see :data:`CONFIG_SCHEMA`); missing keys take
        :data:`DEFAULTS`.
    epoch_s : int
        Unix seconds of the run's first midnight (new-device clocks start there).

    Attributes
    ----------
    n_devices_ : int array, shape (n_customers_in_shard,)
        Devices each account has used so far (the 1-3 known at the start included).
    last_session_s_ : int64 array, shape (n_customers_in_shard,)
        Login time of each account's latest legitimate session (``epoch_s`` before any).
    n_sessions_ : int
        Sessions numbered so far.
    """

    def __init__(self, seed: int, shard: int, account_id: np.ndarray,
                 digital: np.ndarray | None, config: Mapping[str, Any],
                 epoch_s: int) -> None:  # fmt: skip
        self.config = validate_section("bank", "sessions", CONFIG_SCHEMA, dict(config), DEFAULTS)
        self.seed, self.shard, self.epoch_s = seed, shard, epoch_s
        self.account_id = np.asarray(account_id, dtype=np.int64)
        n = len(self.account_id)
        self.digital = np.ones(n, bool) if digital is None else np.asarray(digital, bool)
        if self.digital.shape != (n,):
            raise ValueError(f"digital must have one entry per account ({n}). "
                             f"Got shape {self.digital.shape} instead.")  # fmt: skip
        self._order = np.argsort(self.account_id, kind="stable")
        self._sorted_ids = self.account_id[self._order]
        if n and (self._sorted_ids[1:] == self._sorted_ids[:-1]).any():
            raise ValueError("account_id must be unique.")
        self.n_devices_ = 1 + (self._u("known-devices", self.account_id) * 3).astype(np.int64)
        sigma = np.sqrt(np.log(1 + _CHECK_CV**2))
        z = ndtri(np.clip(self._u("balance-check-rate", self.account_id), 1e-12, 1 - 1e-12))
        self._check_rate = np.exp(sigma * z - sigma**2 / 2)  # per account, mean 1
        self.last_session_s_ = np.full(n, epoch_s, dtype=np.int64)
        self.n_sessions_ = 0
        self._enrolled: set[tuple[int, int]] = set()  # (account row, case) of criminal devices
        blocks = self._u("carrier-blocks", np.arange(_N_CARRIER_BLOCKS))
        self._carrier = _public_ipv4(blocks) & np.uint64(0xFFFF0000)

    def _u(self, name: str, keys: np.ndarray) -> np.ndarray:
        return keyed_uniform(self.seed, "sessions." + name, keys)

    def _rows(self, accounts: np.ndarray) -> np.ndarray:
        """Local customer rows of account numbers; refuses accounts of other shards."""
        if len(accounts) and not len(self._sorted_ids):
            raise ValueError(f"Shard {self.shard} has no accounts; got account {accounts[0]}.")
        at = np.minimum(np.searchsorted(self._sorted_ids, accounts), len(self._sorted_ids) - 1)
        bad = self._sorted_ids[at] != accounts if len(at) else np.zeros(0, bool)
        if bad.any():
            raise ValueError(f"Account {int(accounts[bad][0])} is not an account of shard "
                             f"{self.shard}.")  # fmt: skip
        return self._order[at]

    def feed(self, batch: pa.RecordBatch, chunk_first_day: int, chunk_days: int,
             ) -> tuple[pa.RecordBatch, pa.Array]:  # fmt: skip
        """The sessions of one chunk of transactions.

        Parameters
        ----------
        batch : RecordBatch
            Transactions of the chunk (``tables.SCHEMAS["transactions"]``), in time order.
        chunk_first_day, chunk_days : int
            The chunk covers days [first, first + days) of the run; balance checks fall in
            it. Sessions end at midnight and no login goes before its day's midnight, so the
            sessions do not depend on how a run is chunked.

        Returns
        -------
        sessions : RecordBatch
            The chunk's sessions (:data:`SCHEMA`), in time order.
        session_id : int64 Array, length ``batch.num_rows``
            The session each transaction was made in; null for non-digital transactions.
        """
        t, _ = column_ints(batch.column("timestamp"))
        src, src_null = column_ints(batch.column("src_account"))
        channel = column_codes(batch.column("channel"), CHANNELS)
        # card payments online are merchant checkouts, not bank logins
        transfer = column_codes(batch.column("type"), ("TRANSFER",)) == 0
        rows = np.flatnonzero((channel >= 0) & ~src_null & transfer)
        tx = self._transaction_sessions(batch, rows, t[rows], channel[rows], src[rows])
        checks = self._balance_checks(chunk_first_day, chunk_days)
        s = {k: np.concatenate([tx[k], checks[k]]) for k in checks}
        s["device"], s["new"] = np.zeros(len(s["acc"]), np.uint64), np.zeros(len(s["acc"]), bool)
        self._legitimate_devices(s, np.flatnonzero(~s["criminal"]))
        self._criminal_devices(s, np.flatnonzero(s["criminal"]))
        s["ip"] = self._addresses(s)
        s["fail"] = np.zeros(len(s["acc"]), bool)
        parent, when = self._failures(s)
        n_ok = len(s["acc"])
        every = {k: np.concatenate([v, v[parent]]) for k, v in s.items()}
        every["login"][n_ok:], every["fail"][n_ok:] = when, True
        order = np.lexsort((every["key"], ~every["fail"], every["login"]))
        counter = self.n_sessions_ + np.arange(len(order), dtype=np.int64)
        ids = (self.shard << 32) + (counter * _ID_MULTIPLIER + _ID_OFFSET) % _ID_PRIME
        self.n_sessions_ += len(order)
        position = np.empty(len(order), np.int64)
        position[order] = np.arange(len(order))
        session_of_row = np.zeros(batch.num_rows, np.int64)
        session_of_row[rows] = ids[position[tx["of_row"]]]
        no_session = np.ones(batch.num_rows, bool)
        no_session[rows] = False
        out = {k: v[order] for k, v in every.items()}
        return self._table(out, ids), pa.array(session_of_row, pa.int64(), mask=no_session)

    def _transaction_sessions(self, batch, rows, t, channel, src) -> dict:
        """Group digital rows into sessions: per account, actor (case), label and channel,
        consecutive rows under :data:`SESSION_GAP_S` apart; log in 10-300 s before the first."""
        acc = self._rows(src)
        ftype = column_codes(batch.column("fraud_type"), FRAUD_TYPES)[rows]
        case, case_null = column_ints(batch.column("case_id"))
        case = np.where(case_null[rows] | (ftype < 0), -1, case[rows])
        day = (t - self.epoch_s) // 86400  # sessions end at midnight, where chunks may end
        order = np.lexsort((t, channel, ftype, case, day, acc))
        t_sorted = t[order]
        gap = np.ones(len(order), bool)
        gap[1:] = t_sorted[1:] - t_sorted[:-1] >= SESSION_GAP_S
        start = _group_starts(acc[order], day[order], case[order], ftype[order],
                              channel[order]) | gap  # fmt: skip
        first = order[start]
        of_row = np.empty(len(order), np.int64)
        of_row[order] = np.cumsum(start) - 1
        fraud, _ = column_ints(batch.column("is_fraud").cast(pa.int8()))
        weight = batch.column("sample_weight").to_numpy(zero_copy_only=False)[rows][first]
        key, _ = column_ints(batch.column("transaction_id"))
        key = key[rows][first]
        u = self._u("login-delay", key)
        room = (t[first] - self.epoch_s) % 86400  # a login never goes before its midnight
        delay = np.minimum(10 + (u * 291).astype(np.int64), (u * (room + 1)).astype(np.int64))
        return {
            "acc": acc[first], "login": t[first] - delay,
            "channel": channel[first], "ftype": ftype[first], "case": case[first],
            "fraud": fraud[rows][first].astype(bool), "weight": weight.astype(np.float64),
            "key": key.astype(np.uint64), "criminal": fraud[rows][first].astype(bool)
            & (case[first] >= 0), "of_row": of_row,
        }  # fmt: skip

    def _balance_checks(self, first_day: int, days: int) -> dict:
        """Poisson(rate / days per month) sessions without a transaction per digital customer
        and day, at hours from the daily profile; mobile with probability 0.7. Keyed on
        (account, day), so they do not depend on how the run is chunked."""
        who = np.repeat(np.flatnonzero(self.digital), days)
        day = first_day + np.tile(np.arange(days), int(self.digital.sum()))
        key = _pair(self.account_id[who], day)
        mean = self.config["balance_checks_per_month"] / DAYS_PER_MONTH * np.repeat(
            self._check_rate[self.digital], days)
        count = _poisson_quantile(self._u("balance-check-count", key), mean)
        acc, day = np.repeat(who, count), np.repeat(day, count)
        nth = np.arange(len(acc)) - np.repeat(np.cumsum(count) - count, count)
        key = _pair(np.repeat(key, count), nth)
        hour = np.searchsorted(_BALANCE_CHECK_CDF, self._u("balance-check-hour", key), "right")
        second = (self._u("balance-check-second", key) * 3600).astype(np.int64)
        mobile = self._u("balance-check-channel", key) < _BALANCE_CHECK_MOBILE
        n = len(acc)
        return {
            "acc": acc, "login": self.epoch_s + day * 86400 + hour * 3600 + second,
            "channel": mobile.astype(np.int64), "ftype": np.full(n, -1), "case": np.full(n, -1),
            "fraud": np.zeros(n, bool), "weight": np.ones(n), "key": key,
            "criminal": np.zeros(n, bool),
        }  # fmt: skip

    def _legitimate_devices(self, s: dict, idx: np.ndarray) -> None:
        """Known device, or a new one with probability 1 - exp(-rate x time since the
        account's previous session); the newest known device is used most."""
        idx = idx[np.lexsort((s["key"][idx], s["login"][idx], s["acc"][idx]))]
        acc, login, key = s["acc"][idx], s["login"][idx], s["key"][idx]
        first = _group_starts(acc)
        previous = np.empty_like(login)
        previous[1:] = login[:-1]
        previous[first] = self.last_session_s_[acc[first]]
        rate = self.config["new_devices_per_year"] / _YEAR_S
        new = self._u("new-device", key) < -np.expm1(-rate * (login - previous))
        inclusive = np.cumsum(new)
        head = _group_heads(first)
        known = self.n_devices_[acc] + inclusive - new - (inclusive[head] - new[head])
        pick = (self._u("known-device", key) * known).astype(np.int64)
        newest = self._u("newest-device", key) < _LAST_DEVICE_SHARE
        number = np.where(new, known, np.where(newest, known - 1, pick))
        s["device"][idx] = self._device_hash("device", _pair(self.account_id[acc], number))
        s["new"][idx] = new
        last = np.flatnonzero(np.append(first[1:], True)[: len(acc)])  # each account's last
        self.n_devices_[acc[last]] = known[last] + new[last]
        self.last_session_s_[acc[last]] = login[last]

    def _criminal_devices(self, s: dict, idx: np.ndarray) -> None:
        """One criminal device per case, new to the account at the case's first session."""
        idx = idx[np.lexsort((s["login"][idx], s["case"][idx], s["acc"][idx]))]
        s["device"][idx] = self._device_hash("criminal-device", s["case"][idx])
        first = _group_starts(s["acc"][idx], s["case"][idx])
        for i in idx[first]:  # one per case: few
            pair = (int(s["acc"][i]), int(s["case"][i]))
            s["new"][i] = pair not in self._enrolled
            self._enrolled.add(pair)

    def _device_hash(self, name: str, keys: np.ndarray) -> np.ndarray:
        high = (self._u(name + "-high", keys) * 2**32).astype(np.uint64)
        return (high << np.uint64(32)) | (self._u(name + "-low", keys) * 2**32).astype(np.uint64)

    def _addresses(self, s: dict) -> np.ndarray:
        """Criminal IP per case; home IP per account online; carrier IP per mobile session."""
        home = _public_ipv4(self._u("home-ip", self.account_id[s["acc"]]))
        block = (self._u("carrier", s["key"]) * _N_CARRIER_BLOCKS).astype(np.int64)
        host = (self._u("carrier-host", s["key"]) * 65534).astype(np.uint64) + np.uint64(1)
        carrier = self._carrier[block] | host
        criminal = _public_ipv4(self._u("criminal-ip", np.maximum(s["case"], 0)))
        return np.where(s["criminal"], criminal, np.where(s["channel"] == 1, carrier, home))

    def _failures(self, s: dict) -> tuple[np.ndarray, np.ndarray]:
        """Failed attempts (parent session, time): 1-3 attempts, 20-180 s apart, before a
        login, with probability ``failed_login_share`` on a known device,
        ``new_device_failed_share`` on a legitimate new one (a new phone, a forgotten
        password) and ``takeover_failed_share`` before a takeover's first login: the same
        shape for everyone, so that failing is unusual but not criminal."""
        c = self.config
        share = np.where(s["new"], c["new_device_failed_share"], c["failed_login_share"])
        ato = s["criminal"] & s["new"] & (s["ftype"] == _ATO)
        share = np.where(ato, c["takeover_failed_share"], np.where(s["criminal"], 0.0, share))
        key = np.where(ato, s["case"].astype(np.uint64), s["key"])  # a takeover's: its case
        fails = self._u("failed", key) < share
        count = np.where(fails, 1 + (self._u("failed-tries", key) * 3).astype(np.int64), 0)
        parent = np.repeat(np.arange(len(count)), count)
        nth = np.arange(len(parent)) - np.repeat(np.cumsum(count) - count, count)
        gap = 20 + (self._u("failed-gap", _pair(key[parent], nth)) * 161).astype(np.int64)
        total = np.cumsum(gap)
        head = np.repeat(np.cumsum(count) - count, count)  # first failure of each login
        offset = total - total[head] + gap[head]  # the n-th failure is n gaps before login
        longest = np.repeat(offset[np.cumsum(count)[count > 0] - 1], count[count > 0])
        room = (s["login"][parent] - self.epoch_s) % 86400  # nor do failed attempts
        offset = np.where(longest > room, offset * room // np.maximum(longest, 1), offset)
        return parent, s["login"][parent] - offset

    def _table(self, s: dict, ids: np.ndarray) -> pa.RecordBatch:
        unlabelled = s["ftype"] < 0
        return pa.RecordBatch.from_arrays([
            pa.array(ids, pa.int64()),
            pa.array(s["login"], pa.timestamp("s")),
            pa.array(self.account_id[s["acc"]], pa.int64()),
            _hex16(s["device"]),
            _dotted(s["ip"]),
            label_column(s["channel"], CHANNELS),
            label_column(s["fail"], STATUSES),
            pa.array(s["new"], pa.bool_()),
            pa.array(s["fraud"], pa.bool_()),
            label_column(np.maximum(s["ftype"], 0), FRAUD_TYPES, unlabelled),
            pa.array(s["case"], pa.int64(), mask=s["case"] < 0),
            pa.array(s["weight"], pa.float64()),
        ], schema=SCHEMA)  # fmt: skip


def _public_ipv4(u: np.ndarray) -> np.ndarray:
    """Public unicast IPv4 addresses (uint64 holding 32 bits) from uniforms: a first octet
    outside the reserved and private blocks, host octet 1-254."""
    bits = (u * 2**53).astype(np.uint64)
    first = _PUBLIC_FIRST_OCTETS[bits % np.uint64(len(_PUBLIC_FIRST_OCTETS))]
    middle = (bits >> np.uint64(8)) & np.uint64(0xFFFF)
    host = np.uint64(1) + (bits >> np.uint64(24)) % np.uint64(254)
    return (first << np.uint64(24)) | (middle << np.uint64(8)) | host
