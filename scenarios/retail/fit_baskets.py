"""Fitting what goes in a basket: categories, products, promotions, choice and quantities.

Discounts in The Complete Journey are a product-week matter: of the product-weeks with at
least 5 rows, 41% have (almost) none of their rows discounted and 54% (almost) all. So a
product is *on promotion* in a week when most of its rows carry a loyalty discount, and the
scenario runs promotions as a Markov chain per product over weeks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scenarios.retail.fixed_effects import two_way_regression

__all__ = ["category_keys", "fit_baskets", "fit_habit", "product_weeks"]

ON_DEPTH = 0.01
"""A row is discounted when its retail discount is above this share of its regular value."""

NO_CATEGORY = "(none)"
"""The category of a product The Complete Journey gives none."""

METERED = 50
"""A product whose median quantity is above this is sold by measure (fuel in thousandths of
a gallon): its quantities come from its department's metered products, not from packs."""


def category_keys(products: pd.DataFrame) -> pd.Series:
    """``department|product_category`` of each product (a category's name is only unique
    within its department)."""
    category = products["product_category"].fillna(NO_CATEGORY)
    return products["department"].fillna(NO_CATEGORY) + "|" + category


def _rows(transactions: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    rows = transactions[["household_id", "basket_id", "product_id", "quantity", "sales_value",
                         "retail_disc", "week", "transaction_timestamp"]].copy()  # fmt: skip
    regular = rows["sales_value"] + rows["retail_disc"]
    rows["depth"] = np.where(regular > 0, rows["retail_disc"] / regular.where(regular > 0, 1), 0)
    catalogue = products.set_index("product_id")
    rows["department"] = catalogue["department"].fillna(NO_CATEGORY).reindex(
        rows["product_id"]).to_numpy()
    rows["category"] = category_keys(catalogue.reset_index()).set_axis(catalogue.index).reindex(
        rows["product_id"]).to_numpy()
    metered = rows.groupby("product_id")["quantity"].transform("median") > METERED
    rows["quantity_group"] = rows["department"] + np.where(metered, "|metered", "")
    return rows


def product_weeks(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows, share discounted and median depth of the discounted rows, per product-week."""
    discounted = rows["depth"] > ON_DEPTH
    panel = rows.assign(discounted=discounted, on_depth=rows["depth"].where(discounted))
    return (panel.groupby(["product_id", "week"])
            .agg(rows=("depth", "size"), discounted=("discounted", "mean"),
                 depth=("on_depth", "median"), department=("department", "first"))
            .reset_index())  # fmt: skip


def fit_baskets(transactions: pd.DataFrame, products: pd.DataFrame,
                promotions: pd.DataFrame | None, *, min_rows: int = 5
                ) -> tuple[dict[str, float], dict[str, pd.DataFrame]]:  # fmt: skip
    """Scalars and tables of categories, the product catalogue, promotions, choice and
    quantities. Products with fewer than ``min_rows`` rows are left out of the catalogue;
    their rows still count in their category's share."""
    rows = _rows(transactions, products)
    categories = rows.groupby("category").agg(department=("department", "first"),
                                              rows=("depth", "size")).reset_index()  # fmt: skip
    categories["share"] = categories["rows"] / categories["rows"].sum()
    categories.insert(0, "category_index", np.arange(len(categories)))
    catalogue = _catalogue(rows, products, categories, min_rows)
    panel = product_weeks(rows[rows["product_id"].isin(catalogue["product_id"])])
    panel["on"] = panel["discounted"] >= 0.5
    panel = _with_displays(panel, promotions)
    across, within = _affinities(rows, categories)
    departments = _chains(panel).join(_choice(panel), how="left")
    departments["habit"] = fit_habit(rows, catalogue).reindex(departments.index)
    departments = departments.fillna({"beta_depth": 0.0, "beta_display": 0.0,
                                      "beta_mailer": 0.0, "habit": 0.0})  # fmt: skip
    tables = {
        "categories": categories.drop(columns="rows"),
        "products": catalogue,
        "departments": departments.reset_index(),
        "depths": _histogram(panel[panel["on"]], "depth", np.arange(0.025, 1.0, 0.05)),
        "quantities": _quantities(rows),
        "locations": _locations(promotions),
    }
    return {"department_concentration": across, "category_concentration": within}, tables


def _catalogue(rows, products, categories, min_rows: int) -> pd.DataFrame:
    """Products with at least ``min_rows`` rows: attributes, regular unit price (median
    regular value per unit over rows with a quantity) and log share within the category."""
    counts = rows.groupby("product_id").size()
    kept = products[products["product_id"].isin(counts.index[counts >= min_rows])].copy()
    unit = rows[rows["quantity"] > 0]
    price = ((unit["sales_value"] + unit["retail_disc"]) / unit["quantity"]).groupby(
        unit["product_id"]).median()
    kept["regular_price"] = kept["product_id"].map(price).fillna(0.0)
    kept["category_index"] = category_keys(kept).map(
        categories.set_index("category")["category_index"]).to_numpy()
    kept["intercept"] = np.log(kept["product_id"].map(counts).to_numpy(float))
    kept["quantity_group"] = kept["product_id"].map(
        rows.groupby("product_id")["quantity_group"].first()).to_numpy()
    return kept.sort_values(["category_index", "product_id"], ignore_index=True)


def _with_displays(panel: pd.DataFrame, promotions: pd.DataFrame | None) -> pd.DataFrame:
    """Share of promotion-reporting stores displaying / mailing each product-week."""
    if promotions is None or promotions.empty:
        return panel.assign(display=0.0, mailer=0.0)
    stores = promotions["store_id"].nunique()
    flags = promotions.assign(display=promotions["display_location"].astype(str) != "0",
                              mailer=promotions["mailer_location"].astype(str) != "0")
    shares = flags.groupby(["product_id", "week"])[["display", "mailer"]].sum() / stores
    return panel.join(shares, on=["product_id", "week"]).fillna({"display": 0.0, "mailer": 0.0})


def _chains(panel: pd.DataFrame) -> pd.DataFrame:
    """Per department: P(on | off last week), P(on | on last week) over consecutive observed
    weeks of a product; share of rows discounted in on weeks; odds of a display or mailer
    (shared by at least half the reporting stores) in on and off weeks."""
    ordered = panel.sort_values(["product_id", "week"])
    previous = ordered.groupby("product_id")["on"].shift()
    consecutive = ordered["week"].diff().eq(1) & ordered["product_id"].eq(
        ordered["product_id"].shift())
    pairs = ordered[consecutive].assign(previous=previous[consecutive].astype(bool))
    after = pairs.groupby(["department", "previous"])["on"].mean().unstack()
    out = pd.DataFrame({"p_on_after_off": after.get(False), "p_on_after_on": after.get(True)})
    on = panel[panel["on"]]
    out["card_share"] = on.groupby("department")["discounted"].mean()
    for flag in ("display", "mailer"):
        shown = panel[flag] >= 0.5
        out[f"{flag}_when_on"] = shown[panel["on"]].groupby(panel["department"]).mean()
        out[f"{flag}_when_off"] = shown[~panel["on"]].groupby(panel["department"]).mean()
    return out.fillna(0.0)


def _choice(panel: pd.DataFrame, min_weeks: int = 10, min_shown: int = 50) -> pd.DataFrame:
    """Per department, the coefficients of log rows on discount depth, display and mailer
    with product and week fixed effects (the logit inversion of a multinomial choice: a
    product's log share is its utility less the category's log-sum, which the week and
    product effects absorb). A display or mailer shown (by half the stores) in fewer than
    ``min_shown`` product-weeks of a department is too rare to estimate: its coefficient
    is 0 there."""
    panel = panel.assign(depth=panel["depth"].where(panel["on"], 0.0).fillna(0.0))
    weeks = panel.groupby("product_id")["week"].transform("size")
    panel = panel[weeks >= min_weeks]
    coefficients = {}
    for department, group in panel.groupby("department"):
        if group["product_id"].nunique() < 5:
            continue
        regressors = ["depth"] + [flag for flag in ("display", "mailer")
                                  if (group[flag] >= 0.5).sum() >= min_shown]  # fmt: skip
        fit = two_way_regression(np.log(group["rows"].to_numpy(float)),
                                 group[regressors].to_numpy(float),
                                 group["product_id"].to_numpy(), group["week"].to_numpy())
        found = dict(zip(regressors, fit.coefficients, strict=True))
        coefficients[department] = [found.get(r, 0.0) for r in ("depth", "display", "mailer")]
    return pd.DataFrame.from_dict(coefficients, orient="index",
                                  columns=["beta_depth", "beta_display", "beta_mailer"]
                                  ).astype(float)  # fmt: skip


def fit_habit(rows: pd.DataFrame, catalogue: pd.DataFrame) -> pd.Series:
    """Per department, the habit ``h`` (log odds added to the product a household last
    bought in the category) at which the choice model repeats purchases as often as the
    data: the mean over repeat opportunities of e^h s / (1 + (e^h - 1) s), with s the last
    product's base share, equals the share of purchases that repeat the last product."""
    shares = np.exp(catalogue["intercept"]) / np.exp(catalogue["intercept"]).groupby(
        catalogue["category_index"]).transform("sum")
    share = pd.Series(shares.to_numpy(), index=catalogue["product_id"])
    seq = rows[rows["product_id"].isin(share.index)].sort_values(
        ["household_id", "category", "transaction_timestamp"], kind="stable")
    same = seq["household_id"].eq(seq["household_id"].shift()) & seq["category"].eq(
        seq["category"].shift())
    last = seq["product_id"].shift()[same]
    chance = share.reindex(last).to_numpy()
    repeated = (seq["product_id"][same] == last).to_numpy()
    habit = {}
    for department, at in pd.Series(np.arange(len(chance))).groupby(
            seq["department"][same].to_numpy()):  # fmt: skip
        s, observed = chance[at.to_numpy()], repeated[at.to_numpy()].mean()
        lo, hi = 0.0, 15.0
        for _ in range(60):  # bisection: the modelled repeat share grows with h
            h = (lo + hi) / 2
            modelled = np.mean(np.exp(h) * s / (1 + (np.exp(h) - 1) * s))
            lo, hi = (h, hi) if modelled < observed else (lo, h)
        habit[department] = (lo + hi) / 2
    return pd.Series(habit, name="habit")


def _concentration(counts: np.ndarray, share: np.ndarray) -> float:
    """Dirichlet-multinomial concentration of counts (households x cells) around ``share``
    by moments: the squared deviations from n s equal sum_h n_h (n_h + a) / (1 + a) times
    sum_c s (1 - s)."""
    n = counts.sum(axis=1)
    spread = ((counts - n[:, None] * share) ** 2).sum() / (share * (1 - share)).sum()
    return float(np.clip(((n**2).sum() - spread) / (spread - n.sum()), 1e-3, 1e6))


def _affinities(rows: pd.DataFrame, categories: pd.DataFrame) -> tuple[float, float]:
    """How alike households are: the Dirichlet concentration of their shares of rows by
    department, and the (row-weighted geometric mean) one of their shares of categories
    within a department."""
    by_category = pd.crosstab(rows["household_id"], rows["category"]).reindex(
        columns=categories["category"], fill_value=0)
    department = categories["department"].to_numpy()
    totals = by_category.T.groupby(department).sum().T.to_numpy(float)
    across = _concentration(totals, totals.sum(axis=0) / totals.sum())
    within = []
    for name in np.unique(department):
        columns = department == name
        counts = by_category.to_numpy(float)[:, columns]
        counts = counts[counts.sum(axis=1) > 0]
        cell = counts.sum(axis=0) / max(counts.sum(), 1)
        if columns.sum() > 1 and (cell > 0).all() and len(counts) > 10:
            within.append((_concentration(counts, cell), counts.sum()))
    values, weights = np.array(within).T
    return across, float(np.exp(np.average(np.log(values), weights=weights)))


def _histogram(frame: pd.DataFrame, column: str, centres: np.ndarray) -> pd.DataFrame:
    """Per department, the share of ``column`` values nearest each of ``centres``."""
    width = centres[1] - centres[0]
    bins = np.clip(((frame[column].to_numpy() - centres[0] + width / 2) // width), 0,
                   len(centres) - 1).astype(int)  # fmt: skip
    counts = pd.crosstab(frame["department"].to_numpy(), bins).reindex(
        columns=range(len(centres)), fill_value=0)
    shares = counts.div(counts.sum(axis=1), axis=0)
    tidy = shares.stack().rename("probability").reset_index()
    tidy.columns = ["department", "bin", "probability"]
    tidy[column] = centres[tidy["bin"]]
    return tidy[tidy["probability"] > 0][["department", column, "probability"]]


def _quantities(rows: pd.DataFrame, keep: float = 0.999, most: int = 60) -> pd.DataFrame:
    """Per quantity group (a department's packed or metered products), the quantities that
    cover ``keep`` of its rows (at most ``most`` of them), with their shares."""
    group = "quantity_group"
    counts = rows.groupby([group, "quantity"]).size().rename("rows").reset_index()
    counts = counts.sort_values([group, "rows"], ascending=[True, False])
    total = counts.groupby(group)["rows"].transform("sum")
    before = counts.groupby(group)["rows"].cumsum() - counts["rows"]
    rank = counts.groupby(group).cumcount()
    counts = counts[(before < keep * total) & (rank < most)]
    counts["probability"] = counts["rows"] / counts.groupby(group)["rows"].transform("sum")
    return counts[[group, "quantity", "probability"]].reset_index(drop=True)


def _locations(promotions: pd.DataFrame | None) -> pd.DataFrame:
    """Shares of the display and mailer location codes of promoted product-store-weeks."""
    if promotions is None or promotions.empty:
        return pd.DataFrame({"kind": ["display", "mailer"], "code": ["1", "A"],
                             "probability": [1.0, 1.0]})  # fmt: skip
    parts = []
    for kind in ("display", "mailer"):
        codes = promotions[f"{kind}_location"].astype(str)
        shares = codes[codes != "0"].value_counts(normalize=True).sort_index()
        parts.append(pd.DataFrame({"kind": kind, "code": shares.index,
                                   "probability": shares.to_numpy()}))  # fmt: skip
    return pd.concat(parts, ignore_index=True)
