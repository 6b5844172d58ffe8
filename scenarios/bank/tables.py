"""Output tables of the bank scenario: Arrow schemas and conversion from kernel buffers."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from rules.financial_crime import TYPOLOGIES
from rules.oversampling import Oversampling
from scenarios.bank import behaviour as B
from scenarios.bank import kernels as K
from simulations.roles import TableRoles

__all__ = ["SCHEMAS", "COLUMN_DOCS", "ROLES", "transactions_batch"]

_LABEL = pa.dictionary(pa.int8(), pa.string())  # small closed vocabularies
_MONEY = pa.float64()

SCHEMAS = {
    "transactions": pa.schema([
        ("transaction_id", pa.int64()), ("timestamp", pa.timestamp("s")), ("type", _LABEL),
        ("amount", _MONEY), ("channel", _LABEL), ("status", _LABEL),
        ("src_account", pa.int64()), ("dst_account", pa.int64()), ("merchant_id", pa.int64()),
        ("src_balance_before", _MONEY), ("src_balance_after", _MONEY),
        ("dst_balance_before", _MONEY), ("dst_balance_after", _MONEY),
        ("is_fraud", pa.bool_()), ("is_laundering", pa.bool_()), ("fraud_type", _LABEL),
        ("case_id", pa.int64()), ("sample_weight", pa.float64()),
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
        ("opening_balance", _MONEY), ("is_mule", pa.bool_()), ("closing_balance", _MONEY),
    ]),
    "merchants": pa.schema([
        ("merchant_id", pa.int64()), ("name", pa.string()), ("category", _LABEL),
        ("region", _LABEL),
    ]),
}  # fmt: skip
"""Arrow schema of every table the scenario writes. Money columns are dollars (float64
holding whole cents: compare after rounding to 2 decimals)."""

COLUMN_DOCS = {
    "transactions": "one row per attempted transaction, declined ones included, in time "
    "order per shard; balances are the account's before/after this row (null for a side "
    "outside the bank); sample_weight is 1/oversampling.factor on rows of crime cases, else 1",
    "customers": "one row per customer, synthesised from census marginals (age band, sex, "
    "region, household-income band), with Faker names drawn consistently with sex",
    "accounts": "one current account per customer; closing_balance at the end of the run",
    "merchants": "card acceptors and bill payees",
}

ROLES = {
    "transactions": TableRoles(
        labels=("is_fraud", "is_laundering", "fraud_type"), cases=("case_id",),
        label_details=("sample_weight",),
        entities=("src_account", "dst_account"), time="timestamp", event_type="type",
        amounts=("amount",), identifiers=("transaction_id",), references=("merchant_id",),
    ),
    "customers": TableRoles(entities=("customer_id",),
                            identifiers=("first_name", "last_name")),
    "accounts": TableRoles(labels=("is_mule",), entities=("account_id",),
                           identifiers=("customer_id",)),
    "merchants": TableRoles(entities=("merchant_id",), identifiers=("name",)),
}  # fmt: skip
"""Column roles for ``synthsim audit`` and ``synthsim compare``."""

_FAMILY_IS_FRAUD = np.array([False] + [t.family == "fraud" for t in TYPOLOGIES])
_FAMILY_IS_LAUNDERING = np.array([False] + [t.family == "laundering" for t in TYPOLOGIES])


def _codes(values: np.ndarray, names, mask=None) -> pa.DictionaryArray:
    indices = pa.array(values.astype(np.int8), mask=mask)
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(names), pa.string()))


def transactions_batch(
    out: np.ndarray, n: int, account_id: np.ndarray, shard: int, first_row: int, epoch_s: int,
    oversampling: Oversampling,
) -> pa.RecordBatch:
    """Convert ``out[:, :n]`` (see :mod:`scenarios.bank.kernels`) to a record batch.

    Parameters
    ----------
    account_id : int64 array, shape (n_customers_in_shard,)
        Account number of each local customer row.
    shard, first_row : int
        Transaction ids are ``shard * 2**32 + first_row + i``: unique across shards and
        independent of how many workers ran.
    epoch_s : int
        Unix time in seconds of the run's first midnight.
    oversampling : Oversampling
        Gives the rows of crime cases their ``sample_weight``.
    """
    o = out[:, :n]
    src, dst, merchant, ftype = o[K.O_SRC], o[K.O_DST], o[K.O_MERCH], o[K.O_FTYPE]
    src_out, dst_out = src < 0, dst < 0

    def money(values, mask=None):
        return pa.array(values / 100.0, mask=mask)

    columns = [
        pa.array(np.arange(first_row, first_row + n, dtype=np.int64) + (shard << 32)),
        pa.array(o[K.O_T] + epoch_s, type=pa.timestamp("s")),
        _codes(o[K.O_TYPE], B.TRANSACTION_TYPES),
        money(o[K.O_AMOUNT]),
        _codes(o[K.O_CHAN], B.CHANNELS),
        _codes(o[K.O_STATUS], B.STATUSES),
        pa.array(account_id[np.where(src_out, 0, src)], mask=src_out),
        pa.array(account_id[np.where(dst_out, 0, dst)], mask=dst_out),
        pa.array(merchant + 1, mask=merchant < 0),
        money(o[K.O_SRC_BEFORE], src_out),
        money(o[K.O_SRC_AFTER], src_out),
        money(o[K.O_DST_BEFORE], dst_out),
        money(o[K.O_DST_AFTER], dst_out),
        pa.array(_FAMILY_IS_FRAUD[ftype]),
        pa.array(_FAMILY_IS_LAUNDERING[ftype]),
        _codes(np.maximum(ftype - 1, 0), [t.name for t in TYPOLOGIES], ftype == 0),
        pa.array(o[K.O_CASE] + (shard << 32), mask=o[K.O_CASE] < 0),
        pa.array(oversampling.weights(ftype > 0)),
    ]
    return pa.RecordBatch.from_arrays(columns, schema=SCHEMAS["transactions"])
