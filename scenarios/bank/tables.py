"""Output tables of the bank scenario: Arrow schemas and conversion from kernel buffers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from scipy.special import ndtri

from rules.financial_crime import TYPOLOGIES
from rules.oversampling import Oversampling
from scenarios.bank import alerts, sessions
from scenarios.bank import behaviour as B
from scenarios.bank import kernels as K
from simulations.bits import keyed_uniform
from simulations.columns import label_column
from simulations.roles import TableRoles

__all__ = ["SCHEMAS", "COLUMN_DOCS", "CURRENCY", "ROLES", "ShardOutput", "transactions_batch"]

_LABEL = pa.dictionary(pa.int8(), pa.string())  # small closed vocabularies
_MONEY = pa.float64()

SCHEMAS = {
    "transactions": pa.schema([
        ("transaction_id", pa.int64()), ("timestamp", pa.timestamp("s")), ("type", _LABEL),
        ("amount", _MONEY), ("channel", _LABEL), ("status", _LABEL),
        ("currency", _LABEL), ("src_account", pa.int64()), ("dst_account", pa.int64()),
        ("merchant_id", pa.int64()), ("mcc", pa.int16()), ("card_id", pa.int64()),
        ("src_balance_before", _MONEY), ("src_balance_after", _MONEY),
        ("dst_balance_before", _MONEY), ("dst_balance_after", _MONEY),
        ("is_fraud", pa.bool_()), ("is_laundering", pa.bool_()), ("fraud_type", _LABEL),
        ("case_id", pa.int64()), ("reported_at", pa.timestamp("s")),
        ("sample_weight", pa.float64()), ("counterparty_bank", _LABEL),
        ("session_id", pa.int64()),
    ]),
    "customers": pa.schema([
        ("customer_id", pa.int64()), ("first_name", pa.dictionary(pa.int32(), pa.string())),
        ("last_name", pa.dictionary(pa.int32(), pa.string())), ("sex", _LABEL),
        ("birth_date", pa.date32()), ("age", pa.int16()), ("region", _LABEL),
        ("segment", _LABEL), ("monthly_income", _MONEY),
        ("age_band", pa.dictionary(pa.int32(), pa.string())),
        ("income_band", pa.dictionary(pa.int32(), pa.string())),
    ]),
    "accounts": pa.schema([
        ("account_id", pa.int64()), ("customer_id", pa.int64()), ("overdraft_limit", _MONEY),
        ("atm_daily_limit", _MONEY),
        ("opening_balance", _MONEY), ("is_mule", pa.bool_()), ("card_id", pa.int64()),
        ("closing_balance", _MONEY),
    ]),
    "merchants": pa.schema([
        ("merchant_id", pa.int64()), ("name", pa.string()), ("category", _LABEL),
        ("region", _LABEL), ("mcc", pa.int16()),
    ]),
    "sessions": sessions.SCHEMA,
    "alerts": alerts.SCHEMA,
}  # fmt: skip
"""Arrow schema of every table the scenario writes. Money columns are dollars (float64
holding whole cents: compare after rounding to 2 decimals)."""

COLUMN_DOCS = {
    "transactions": "one row per attempted transaction, declined ones included, in time "
    "order per shard; balances are the account's before/after this row (null for a side "
    "outside the bank); mcc is the merchant's ISO 18245 category code and card_id the "
    "customer's debit card, on card payments; reported_at is when a labelled row's label "
    "became known (null if after the run's end); sample_weight is 1/oversampling.factor on "
    "rows of crime cases, else 1; counterparty_bank is the other bank of a transfer from or "
    "to outside; session_id is the online-banking session of a customer's online or mobile "
    "transfer",
    "customers": "one row per customer, synthesised from census marginals (age band, sex, "
    "region, household-income band), with Faker names drawn consistently with sex",
    "accounts": "one current account per customer with its debit card; closing_balance at "
    "the end of the run; atm_daily_limit caps the card's ATM withdrawals per day",
    "merchants": "card acceptors and bill payees",
    "sessions": sessions.DOC,
    "alerts": alerts.DOC,
}

ROLES = {
    "transactions": TableRoles(
        labels=("is_fraud", "is_laundering", "fraud_type"), cases=("case_id",),
        label_details=("reported_at", "sample_weight"),
        entities=("src_account", "dst_account"), time="timestamp", event_type="type",
        amounts=("amount",), identifiers=("transaction_id", "card_id", "session_id"),
        references=("merchant_id",),
    ),
    "customers": TableRoles(entities=("customer_id",),
                            identifiers=("first_name", "last_name")),
    "accounts": TableRoles(labels=("is_mule",), entities=("account_id",),
                           identifiers=("customer_id", "card_id")),
    "merchants": TableRoles(entities=("merchant_id",), identifiers=("name",)),
    "sessions": sessions.ROLES,
    "alerts": alerts.ROLES,
}  # fmt: skip
"""Column roles for ``synthsim audit`` and ``synthsim compare``."""

CURRENCY = "USD"
_PAYMENT = B.TRANSACTION_TYPES.index("PAYMENT")
_CARD_CHANNELS = [B.CHANNELS.index(c) for c in ("card_present", "online")]

_TRANSFER = B.TRANSACTION_TYPES.index("TRANSFER")
_BANK_NAMES = [name for name, _ in B.COUNTERPARTY_BANKS]
_BANK_CDF = np.cumsum([share for _, share in B.COUNTERPARTY_BANKS])
_BANK_CDF /= _BANK_CDF[-1]
_OUTSIDE_PARTIES = 4  # distinct accounts elsewhere per customer (savings, family, landlord)

_FAMILY_IS_FRAUD = np.array([False] + [t.family == "fraud" for t in TYPOLOGIES])
_FAMILY_IS_LAUNDERING = np.array([False] + [t.family == "laundering" for t in TYPOLOGIES])


@dataclass(frozen=True)
class ShardOutput:
    """What turns a shard's kernel rows into transactions, besides the rows themselves.

    Attributes
    ----------
    account_id, card_id : int64 arrays, shape (n_customers_in_shard,)
        Account and debit-card number of each local customer row.
    merchant_mcc : int16 array, shape (n_merchants,)
        ISO 18245 code of each merchant row.
    shard : int
        Transaction ids are ``shard * 2**32 + row``: unique across shards and independent
        of how many workers ran.
    epoch_s, end_s : int
        Unix times in seconds of the run's first midnight and of its end.
    seed : int
        Root seed; a case's report delay is drawn from it and the case id alone.
    oversampling : Oversampling
        Gives the rows of crime cases their ``sample_weight``.
    report_delay : dict
        Log-normal delay before a label is known, per family (``fraud``, ``laundering``):
        ``(median days, sigma of log)``.
    """

    account_id: np.ndarray
    card_id: np.ndarray
    merchant_mcc: np.ndarray
    shard: int
    epoch_s: int
    end_s: int
    seed: int
    oversampling: Oversampling
    report_delay: dict[str, tuple[float, float]]

    def reported_at(self, case: np.ndarray, seconds: np.ndarray, laundering: np.ndarray,
                    ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """Unix seconds when each labelled row's label is known, and where it is not yet
        (after the run's end, or no case). Every row of a case waits the same delay."""
        (fraud_median, fraud_sigma) = self.report_delay["fraud"]
        (laundering_median, laundering_sigma) = self.report_delay["laundering"]
        rows = np.flatnonzero(case >= 0)  # few: only they draw
        median = np.where(laundering[rows], laundering_median, fraud_median)
        sigma = np.where(laundering[rows], laundering_sigma, fraud_sigma)
        u = keyed_uniform(self.seed, "report-delay", case[rows])
        delay_days = median * np.exp(sigma * ndtri(np.clip(u, 1e-12, 1 - 1e-12)))
        at = np.zeros(len(case), dtype=np.int64)
        at[rows] = seconds[rows] + np.round(delay_days * 86400).astype(np.int64)
        return at, (case < 0) | (at > self.end_s)

    def counterparty_bank(self, outside: np.ndarray, account: np.ndarray, case: np.ndarray,
                          row_id: np.ndarray) -> np.ndarray:  # fmt: skip
        """Bank code (into ``behaviour.COUNTERPARTY_BANKS``) of each ``outside`` row's other
        side: one of the customer's few outside accounts (the case's, for crime), each at a
        bank drawn by deposit share."""
        rows = np.flatnonzero(outside)
        party = (keyed_uniform(self.seed, "outside-party", row_id[rows])
                 * _OUTSIDE_PARTIES).astype(np.int64)  # fmt: skip
        key = np.where(case[rows] >= 0, (case[rows] << 1) | 1,
                       (account[rows] * _OUTSIDE_PARTIES + party) << 1)  # fmt: skip
        bank = np.zeros(len(outside), dtype=np.int64)
        bank[rows] = np.searchsorted(_BANK_CDF, keyed_uniform(self.seed, "outside-bank", key),
                                     side="right")  # fmt: skip
        return bank


def transactions_batch(out: np.ndarray, n: int, first_row: int, shard: ShardOutput,
                       ) -> pa.RecordBatch:  # fmt: skip
    """Convert ``out[:, :n]`` (see :mod:`scenarios.bank.kernels`) to a record batch; its
    rows are numbered from ``first_row`` within the shard. ``session_id`` is left null for
    :class:`scenarios.bank.sessions.SessionLog` to fill."""
    o = out[:, :n]
    src, dst, merchant, ftype = o[K.O_SRC], o[K.O_DST], o[K.O_MERCH], o[K.O_FTYPE]
    src_out, dst_out, no_merchant = src < 0, dst < 0, merchant < 0
    on_card = (o[K.O_TYPE] == _PAYMENT) & np.isin(o[K.O_CHAN], _CARD_CHANNELS) & ~src_out
    seconds = o[K.O_T] + shard.epoch_s
    case = np.where(o[K.O_CASE] < 0, -1, o[K.O_CASE] + (shard.shard << 32))
    reported, unknown = shard.reported_at(case, seconds, _FAMILY_IS_LAUNDERING[ftype])
    row_id = np.arange(first_row, first_row + n, dtype=np.int64) + (shard.shard << 32)
    outside = (o[K.O_TYPE] == _TRANSFER) & (src_out != dst_out)
    inside_party = shard.account_id[np.where(src_out, np.maximum(dst, 0), np.maximum(src, 0))]
    bank = shard.counterparty_bank(outside, inside_party, case, row_id)

    def money(values, mask=None):
        return pa.array(values / 100.0, mask=mask)

    columns = [
        pa.array(row_id),
        pa.array(seconds, type=pa.timestamp("s")),
        label_column(o[K.O_TYPE], B.TRANSACTION_TYPES),
        money(o[K.O_AMOUNT]),
        label_column(o[K.O_CHAN], B.CHANNELS),
        label_column(o[K.O_STATUS], B.STATUSES),
        label_column(np.zeros(n), (CURRENCY,)),
        pa.array(shard.account_id[np.where(src_out, 0, src)], mask=src_out),
        pa.array(shard.account_id[np.where(dst_out, 0, dst)], mask=dst_out),
        pa.array(merchant + 1, mask=no_merchant),
        pa.array(shard.merchant_mcc[np.where(no_merchant, 0, merchant)], mask=no_merchant),
        pa.array(shard.card_id[np.where(on_card, src, 0)], mask=~on_card),
        money(o[K.O_SRC_BEFORE], src_out),
        money(o[K.O_SRC_AFTER], src_out),
        money(o[K.O_DST_BEFORE], dst_out),
        money(o[K.O_DST_AFTER], dst_out),
        pa.array(_FAMILY_IS_FRAUD[ftype]),
        pa.array(_FAMILY_IS_LAUNDERING[ftype]),
        label_column(np.maximum(ftype - 1, 0), [t.name for t in TYPOLOGIES], ftype == 0),
        pa.array(case, mask=case < 0),
        pa.array(reported, type=pa.timestamp("s"), mask=unknown),
        pa.array(shard.oversampling.weights(ftype > 0)),
        label_column(bank, _BANK_NAMES, ~outside),
        pa.nulls(n, pa.int64()),  # session_id: set by the shard's session log
    ]
    return pa.RecordBatch.from_arrays(columns, schema=SCHEMAS["transactions"])
