"""The bank's transactions in the formats existing fraud and AML notebooks read.

- **PaySim** (Lopez-Rojas, Elmir and Axelsson, "PaySim: a financial mobile money simulator
  for fraud detection", EMSS 2016; the Kaggle file ``PS_20174392719_1491204439457_log.csv``):
  ``step`` (hour since the start, from 1), ``type`` (CASH_IN, CASH_OUT, DEBIT, PAYMENT,
  TRANSFER), ``amount``, ``nameOrig``, ``oldbalanceOrg``, ``newbalanceOrig``, ``nameDest``,
  ``oldbalanceDest``, ``newbalanceDest``, ``isFraud``, ``isFlaggedFraud``.
- **AMLworld** (Altman et al., "Realistic Synthetic Financial Transactions for Anti-Money
  Laundering Models", NeurIPS 2023; IBM's ``*_Trans.csv`` files): ``Timestamp``
  (``YYYY/MM/DD hh:mm``), ``From Bank``, ``Account``, ``To Bank``, ``Account``, ``Amount
  Received``, ``Receiving Currency``, ``Amount Paid``, ``Payment Currency``, ``Payment
  Format``, ``Is Laundering``.

Both formats log completed transfers, so declined attempts are left out. Mappings where the
formats have no counterpart (documented in :data:`PAYSIM_TYPES`, :data:`AML_FORMATS`):

- PaySim names customers ``C<account>`` and merchants ``M<merchant id>``; a party outside
  the bank that is not a merchant (an employer, an ATM, another bank) is ``M0``. Money
  coming in (CASH_IN, salaries) has the customer as ``nameOrig``, PaySim's own convention
  for CASH_IN; other inbound transfers have ``nameOrig`` ``C0``. Balances of parties
  outside the bank are 0, as PaySim leaves merchants'. ``isFraud`` marks fraud and
  laundering alike; ``isFlaggedFraud`` is PaySim's rule, a TRANSFER over 200,000.
- AMLworld accounts are upper-case hexadecimal: customers at bank 1 (this bank),
  merchants at bank 2 (their acquirer), every other outside party at bank 3 as account 0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from simulations.datasets import read_manifest, read_table

__all__ = ["AML_FORMATS", "PAYSIM_TYPES", "to_amlworld", "to_paysim"]

PAYSIM_TYPES = {"PAYMENT": "PAYMENT", "TRANSFER": "TRANSFER", "CASH_OUT": "CASH_OUT",
                "CASH_IN": "CASH_IN", "SALARY": "CASH_IN", "BILL": "DEBIT"}  # fmt: skip
"""synthsim transaction type -> PaySim type (a salary is money in; a bill, a debit)."""

AML_FORMATS = {"card_present": "Credit Card", "online": "Credit Card", "mobile": "ACH",
               "atm": "Cash", "branch": "Cash", "direct_debit": "ACH",
               "direct_credit": "Wire"}  # fmt: skip
"""synthsim channel -> AMLworld payment format (online transfers, below, are ACH)."""

_PAYSIM_FLAG = 200_000.0
_INBOUND = ("CASH_IN", "SALARY")


def _completed(dataset: Path) -> pd.DataFrame:
    tx = read_table(dataset, "transactions")
    return tx[tx["status"] == "approved"].reset_index(drop=True)


def _named(prefix: str, ids: pd.Series, missing: str) -> np.ndarray:
    """``prefix`` + id as text, ``missing`` where there is no id (vectorised in Arrow)."""
    text = pc.cast(pa.array(ids, type=pa.int64(), from_pandas=True), pa.string())
    named = pc.fill_null(pc.binary_join_element_wise(prefix, text, ""), missing)
    return named.to_numpy(zero_copy_only=False)


def _hexadecimal(numbers: np.ndarray) -> np.ndarray:
    """Upper-case hexadecimal text of non-negative integers (formatted once per value)."""
    unique, inverse = np.unique(numbers, return_inverse=True)
    return np.array([f"{n:X}" for n in unique], dtype=object)[inverse]


def to_paysim(dataset: str | Path) -> pd.DataFrame:
    """The dataset's completed transactions as a PaySim log (see the module docstring)."""
    tx = _completed(Path(dataset))
    start = pd.Timestamp(read_manifest(dataset)["config"]["run"]["start_date"])
    kind = tx["type"].astype(str)
    inbound = kind.isin(_INBOUND).to_numpy() & tx["src_account"].isna().to_numpy()
    outside = _named("M", tx["merchant_id"], "M0")
    src, dst = _named("C", tx["src_account"], "C0"), _named("C", tx["dst_account"], "")
    dst = np.where(dst == "", outside, dst)

    def balance(column: str) -> np.ndarray:
        return tx[column].fillna(0.0).to_numpy()

    orig_before = np.where(inbound, balance("dst_balance_before"), balance("src_balance_before"))
    orig_after = np.where(inbound, balance("dst_balance_after"), balance("src_balance_after"))
    dest_before = np.where(inbound, 0.0, balance("dst_balance_before"))
    dest_after = np.where(inbound, 0.0, balance("dst_balance_after"))
    hours = (tx["timestamp"] - start) // pd.Timedelta(hours=1)
    types = kind.map(PAYSIM_TYPES)
    return pd.DataFrame({
        "step": hours.to_numpy(np.int64) + 1, "type": types.to_numpy(),
        "amount": tx["amount"].to_numpy(), "nameOrig": np.where(inbound, dst, src),
        "oldbalanceOrg": orig_before, "newbalanceOrig": orig_after,
        "nameDest": np.where(inbound, outside, dst), "oldbalanceDest": dest_before,
        "newbalanceDest": dest_after,
        "isFraud": (tx["is_fraud"] | tx["is_laundering"]).to_numpy(np.int64),
        "isFlaggedFraud": ((types == "TRANSFER") & (tx["amount"] > _PAYSIM_FLAG))
        .to_numpy(np.int64),
    })  # fmt: skip


def _aml_party(account: pd.Series, merchant: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Bank number and hexadecimal account of one side of each transaction."""
    is_customer, is_merchant = account.notna().to_numpy(), merchant.notna().to_numpy()
    bank = np.where(is_customer, 1, np.where(is_merchant, 2, 3))
    numbers = np.where(is_customer, account.fillna(0).to_numpy(np.int64),
                       merchant.fillna(0).to_numpy(np.int64))  # fmt: skip
    numbers = np.where(is_customer | is_merchant, numbers, 0)
    return bank, _hexadecimal(numbers)


def to_amlworld(dataset: str | Path) -> pd.DataFrame:
    """The dataset's completed transactions as an AMLworld transaction file (see the module
    docstring). Two columns are both named ``Account``, as in IBM's files."""
    tx = _completed(Path(dataset))
    no_merchant = pd.Series(pd.NA, index=tx.index, dtype="Int64")
    from_bank, from_account = _aml_party(tx["src_account"], no_merchant)
    to_bank, to_account = _aml_party(tx["dst_account"], tx["merchant_id"])
    channel = tx["channel"].astype(str)
    payment = np.where((tx["type"] == "TRANSFER").to_numpy(), "ACH",
                       channel.map(AML_FORMATS).to_numpy())  # fmt: skip
    amount = tx["amount"].to_numpy()
    columns = [
        ("Timestamp", pc.strftime(pa.array(tx["timestamp"]), format="%Y/%m/%d %H:%M")
         .to_numpy(zero_copy_only=False)),
        ("From Bank", from_bank), ("Account", from_account), ("To Bank", to_bank),
        ("Account", to_account), ("Amount Received", amount),
        ("Receiving Currency", np.full(len(tx), "US Dollar")), ("Amount Paid", amount),
        ("Payment Currency", np.full(len(tx), "US Dollar")), ("Payment Format", payment),
        ("Is Laundering", tx["is_laundering"].to_numpy(np.int64)),
    ]  # fmt: skip
    frame = pd.DataFrame({i: values for i, (_, values) in enumerate(columns)})
    frame.columns = [name for name, _ in columns]
    return frame
