"""The figures the retail fidelity yardstick compares: baskets, households, visit gaps,
department spend shares, next-week-visit prediction (train synthetic, test real) and exact
copies. :mod:`scenarios.retail.fidelity` scores them; every function here takes The Complete
Journey's ``transactions`` (and ``products``) tables, real or synthetic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from simulations.errors import ConfigError
from simulations.params import Interval, Param, validate_value

__all__ = ["COPY_MIN_ITEMS", "FIRST_PREDICTION_WEEK", "LAST_PREDICTION_WEEK", "basket_gaps",
           "basket_table", "check_columns", "copy_counts", "department_spend_shares",
           "exact_copies", "gaps_days", "household_table", "next_week_visit_tstr",
           "visit_features"]  # fmt: skip

COPY_MIN_ITEMS = 4
"""Fewest rows a basket needs to count as an exact copy. Short baskets of popular products
recur among unrelated households by chance: between two disjoint seeded halves of The
Complete Journey's households (5 seeds), about 4,900 1-item, 100 2-item and up to 4 3-item
baskets coincide (three $1 fruit drinks; a promoted soft-drink 3-pack at $2.50 a pack), and
none of 4 or more rows (about 44,000 such baskets a half). A basket that independent real
shoppers also produce identifies nobody, so only baskets longer than that count."""
FIRST_PREDICTION_WEEK, LAST_PREDICTION_WEEK = 14, 52
"""Weeks ``w`` whose next-week visit is predicted (13 weeks of history before the first)."""
_SECONDS_PER_DAY = 86_400.0
_FEATURES = ["visits_week", "visits_4w", "visits_13w", "weeks_since_visit", "spend_4w",
             "mean_basket_spend"]  # fmt: skip


def check_columns(owner: str, name: str, frame: object, columns: tuple[str, ...]) -> None:
    """Refuse a ``frame`` that is not a DataFrame holding ``columns``."""
    missing = list(columns) if not isinstance(frame, pd.DataFrame) else \
        [c for c in columns if c not in frame.columns]  # fmt: skip
    if missing:
        got = f"a {type(frame).__name__}" if not isinstance(frame, pd.DataFrame) else \
            f"a table lacking {missing}"  # fmt: skip
        raise ConfigError(f"The {name!r} parameter of {owner} must be a DataFrame with the "
                          f"columns {list(columns)}. Got {got} instead.")


def basket_table(transactions: pd.DataFrame) -> pd.DataFrame:
    """One row per basket, ordered by household then time.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Line items (n_rows): household_id, store_id, basket_id, week, sales_value (USD),
        transaction_timestamp.

    Returns
    -------
    pandas.DataFrame
        n_baskets rows: household_id, store_id, basket_id, timestamp (the basket's first
        row's), week, items (rows in the basket), spend (sum of sales_value, USD).
    """
    check_columns("basket_table", "transactions", transactions,
                  ("household_id", "store_id", "basket_id", "week", "sales_value",
                   "transaction_timestamp"))  # fmt: skip
    grouped = transactions.groupby("basket_id", sort=False)
    out = grouped[["household_id", "store_id", "transaction_timestamp", "week"]].first()
    out = out.rename(columns={"transaction_timestamp": "timestamp"})
    out["items"] = grouped.size()
    out["spend"] = grouped["sales_value"].sum()
    out = out.reset_index()[["household_id", "store_id", "basket_id", "timestamp", "week",
                             "items", "spend"]]  # fmt: skip
    return out.sort_values(["household_id", "timestamp", "basket_id"], ignore_index=True)


def household_table(transactions: pd.DataFrame) -> pd.DataFrame:
    """Per household (n_households rows, indexed by household_id): ``visits`` (baskets),
    ``items`` (rows), ``spend`` (USD), ``mean_basket_spend`` (USD), ``first_week`` and
    ``last_week`` (weeks of the first and last basket)."""
    baskets = basket_table(transactions)
    out = baskets.groupby("household_id").agg(
        visits=("basket_id", "size"), items=("items", "sum"), spend=("spend", "sum"),
        first_week=("week", "min"), last_week=("week", "max"))
    out.insert(3, "mean_basket_spend", out["spend"] / out["visits"])
    return out


def basket_gaps(baskets: pd.DataFrame) -> np.ndarray:
    """:func:`gaps_days` of a :func:`basket_table`."""
    seconds = baskets["timestamp"].to_numpy("datetime64[ns]").astype(np.int64) / 1e9
    same = baskets["household_id"].to_numpy()[1:] == baskets["household_id"].to_numpy()[:-1]
    return np.diff(seconds)[same] / _SECONDS_PER_DAY


def gaps_days(transactions: pd.DataFrame) -> np.ndarray:
    """Days (float64, n_baskets - n_households values) between each household's consecutive
    baskets, in household then time order."""
    return basket_gaps(basket_table(transactions))


def department_spend_shares(transactions: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """Share (in [0, 1]; rows sum to 1) of each household's spend (sales_value) going to each
    department: n_households rows (index household_id) x n_departments columns, 0 where a
    household spent nothing there. Households with no positive spend are left out."""
    check_columns("department_spend_shares", "products", products, ("product_id", "department"))
    department = products.drop_duplicates("product_id").set_index("product_id")["department"]
    spend = (transactions.assign(department=transactions["product_id"].map(department))
             .groupby(["household_id", "department"])["sales_value"].sum()
             .unstack(fill_value=0.0))  # fmt: skip
    total = spend.sum(axis=1)
    return spend[total > 0].div(total[total > 0], axis=0)


def visit_features(transactions: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Household-week rows for weeks ``w`` in [:data:`FIRST_PREDICTION_WEEK`,
    :data:`LAST_PREDICTION_WEEK`] of households with a basket by week ``w``.

    Returns
    -------
    features : pandas.DataFrame
        n_rows x 7: household_id, then from the history up to week ``w`` only: visits_week
        (baskets in ``w``), visits_4w, visits_13w (weeks ``w-3..w``, ``w-12..w``),
        weeks_since_visit, spend_4w (USD), mean_basket_spend (USD, all baskets so far).
    label : numpy.ndarray
        n_rows booleans: the household has a basket in week ``w + 1``.
    """
    baskets = basket_table(transactions)
    households, row = np.unique(baskets["household_id"].to_numpy(), return_inverse=True)
    col = np.clip(baskets["week"].to_numpy(np.int64), 0, LAST_PREDICTION_WEEK + 1)
    shape = (len(households), LAST_PREDICTION_WEEK + 2)
    visits, spend = np.zeros(shape), np.zeros(shape)
    np.add.at(visits, (row, col), 1.0)
    np.add.at(spend, (row, col), baskets["spend"].to_numpy(np.float64))
    cum_v = np.cumsum(visits, axis=1)
    cum_s = np.cumsum(spend, axis=1)
    weeks = np.arange(shape[1])
    last = np.maximum.accumulate(np.where(visits > 0, weeks, -1), axis=1)
    w = np.arange(FIRST_PREDICTION_WEEK, LAST_PREDICTION_WEEK + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        columns = [visits[:, w], cum_v[:, w] - cum_v[:, w - 4], cum_v[:, w] - cum_v[:, w - 13],
                   w - last[:, w], cum_s[:, w] - cum_s[:, w - 4], cum_s[:, w] / cum_v[:, w]]
    active = (cum_v[:, w] > 0).ravel()
    frame = pd.DataFrame({name: c.ravel()[active] for name, c in zip(_FEATURES, columns,
                                                                     strict=True)})  # fmt: skip
    frame.insert(0, "household_id", np.repeat(households, len(w))[active])
    return frame, (visits[:, w + 1] > 0).ravel()[active]


def next_week_visit_tstr(synthetic_tx: pd.DataFrame, real_tx: pd.DataFrame, seed: int = 0,
                         ) -> tuple[float, float]:  # fmt: skip
    """ROC-AUC of predicting "the household shops next week" on held-out real households, of
    a model trained on synthetic data (A) and of one trained on real data (B).

    Real households are split into two halves by a permutation seeded with ``seed``; B learns
    from half 1, A from all synthetic households, both are tested on half 2
    (:func:`visit_features` rows). The model is scikit-learn's
    ``HistGradientBoostingClassifier`` (fixed ``random_state``, no early stopping): the
    features are heavy-tailed (spend) and act non-linearly (weeks since the last visit), so a
    flexible model, free of scaling choices, is the stricter judge of whether the synthetic
    visit dynamics teach what the real ones do.

    Returns
    -------
    (auc_a, auc_b) : tuple of float
        ROC-AUC in [0, 1] of the synthetic-trained and the real-trained model; their ratio is
        the TSTR score.
    """
    seed = validate_value("next_week_visit_tstr", "seed", Param("int", Interval(int, 0, None)),
                          seed)  # fmt: skip
    X_syn, y_syn = visit_features(synthetic_tx)
    X_real, y_real = visit_features(real_tx)
    ids = np.unique(X_real["household_id"].to_numpy())
    train_ids = np.random.default_rng(seed).permutation(ids)[: len(ids) // 2]
    train = X_real["household_id"].isin(train_ids).to_numpy()

    def auc(X: pd.DataFrame, y: np.ndarray) -> float:
        model = HistGradientBoostingClassifier(max_iter=100, early_stopping=False,
                                               random_state=seed)  # fmt: skip
        model.fit(X[_FEATURES].to_numpy(), y)
        test = X_real.loc[~train, _FEATURES].to_numpy()
        return float(roc_auc_score(y_real[~train], model.predict_proba(test)[:, 1]))

    return auc(X_syn, y_syn), auc(X_real[train], y_real[train])


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser of uint64 values (a bijection that scatters bits)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _basket_keys(transactions: pd.DataFrame) -> pd.DataFrame:
    """Per basket: household_id, timestamp, items and two 64-bit multiset hashes (h1, h2) of
    its (product_id, quantity, sales_value in cents) rows (sums of per-row hashes, so order
    does not matter)."""
    cents = np.round(transactions["sales_value"].to_numpy(np.float64) * 100).astype(np.int64)
    parts = [transactions["product_id"].to_numpy(np.int64),
             transactions["quantity"].to_numpy(np.int64), cents]  # fmt: skip
    frame = transactions[["household_id", "basket_id", "transaction_timestamp"]].copy()
    with np.errstate(over="ignore"):
        for name, salt in (("h1", 0x9E3779B97F4A7C15), ("h2", 0xD1B54A32D192ED03)):
            h = np.full(len(frame), salt, dtype=np.uint64)
            for part in parts:
                h = _mix(h ^ part.astype(np.uint64))
            # sums wrap modulo 2**64: add the 32-bit halves exactly in int64, then recombine
            frame[name + "_lo"] = (h & np.uint64(0xFFFFFFFF)).astype(np.int64)
            frame[name + "_hi"] = (h >> np.uint64(32)).astype(np.int64)
    grouped = frame.groupby("basket_id", sort=False)
    out = grouped[["household_id", "transaction_timestamp"]].first()
    out["items"] = grouped.size()
    sums = grouped[["h1_lo", "h1_hi", "h2_lo", "h2_hi"]].sum()
    with np.errstate(over="ignore"):
        for name in ("h1", "h2"):
            hi = sums[name + "_hi"].to_numpy().astype(np.uint64) << np.uint64(32)
            out[name] = hi + sums[name + "_lo"].to_numpy().astype(np.uint64)
    return out.sort_values(["household_id", "transaction_timestamp"]).reset_index()


def _history_keys(baskets: pd.DataFrame) -> pd.DataFrame:
    """Per household: baskets, items and two 64-bit hashes of its time-ordered sequence of
    basket multisets (each basket's hash mixed with its position, then summed)."""
    position = baskets.groupby("household_id").cumcount().to_numpy().astype(np.uint64)
    frame = baskets[["household_id", "items"]].copy()
    with np.errstate(over="ignore"):
        for name in ("h1", "h2"):
            h = _mix(baskets[name].to_numpy() ^ _mix(position + np.uint64(1)))
            frame[name + "_lo"] = (h & np.uint64(0xFFFFFFFF)).astype(np.int64)
            frame[name + "_hi"] = (h >> np.uint64(32)).astype(np.int64)
    sums = frame.groupby("household_id").sum()
    out = pd.DataFrame({"baskets": baskets.groupby("household_id").size(),
                        "items": sums["items"]})  # fmt: skip
    with np.errstate(over="ignore"):
        for name in ("h1", "h2"):
            hi = sums[name + "_hi"].to_numpy().astype(np.uint64) << np.uint64(32)
            out[name] = hi + sums[name + "_lo"].to_numpy().astype(np.uint64)
    return out


def _copied(synthetic: pd.DataFrame, real: pd.DataFrame, size: str) -> int:
    """Rows of ``synthetic`` whose (size, h1, h2) key is among ``real``'s."""
    keys = ["h1", "h2", size]
    known = pd.MultiIndex.from_frame(real[keys].drop_duplicates())
    return int(pd.MultiIndex.from_frame(synthetic[keys]).isin(known).sum())


def copy_counts(synthetic_tx: pd.DataFrame, real_tx: pd.DataFrame,
                min_items: int = COPY_MIN_ITEMS) -> tuple[int, int]:  # fmt: skip
    """(copied baskets, copied household histories) of ``synthetic_tx`` with respect to
    ``real_tx``; see :func:`exact_copies`."""
    min_items = validate_value("exact_copies", "min_items", Param("int", Interval(int, 1, None)),
                               min_items)  # fmt: skip
    needed = ("household_id", "basket_id", "product_id", "quantity", "sales_value",
              "transaction_timestamp")  # fmt: skip
    check_columns("exact_copies", "synthetic_tx", synthetic_tx, needed)
    check_columns("exact_copies", "real_tx", real_tx, needed)
    syn, real = _basket_keys(synthetic_tx), _basket_keys(real_tx)
    baskets = _copied(syn[syn["items"] >= min_items], real[real["items"] >= min_items], "items")
    syn_h, real_h = _history_keys(syn), _history_keys(real)
    histories = _copied(syn_h[syn_h["items"] >= min_items], real_h, "baskets")
    return baskets, histories


def exact_copies(synthetic_tx: pd.DataFrame, real_tx: pd.DataFrame,
                 min_items: int = COPY_MIN_ITEMS) -> int:  # fmt: skip
    """Number of exact copies of real data in synthetic transactions.

    A synthetic basket is a copy when its multiset of (product_id, quantity, sales_value
    rounded to cents) rows equals some real basket's and it has at least ``min_items`` rows;
    a synthetic household is a copy when its whole time-ordered sequence of basket multisets
    equals some real household's and it has at least ``min_items`` rows in all. Multisets
    are compared by two independent 64-bit hashes with the row count (a false match has
    probability about 1e-30 per pair).

    Parameters
    ----------
    synthetic_tx, real_tx : pandas.DataFrame
        ``transactions`` tables (household_id, basket_id, product_id, quantity, sales_value,
        transaction_timestamp).
    min_items : int, default :data:`COPY_MIN_ITEMS` (4)
        Fewest rows (>= 1) of a basket or history that can count as a copy; shorter ones
        recur by chance (see :data:`COPY_MIN_ITEMS`).

    Returns
    -------
    int
        Copied baskets plus copied household histories (>= 0).
    """
    return sum(copy_counts(synthetic_tx, real_tx, min_items))
