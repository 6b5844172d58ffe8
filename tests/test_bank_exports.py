"""``synthsim export paysim`` and ``synthsim export amlworld``: the files load as the formats
existing notebooks expect, and they say what the dataset says."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from simulations.cli import cli
from simulations.datasets import read_table

RUN = ["population.n_customers=1500", "run.days=20", "fraud.account_takeover=0.5",
       "fraud.card_testing=0.5", "laundering.fan_in=0.3", "laundering.structuring=0.3"]
PAYSIM_COLUMNS = {"step": "int64", "type": "object", "amount": "float64", "nameOrig": "object",
                  "oldbalanceOrg": "float64", "newbalanceOrig": "float64",
                  "nameDest": "object", "oldbalanceDest": "float64",
                  "newbalanceDest": "float64", "isFraud": "int64",
                  "isFlaggedFraud": "int64"}  # fmt: skip
AML_HEADER = ("Timestamp,From Bank,Account,To Bank,Account,Amount Received,Receiving Currency,"
              "Amount Paid,Payment Currency,Payment Format,Is Laundering")
AML_FORMATS = {"Reinvestment", "Cheque", "Credit Card", "ACH", "Cash", "Wire", "Bitcoin"}


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bank") / "ds"
    args = ["run", "bank", "--out", out, "--quiet"]
    for item in RUN:
        args += ["--set", item]
    assert invoke(*args).exit_code == 0
    return out


@pytest.fixture(scope="module")
def completed(dataset) -> pd.DataFrame:
    tx = read_table(dataset, "transactions")
    return tx[tx["status"] == "approved"].reset_index(drop=True)


@pytest.fixture(scope="module")
def paysim(dataset) -> pd.DataFrame:
    result = invoke("export", "paysim", dataset)
    assert result.exit_code == 0, result.output
    return pd.read_csv(dataset.with_name("ds-paysim.csv"))


def test_paysim_has_exactly_its_columns_and_types(paysim):
    assert {c: str(t) for c, t in paysim.dtypes.items()} == PAYSIM_COLUMNS


def test_paysim_rows_and_labels_match_the_dataset(paysim, completed):
    assert len(paysim) == len(completed)
    labelled = completed["is_fraud"] | completed["is_laundering"]
    assert paysim["isFraud"].sum() == labelled.sum() > 0
    assert set(paysim["type"]) <= {"CASH_IN", "CASH_OUT", "DEBIT", "PAYMENT", "TRANSFER"}
    assert paysim["step"].between(1, 20 * 24).all()
    assert paysim["nameOrig"].str.fullmatch(r"C\d+").all()
    assert paysim["nameDest"].str.fullmatch(r"[CM]\d+").all()
    np.testing.assert_allclose(paysim["amount"], completed["amount"])


def test_paysim_balances_move_by_the_amount_on_the_customer_side(paysim):
    outflow = paysim["type"].isin(["PAYMENT", "DEBIT", "CASH_OUT"])
    change = (paysim["newbalanceOrig"] - paysim["oldbalanceOrg"]).round(2)
    np.testing.assert_allclose(change[outflow], -paysim["amount"][outflow], atol=0.005)
    inflow = paysim["type"] == "CASH_IN"  # PaySim: the customer is nameOrig and gains
    np.testing.assert_allclose(change[inflow], paysim["amount"][inflow], atol=0.005)
    to_merchant = paysim["nameDest"].str.startswith("M")
    assert (paysim.loc[to_merchant, ["oldbalanceDest", "newbalanceDest"]] == 0).all().all()


def test_amlworld_parses_as_ibm_aml_data(dataset, completed):
    result = invoke("export", "amlworld", dataset, "--out", dataset.with_name("aml.csv"))
    assert result.exit_code == 0, result.output
    path = dataset.with_name("aml.csv")
    assert path.read_text().splitlines()[0] == AML_HEADER
    aml = pd.read_csv(path, dtype={"Account": str, "Account.1": str})
    assert len(aml) == len(completed)
    stamps = pd.to_datetime(aml["Timestamp"], format="%Y/%m/%d %H:%M")
    assert (stamps == completed["timestamp"].dt.floor("min")).all()
    assert set(aml["Payment Format"]) <= AML_FORMATS
    assert set(aml["From Bank"]) | set(aml["To Bank"]) <= {1, 2, 3}
    hexadecimal = re.compile(r"[0-9A-F]+")
    assert aml["Account"].map(hexadecimal.fullmatch).all()
    assert aml["Account.1"].map(hexadecimal.fullmatch).all()
    assert aml["Is Laundering"].sum() == completed["is_laundering"].sum() > 0
    np.testing.assert_allclose(aml["Amount Paid"], aml["Amount Received"])


def test_export_refuses_to_overwrite_and_unknown_formats(dataset, tmp_path):
    out = tmp_path / "p.csv"
    out.write_text("keep me")
    result = invoke("export", "paysim", dataset, "--out", out)
    assert result.exit_code == 2 and "already exists" in result.stderr
    assert out.read_text() == "keep me"
    assert invoke("export", "paysim", dataset, "--out", out, "--overwrite").exit_code == 0
    assert out.read_text().startswith("step,type,amount,nameOrig")
    result = invoke("export", "paysim", tmp_path)
    assert result.exit_code == 2 and "not a synthsim dataset" in result.stderr
    assert not list(tmp_path.glob(".*partial"))
