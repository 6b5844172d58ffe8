"""Output tables of the retail scenario, in The Complete Journey's own columns."""

from __future__ import annotations

import pyarrow as pa

from scenarios.retail import coupons
from simulations.roles import TableRoles

__all__ = ["COLUMN_DOCS", "ROLES", "SCHEMAS"]

_TEXT = pa.dictionary(pa.int32(), pa.string())

SCHEMAS = {
    "transactions": pa.schema([
        ("household_id", pa.int64()), ("store_id", pa.int64()), ("basket_id", pa.int64()),
        ("product_id", pa.int64()), ("quantity", pa.int64()), ("sales_value", pa.float64()),
        ("retail_disc", pa.float64()), ("coupon_disc", pa.float64()),
        ("coupon_match_disc", pa.float64()), ("week", pa.int64()),
        ("transaction_timestamp", pa.timestamp("s")),
    ]),
    "demographics": pa.schema([
        ("household_id", pa.int64()), ("age", _TEXT), ("income", _TEXT),
        ("home_ownership", _TEXT), ("marital_status", _TEXT), ("household_size", _TEXT),
        ("household_comp", _TEXT), ("kids_count", _TEXT),
    ]),
    "products": pa.schema([
        ("product_id", pa.int64()), ("manufacturer_id", pa.int64()), ("department", _TEXT),
        ("brand", _TEXT), ("product_category", _TEXT), ("product_type", _TEXT),
        ("package_size", _TEXT),
    ]),
    "promotions": pa.schema([
        ("product_id", pa.int64()), ("store_id", pa.int64()), ("display_location", _TEXT),
        ("mailer_location", _TEXT), ("week", pa.int64()),
    ]),
}  # fmt: skip
"""Arrow schema of every table the scenario writes; money in USD (float64 of whole cents)."""

COLUMN_DOCS = {
    "transactions": "one row per product in a basket, as The Complete Journey: sales_value "
    "is what the household paid before coupons (USD), retail_disc the loyalty-card discount "
    "(USD, positive; regular value = sales_value + retail_disc), coupon_disc and "
    "coupon_match_disc coupon savings (USD); week counts from 1 at run.start_date; rows are "
    "in time order per household",
    "demographics": "one row per household, synthesised from The Complete Journey's "
    "demographic marginals (every household has one, unlike the 801 of 2,469 in the data)",
    "products": "the catalogue: The Complete Journey's products sold at least a few times, "
    "with their department, category, type, brand and package size",
    "promotions": "display and mailer placements per product, store and week (display "
    "location '0' / mailer location '0': none), in the stores that report promotions",
}

ROLES = {
    "transactions": TableRoles(
        entities=("household_id",), time="transaction_timestamp",
        amounts=("quantity", "sales_value", "retail_disc", "coupon_disc", "coupon_match_disc"),
        identifiers=("basket_id",), references=("store_id", "product_id"),
    ),
    "demographics": TableRoles(entities=("household_id",)),
    "products": TableRoles(entities=("product_id",), identifiers=("manufacturer_id",)),
    "promotions": TableRoles(references=("product_id", "store_id")),
}  # fmt: skip
"""Column roles for ``synthsim audit`` and ``synthsim compare``."""

SCHEMAS.update(coupons.SCHEMAS)
COLUMN_DOCS.update(coupons.COLUMN_DOCS)
ROLES.update({
    "campaign_descriptions": TableRoles(entities=("campaign_id",)),
    "campaigns": TableRoles(entities=("household_id",), references=("campaign_id",)),
    "coupons": TableRoles(identifiers=("coupon_upc",), references=("product_id", "campaign_id")),
    "coupon_redemptions": TableRoles(entities=("household_id",), time="redemption_date",
                                     references=("coupon_upc", "campaign_id")),
})  # fmt: skip
