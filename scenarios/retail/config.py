"""Configuration schema of the retail scenario (defaults live in ``default.toml``)."""

from __future__ import annotations

from pathlib import Path

from simulations.params import Interval, Param

__all__ = ["DEFAULT_CONFIG", "SCHEMA"]

DEFAULT_CONFIG = Path(__file__).with_name("default.toml")

_SCALE = Interval(float, 0.0, 10.0)
_DEPARTMENT = Param("str", None, 'the department a what-if applies to, or "all"')

SCHEMA = {
    "run": {
        "seed": Param("int", Interval(int, 0, 2**63 - 1), "root seed of every random stream"),
        "start_date": Param("date", None, "first simulated day (week 1 starts on it)"),
        "weeks": Param("int", Interval(int, 1, 520), "number of simulated weeks", "weeks"),
        "shard_size": Param("int", Interval(int, 100, 10_000_000), "households per shard",
                            "households"),
        "chunk_weeks": Param("int", Interval(int, 1, 52),
                             "weeks simulated between writes (bounds memory)", "weeks"),
    },
    "population": {
        "n_households": Param("int", Interval(int, 1, 10**9), "number of households"),
        "parameters": Param("str", None, 'fitted parameter folder ("": the shipped fit to '
                                         "The Complete Journey)"),
    },
    "behaviour": {
        "trip_rate_scale": Param("float", _SCALE, "multiplier of every household's trip rate"),
        "basket_size_scale": Param("float", _SCALE,
                                   "multiplier of every household's mean items per basket"),
    },
    "promotions": {
        "department": _DEPARTMENT,
        "depth_scale": Param("float", Interval(float, 0.0, 2.0),
                             "multiplier of discount depths (capped at 95%)"),
        "frequency_scale": Param("float", _SCALE,
                                 "multiplier of the odds that a product goes on promotion"),
    },
    "stores": {
        "closed": Param("str", None, 'store_id values of closed stores, comma-separated ("": '
                                     "none)"),
    },
    "coupons": {
        "targeting_scale": Param("float", _SCALE, "multiplier of the share of households each "
                                                  "campaign targets (capped at 1)"),
        "redemption_scale": Param("float", _SCALE, "multiplier of the probability of redeeming "
                                                   "an eligible purchase (capped at 1)"),
    },
    "prices": {
        "department": _DEPARTMENT,
        "change": Param("float", Interval(float, -0.9, 10.0),
                        "relative change of regular prices (0.1: 10% dearer)"),
    },
}  # fmt: skip
