"""Transaction-monitoring alerts: a small rule engine run on a shard's transaction chunks.

Four rules, the kind a bank's monitoring system runs (thresholds in the ``[alerts]`` config
section):

``cash_over_threshold``
    An approved cash deposit (CASH_IN) or withdrawal (CASH_OUT) of at least
    ``cash_threshold`` dollars: the currency transaction report threshold (31 CFR
    1010.311). The alert's account is the account the cash went into or came out of.
``structuring``
    ``structuring_count`` or more approved cash deposits into one account, each in
    [``structuring_floor`` x ``cash_threshold``, ``cash_threshold``), within 7 days: the
    alert is raised at the deposit that completes the count.
``rapid_fan_out``
    ``fan_out_count`` or more approved TRANSFER rows from one account within
    ``fan_out_hours``: raised at the transfer that completes the count.
``new_device_high_amount``
    A transaction (declined ones too: the rule runs before authorisation) of at least
    ``new_device_amount`` dollars made in a session on a device new to the account (see
    :mod:`scenarios.bank.sessions`).

Windows slide: a window ending at a row holds the account's rows of the last ``W`` seconds
(``t_row - t < W``), itself included. A windowed rule alerts an account at most once per
window length: after an alert at ``T`` the next may come at ``T + W`` at the earliest. A
windowed alert's amount is the sum of the rows in its window; the others carry the triggering
row's amount. The alerts carry no label: join them to transactions on ``transaction_id``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from simulations.columns import column_codes, column_ints, label_column
from simulations.errors import ConfigError
from simulations.params import Interval, Param, validate_section
from simulations.roles import TableRoles

__all__ = ["SCHEMA", "CONFIG_SCHEMA", "DEFAULTS", "RULES", "ROLES", "DOC", "AlertEngine"]

RULES = ("cash_over_threshold", "structuring", "rapid_fan_out", "new_device_high_amount")
"""Names of the rules, in the order of the ``rule`` column's dictionary."""

SCHEMA = pa.schema([
    ("alert_id", pa.int64()), ("timestamp", pa.timestamp("s")),
    ("rule", pa.dictionary(pa.int8(), pa.string())), ("account_id", pa.int64()),
    ("transaction_id", pa.int64()), ("amount", pa.float64()),
])  # fmt: skip
"""Arrow schema of the ``alerts`` table."""

_COUNT = Interval(int, 2, 10_000)
CONFIG_SCHEMA = {
    "cash_threshold": Param(
        "float", Interval(float, 0.0, None, closed="neither"),
        "cash amount that must be reported (currency transaction report)", "USD",
    ),
    "structuring_floor": Param(
        "float", Interval(float, 0.0, 1.0, closed="neither"),
        "smallest cash deposit counted towards structuring, as a share of cash_threshold",
    ),
    "structuring_count": Param(
        "int", _COUNT, "cash deposits just under the threshold within 7 days that alert",
    ),
    "fan_out_count": Param(
        "int", _COUNT, "outgoing transfers from one account within fan_out_hours that alert",
    ),
    "fan_out_hours": Param(
        "float", Interval(float, 0.0, 168.0, closed="right"), "fan-out window", "hours",
    ),
    "new_device_amount": Param(
        "float", Interval(float, 0.0, None), "smallest transaction from a new device that "
        "alerts", "USD",
    ),
}  # fmt: skip
"""Parameters of the ``[alerts]`` config section."""

DEFAULTS = {
    "cash_threshold": 10000.0,
    "structuring_floor": 0.8,
    "structuring_count": 3,
    "fan_out_count": 5,
    "fan_out_hours": 24.0,
    "new_device_amount": 1000.0,
}
"""Default values of the ``[alerts]`` section."""

ROLES = TableRoles(
    entities=("account_id",), time="timestamp", event_type="rule", amounts=("amount",),
    identifiers=("alert_id", "transaction_id"),
)  # fmt: skip
"""Column roles for ``synthsim audit`` and ``synthsim compare`` (no labels: join to
transactions on transaction_id)."""

DOC = (
    "one row per alert of the bank's transaction monitoring, in time order per shard: rule "
    "cash_over_threshold (approved cash in or out at or over the reporting threshold), "
    "structuring (several approved cash deposits just under it within 7 days), rapid_fan_out "
    "(many approved transfers out of one account within hours) or new_device_high_amount (a "
    "large transaction from a session on a device new to the account); transaction_id is the "
    "triggering transaction and amount its amount, or for the windowed rules the sum of the "
    "window's rows; no labels: join to transactions on transaction_id"
)
"""Column description of the ``alerts`` table."""

STRUCTURING_DAYS = 7
_TYPES = ("CASH_IN", "CASH_OUT", "TRANSFER")
_CASH_IN, _CASH_OUT, _TRANSFER = range(3)
_NEVER = np.iinfo(np.int64).min // 2


def _cents(dollars: float | np.ndarray) -> np.ndarray:
    return np.round(np.asarray(dollars, dtype=np.float64) * 100).astype(np.int64)


class _Window:
    """One windowed rule's memory across chunks: its rows of the last ``width`` seconds and
    the accounts it alerted within that time.

    Rows and alerts are (account, Unix seconds, cents) arrays; rows kept are only those a
    later window can still reach (``t > latest - width``).
    """

    def __init__(self, width: int, count: int) -> None:
        self.width, self.count = width, count
        self.rows = (np.zeros(0, np.int64),) * 3
        self.alerted = (np.zeros(0, np.int64), np.zeros(0, np.int64))  # account, time

    def feed(self, acc, t, cents, latest: int):
        """Alerts (row indices into this chunk's arrays, window sums in cents)."""
        n_old = len(self.rows[0])
        acc_all = np.r_[self.rows[0], acc]
        t_all = np.r_[self.rows[1], t]
        cents_all = np.r_[self.rows[2], cents]
        order = np.lexsort((np.arange(len(acc_all)), t_all, acc_all))
        acc_s, t_s = acc_all[order], t_all[order]
        _, rank = np.unique(acc_s, return_inverse=True)
        base = t_s.min() if len(t_s) else 0
        key = (rank.astype(np.int64) << 40) | (t_s - base)
        lo = np.searchsorted(key, key - self.width + 1, side="left")
        here = np.arange(len(key))
        total = np.r_[0, np.cumsum(cents_all[order])]
        hit = (order >= n_old) & (here - lo + 1 >= self.count)
        alerts = self._suppress(here[hit], acc_s[hit], t_s[hit])
        keep = t_all > latest - self.width
        self.rows = (acc_all[keep], t_all[keep], cents_all[keep])
        new = order[alerts] - n_old
        self._remember(acc[new], t[new], latest)
        return new, total[alerts + 1] - total[lo[alerts]]

    def _suppress(self, where, acc, t):
        """Of candidates sorted by (account, time), those an earlier alert of their account
        within the window (in this chunk or carried) does not silence."""
        prior_acc, prior_t = self.alerted
        prior = np.full(len(acc), _NEVER)
        if len(prior_acc):
            at = np.minimum(np.searchsorted(prior_acc, acc), len(prior_acc) - 1)
            prior = np.where(prior_acc[at] == acc, prior_t[at], _NEVER)
        open_ = t - prior >= self.width
        where, acc, t = where[open_], acc[open_], t[open_]
        chosen = []
        while len(where):  # one pass per alert of the busiest account: few
            head = np.ones(len(acc), bool)
            head[1:] = acc[1:] != acc[:-1]
            chosen.append(where[head])
            head_t = t[np.maximum.accumulate(np.where(head, np.arange(len(acc)), 0))]
            rest = ~head & (t - head_t >= self.width)
            where, acc, t = where[rest], acc[rest], t[rest]
        return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, np.int64)

    def _remember(self, acc, t, latest: int) -> None:
        acc = np.r_[self.alerted[0], acc]
        t = np.r_[self.alerted[1], t]
        order = np.lexsort((t, acc))
        acc, t = acc[order], t[order]
        last = np.ones(len(acc), bool)
        last[:-1] = acc[1:] != acc[:-1]
        last &= t > latest - self.width
        self.alerted = (acc[last], t[last])


class AlertEngine:
    """The monitoring alerts of one shard, chunk by chunk.

    Parameters
    ----------
    shard : int
        Alert ids are ``shard << 32 | n``, n counting the shard's alerts in time order.
    config : mapping
        The ``[alerts]`` section (see :data:`CONFIG_SCHEMA`); missing keys take
        :data:`DEFAULTS`.
    rules : iterable of str, default all of :data:`RULES`
        The rules to run.

    Attributes
    ----------
    n_alerts_ : int
        Alerts numbered so far.
    """

    def __init__(self, shard: int, config: Mapping[str, Any],
                 rules: Iterable[str] = RULES) -> None:  # fmt: skip
        self.config = validate_section("bank", "alerts", CONFIG_SCHEMA, dict(config), DEFAULTS)
        self.rules = tuple(rules)
        bad = sorted(set(self.rules) - set(RULES))
        if bad:
            raise ConfigError(f"Unknown alert rule {', '.join(map(repr, bad))}; valid rules: "
                              f"{', '.join(RULES)}.")  # fmt: skip
        self.shard, self.n_alerts_ = shard, 0
        c = self.config
        self._structuring = _Window(STRUCTURING_DAYS * 86400, c["structuring_count"])
        self._fan_out = _Window(round(c["fan_out_hours"] * 3600), c["fan_out_count"])
        self._latest = _NEVER

    def feed(self, transactions: pa.RecordBatch, session_ids: pa.Array | None = None,
             sessions: pa.RecordBatch | None = None) -> pa.RecordBatch:  # fmt: skip
        """The alerts raised by one chunk of transactions (in time order; chunks in order).

        Parameters
        ----------
        transactions : RecordBatch
            ``tables.SCHEMAS["transactions"]`` rows.
        session_ids : int64 Array, length ``transactions.num_rows``, or None
            Each row's session, from :meth:`SessionLog.feed` (needed by
            ``new_device_high_amount``).
        sessions : RecordBatch or None
            The chunk's sessions, from the same call.
        """
        t, _ = column_ints(transactions.column("timestamp"))
        kind = column_codes(transactions.column("type"), _TYPES)
        approved = column_codes(transactions.column("status"), ("approved",)) == 0
        cents = _cents(transactions.column("amount").to_numpy(zero_copy_only=False))
        src, src_null = column_ints(transactions.column("src_account"))
        dst, dst_null = column_ints(transactions.column("dst_account"))
        tx, _ = column_ints(transactions.column("transaction_id"))
        if len(t):
            self._latest = max(self._latest, int(t.max()))
        c = self.config
        threshold, floor = _cents(c["cash_threshold"]), _cents(c["structuring_floor"]
                                                                * c["cash_threshold"])  # fmt: skip
        cash_account = np.where(kind == _CASH_IN, dst, src)
        cash_known = np.where(kind == _CASH_IN, ~dst_null, ~src_null)
        found = []  # (rule, rows, account, cents)
        if "cash_over_threshold" in self.rules:
            rows = np.flatnonzero(approved & (kind >= 0) & (kind <= _CASH_OUT) & cash_known
                                  & (cents >= threshold))  # fmt: skip
            found.append((0, rows, cash_account[rows], cents[rows]))
        if "structuring" in self.rules:
            rows = np.flatnonzero(approved & (kind == _CASH_IN) & ~dst_null
                                  & (cents >= floor) & (cents < threshold))  # fmt: skip
            hit, total = self._structuring.feed(dst[rows], t[rows], cents[rows], self._latest)
            found.append((1, rows[hit], dst[rows[hit]], total))
        if "rapid_fan_out" in self.rules:
            rows = np.flatnonzero(approved & (kind == _TRANSFER) & ~src_null)
            hit, total = self._fan_out.feed(src[rows], t[rows], cents[rows], self._latest)
            found.append((2, rows[hit], src[rows[hit]], total))
        if "new_device_high_amount" in self.rules:
            rows = self._new_device_rows(cents, src_null, session_ids, sessions)
            found.append((3, rows, src[rows], cents[rows]))
        return self._table(found, t, tx)

    def _new_device_rows(self, cents, src_null, session_ids, sessions) -> np.ndarray:
        """Rows of at least new_device_amount made in a session on a new device."""
        if session_ids is None or sessions is None:
            raise ValueError("The new_device_high_amount rule needs the session_ids and "
                             "sessions that SessionLog.feed returned for this chunk.")  # fmt: skip
        if len(session_ids) != len(cents):
            raise ValueError(f"session_ids must have one entry per transaction ({len(cents)}). "
                             f"Got {len(session_ids)} instead.")  # fmt: skip
        sid, no_session = column_ints(session_ids)
        rows = np.flatnonzero(~no_session & ~src_null
                              & (cents >= _cents(self.config["new_device_amount"])))  # fmt: skip
        known, _ = column_ints(sessions.column("session_id"))
        new = sessions.column("is_new_device").to_numpy(zero_copy_only=False)
        order = np.argsort(known, kind="stable")
        at = np.minimum(np.searchsorted(known[order], sid[rows]), max(len(known) - 1, 0))
        if len(rows) and (not len(known) or (known[order][at] != sid[rows]).any()):
            raise ValueError("A transaction names a session that is not in the sessions "
                             "batch of this chunk.")  # fmt: skip
        return rows[new[order][at]] if len(rows) else rows

    def _table(self, found, t, tx) -> pa.RecordBatch:
        rule = np.concatenate([np.full(len(f[1]), f[0], np.int8) for f in found] + [[]])
        rows = np.concatenate([f[1] for f in found] + [[]]).astype(np.int64)
        account = np.concatenate([f[2] for f in found] + [[]]).astype(np.int64)
        cents = np.concatenate([f[3] for f in found] + [[]]).astype(np.int64)
        order = np.lexsort((rule, tx[rows], t[rows]))
        ids = (self.shard << 32) + self.n_alerts_ + np.arange(len(order), dtype=np.int64)
        self.n_alerts_ += len(order)
        return pa.RecordBatch.from_arrays([
            pa.array(ids, pa.int64()),
            pa.array(t[rows][order], pa.timestamp("s")),
            label_column(rule[order], RULES),
            pa.array(account[order], pa.int64()),
            pa.array(tx[rows][order], pa.int64()),
            pa.array(cents[order] / 100.0, pa.float64()),
        ], schema=SCHEMA)  # fmt: skip
