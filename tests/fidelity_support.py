"""A constructed event table for the audit and comparison tests: accounts making events of
three types at random times, with labels planted on purpose (or not at all)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulations.roles import TableRoles

ROLES = TableRoles(
    labels=("planted", "clean", "id_leak"), entities=("account",), time="when",
    event_type="kind", amounts=("amount",), identifiers=("event_id",),
)  # fmt: skip


def event_table(n: int = 40_000, accounts: int = 2_000, positives: int = 200,
                seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """``n`` events of ``accounts`` accounts over 60 days, never between 02:00 and 04:59
    except where planted. Labels:

    - ``planted``: ``positives`` rows, 60% of them kind B with an amount in [5000, 6000]
      (ordinary B amounts stay below 2000), 40% anywhere, moved to 03:00-03:59;
    - ``clean``: ``positives`` rows drawn at random;
    - ``id_leak``: ``positives`` random rows whose ``event_id`` ends in 7, a digit no other
      row's id ends in.
    """
    rng = np.random.default_rng(seed)
    seconds = rng.integers(0, 60 * 86400, n)
    hour = seconds // 3600 % 24
    seconds = np.where((hour >= 2) & (hour < 5), seconds + 3 * 3600, seconds)
    kind = rng.choice(["A", "B", "C"], n, p=[0.6, 0.3, 0.1])
    amount = np.round(np.minimum(rng.lognormal(4, 1, n), 1999.99), 2)
    frame = pd.DataFrame({
        "account": rng.integers(0, accounts, n).astype(np.float64),
        "when": pd.Timestamp("2025-01-01") + pd.to_timedelta(seconds, unit="s"),
        "kind": pd.Categorical(kind), "amount": amount,
        "channel": pd.Categorical(rng.choice(["web", "app", "branch"], n)),
    })  # fmt: skip
    chosen = rng.choice(n, size=3 * positives, replace=False)
    planted, clean, leak = np.split(chosen, 3)
    in_b = planted[: int(0.6 * positives)]
    frame.loc[in_b, "kind"] = "B"
    frame.loc[in_b, "amount"] = np.round(rng.uniform(5000, 6000, len(in_b)), 2)
    night = planted[len(in_b):]
    stamp = frame.loc[night, "when"]
    frame.loc[night, "when"] = stamp.dt.normalize() + pd.Timedelta(hours=3) \
        + pd.to_timedelta(rng.integers(0, 3600, len(night)), unit="s")  # fmt: skip
    for name, rows in (("planted", planted), ("clean", clean), ("id_leak", leak)):
        label = np.zeros(n, dtype=bool)
        label[rows] = True
        frame[name] = label
    ids = rng.permutation(n).astype(np.int64) * 10 + rng.choice([0, 1, 2, 3, 4, 5, 6, 8, 9], n)
    ids[leak] = ids[leak] // 10 * 10 + 7
    frame["event_id"] = ids
    return frame.sort_values("when", kind="stable").reset_index(drop=True)
