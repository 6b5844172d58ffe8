"""``compare``: how close is a synthetic table to a real one (or to another synthetic one)?

Five parts, each scored in [0, 1] (1: indistinguishable):

- **column shapes** (whole tables): KS complement of each numeric or datetime column, TV
  complement of each categorical or boolean one;
- **column pair trends** (seeded samples of ``sample_rows`` rows): correlation similarity of
  numeric pairs, contingency similarity of the others;
- **event-log structure** (whole tables; needs a time column): hour-of-day and weekday
  profiles, events per entity, time between an entity's events;
- **utility** (with a ``target``): train-synthetic-test-real against train-real-test-real
  (left out of ``overall`` when the real data itself is barely predictable);
- **privacy** (whole tables and samples): exact copies and distance to closest record.

``overall`` is the mean of the fidelity parts present (shapes, pairs, structure, utility);
privacy is reported beside it, since a perfect copy is perfectly faithful and not private.
Key columns (identifiers, entity keys, case keys, references) are not compared: their values
only name things.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from calibration.fidelity.features import entity_codes
from calibration.fidelity.metrics import (
    contingency_of_codes,
    correlation_similarity,
    discretize,
    ks_complement,
    numeric_values,
    present_sorted,
    shared_codes,
    shares,
    tv_complement,
)
from calibration.fidelity.privacy import privacy
from calibration.fidelity.sources import Source, Table, column_kind, load
from calibration.fidelity.structure import Profile, event_structure
from calibration.fidelity.utility import utility
from simulations.errors import ConfigError
from simulations.params import Interval, Param, validate_value
from simulations.progress import progress_bar
from simulations.roles import TableRoles
from simulations.seeding import stream

__all__ = ["PARTS", "CompareReport", "compare"]

PARTS = ("column_shapes", "column_pair_trends", "event_structure", "utility", "privacy")

_PARAMS = {
    "sample_rows": Param("int", Interval(int, 1000, None)),
    "seed": Param("int", Interval(int, 0, None)),
}
_SHAPE = {"numeric": "continuous", "datetime": "continuous", "categorical": "discrete",
          "boolean": "discrete"}  # fmt: skip
_QUANTILES = np.linspace(0, 1, 201)
_TOP = 12


@dataclass
class CompareReport:
    """What :func:`compare` measured.

    Attributes
    ----------
    synthetic, real : str
        Where the two tables came from.
    scores : dict
        Score of each part present (``column_shapes``, ``column_pair_trends``,
        ``event_structure``, ``utility``, ``privacy``) and ``overall``.
    shapes, pairs, structure : pandas.DataFrame
        Per column, per pair, per measure: ``metric`` and ``score`` (pairs also the real and
        synthetic correlations).
    utility : dict or None
        TSTR and TRTR of the target.
    privacy : dict or None
        Exact-copy share, DCR medians and ratio, score.
    rows : dict
        Rows of each table, and the rows each part used.
    plot_data : dict
        Compact summaries (quantiles, top-category shares, profiles, distances) that
        :meth:`to_html` draws.
    settings : dict
    seconds : float
    """

    synthetic: str
    real: str
    scores: dict[str, float]
    shapes: pd.DataFrame
    pairs: pd.DataFrame
    structure: pd.DataFrame
    utility: dict[str, Any] | None
    privacy: dict[str, Any] | None
    rows: dict[str, Any]
    plot_data: dict[str, Any] = field(default_factory=dict, repr=False)
    settings: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: scores, every frame as records, the rows each part used."""
        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return json.loads(frame.to_json(orient="records"))

        return {
            "synthetic": self.synthetic, "real": self.real, "scores": self.scores,
            "column_shapes": records(self.shapes), "column_pair_trends": records(self.pairs),
            "event_structure": records(self.structure), "utility": self.utility,
            "privacy": self.privacy, "rows": self.rows, "settings": self.settings,
            "seconds": self.seconds,
        }  # fmt: skip

    def to_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, default=float),
                              encoding="utf-8")  # fmt: skip

    def to_html(self, path: str | Path) -> None:
        """A self-contained HTML page: scores, tables and plots (PNG, embedded)."""
        from calibration.fidelity.report import write_html

        write_html(self, Path(path))


def _mapped(real: Table, synthetic: Table, mapping: dict[str, str] | None) -> pd.DataFrame:
    """The real frame with columns renamed to the synthetic names ``mapping`` gives them."""
    mapping = dict(mapping or {})
    unknown = sorted(set(mapping) - set(synthetic.frame.columns))
    if unknown:
        raise ConfigError(f"The mapping names {', '.join(map(repr, unknown))}, not columns of "
                          f"{synthetic.name}; its columns are: "
                          f"{', '.join(synthetic.frame.columns)}.")  # fmt: skip
    missing = sorted(set(mapping.values()) - set(real.frame.columns))
    if missing:
        raise ConfigError(f"The mapping names {', '.join(map(repr, missing))}, not columns of "
                          f"{real.name}; its columns are: {', '.join(real.frame.columns)}.")
    return real.frame.rename(columns={v: k for k, v in mapping.items()})


def _columns(real: pd.DataFrame, synthetic: Table, real_name: str) -> dict[str, str]:
    """Shared columns and their kind; incompatible kinds are refused."""
    shared = [c for c in synthetic.frame.columns if c in real.columns]
    if not shared:
        raise ConfigError(f"{synthetic.name} and {real_name} have no column in common; map "
                          f"them with --map SYNTHETIC=REAL.")  # fmt: skip
    kinds = {}
    for name in shared:
        a, b = column_kind(synthetic.frame[name]), column_kind(real[name])
        if _SHAPE[a] != _SHAPE[b] or {a, b} == {"numeric", "datetime"}:
            raise ConfigError(f"Column {name!r} is {a} in {synthetic.name} but {b} in "
                              f"{real_name}: the two cannot be compared.")  # fmt: skip
        kinds[name] = a
    return kinds


def _shapes(real: pd.DataFrame, synthetic: pd.DataFrame, kinds: dict[str, str],
            plots: dict[str, Any]) -> pd.DataFrame:  # fmt: skip
    rows = []
    for name, kind in kinds.items():
        if _SHAPE[kind] == "continuous":
            a = present_sorted(numeric_values(real[name]))
            b = present_sorted(numeric_values(synthetic[name]))
            rows.append((name, kind, "KSComplement", ks_complement(a, b, presorted=True)))
            plots[name] = {"kind": kind, "real": _quantiles(a), "synthetic": _quantiles(b)}
        else:
            rows.append((name, kind, "TVComplement", tv_complement(real[name], synthetic[name])))
            a, b = shares(real[name]), shares(synthetic[name])
            top = a.add(b, fill_value=0).sort_values(ascending=False).index[:_TOP]
            plots[name] = {"kind": kind, "categories": list(top),
                           "real": a.reindex(top, fill_value=0).tolist(),
                           "synthetic": b.reindex(top, fill_value=0).tolist()}  # fmt: skip
    return pd.DataFrame(rows, columns=["column", "kind", "metric", "score"])


def _quantiles(ordered: np.ndarray) -> list[float]:
    """Quantiles at :data:`_QUANTILES` of sorted values (linear interpolation)."""
    if len(ordered) == 0:
        return []
    position = _QUANTILES * (len(ordered) - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, len(ordered) - 1)
    return (ordered[low] + (ordered[high] - ordered[low]) * (position - low)).tolist()


def _pairs(real: pd.DataFrame, synthetic: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    numeric = {n: (numeric_values(real[n]), numeric_values(synthetic[n]))
               for n, k in kinds.items() if _SHAPE[k] == "continuous"}  # fmt: skip
    codes = {n: shared_codes(*(pd.Series(b) for b in discretize(*numeric[n]))) if n in numeric
             else shared_codes(real[n], synthetic[n]) for n in kinds}  # fmt: skip
    rows = []
    for x, y in itertools.combinations(kinds, 2):
        if x in numeric and y in numeric:
            score, r, s = correlation_similarity(numeric[x][0], numeric[y][0], numeric[x][1],
                                                 numeric[y][1])  # fmt: skip
            rows.append((x, y, "CorrelationSimilarity", score, r, s))
        else:
            rows.append((x, y, "ContingencySimilarity",
                         contingency_of_codes(codes[x], codes[y]), np.nan, np.nan))
    return pd.DataFrame(rows, columns=["column_1", "column_2", "metric", "score",
                                       "real_correlation", "synthetic_correlation"])


def _sample(frame: pd.DataFrame, size: int, rng: np.random.Generator) -> pd.DataFrame:
    if len(frame) <= size:
        return frame.reset_index(drop=True)
    return frame.iloc[np.sort(rng.choice(len(frame), size=size, replace=False))] \
        .reset_index(drop=True)  # fmt: skip


def compare(
    synthetic: Source,
    real: Source,
    *,
    synthetic_table: str | None = None,
    real_table: str | None = None,
    mapping: dict[str, str] | None = None,
    target: str | None = None,
    roles: TableRoles | None = None,
    sample_rows: int = 50_000,
    seed: int = 0,
    parts: tuple[str, ...] = PARTS,
    progress: bool = False,
) -> CompareReport:
    """Score a synthetic table against a real one.

    Parameters
    ----------
    synthetic, real : str, os.PathLike or pandas.DataFrame
        Synthsim datasets, Parquet or CSV files, or DataFrames.
    synthetic_table, real_table : str, optional
        Tables of datasets; by default the largest. A real dataset without ``real_table``
        uses the synthetic table's name when it has one.
    mapping : dict, optional
        ``{synthetic column: real column}`` for columns named differently.
    target : str, optional
        Column (synthetic name) to predict for the utility part.
    roles : TableRoles, optional
        Column roles of the synthetic table, merged over those its dataset records (time and
        entities drive the event-log part; identifiers and entities are not compared).
    sample_rows : int >= 1000
        Rows of each table the quadratic parts use (pairs; the distances use a half and a
        twenty-fifth of it); the utility models train on at most this many.
    seed : int >= 0
        Seed of every sample and model.
    parts : tuple of str
        Which of :data:`PARTS` to compute (all by default).

    Raises
    ------
    ConfigError
        A mapping naming unknown columns, no shared column, a column whose kinds differ,
        an unknown target, an empty table, bad parameters.
    """
    settings = {name: validate_value("compare", name, spec, value)
                for (name, spec), value in zip(_PARAMS.items(), (sample_rows, seed),
                                               strict=True)}  # fmt: skip
    unknown = [p for p in parts if p not in PARTS]
    if unknown or not parts:
        raise ConfigError(f"The 'parts' parameter of compare must be a non-empty subset of "
                          f"{', '.join(PARTS)}. Got {list(parts)!r} instead.")  # fmt: skip
    started = time.perf_counter()
    left = load(synthetic, synthetic_table, roles)
    table_name = left.name.rsplit(":", 1)[-1] if ":" in left.name else None
    right = load(real, real_table or _table_in(real, table_name))
    frame = _mapped(right, left, mapping)
    kinds = _columns(frame, left, right.name)
    roles_ = left.roles
    compared = {n: k for n, k in kinds.items() if n not in roles_.keys}
    if target is not None and target not in compared:
        raise ConfigError(f"The target {target!r} is not a compared column of both tables; "
                          f"they are: {', '.join(compared)}.")  # fmt: skip
    empty = {"column_shapes": ["column", "kind", "metric", "score"],
             "column_pair_trends": ["column_1", "column_2", "metric", "score",
                                    "real_correlation", "synthetic_correlation"],
             "event_structure": ["measure", "metric", "score", "real_median",
                                 "synthetic_median"]}  # fmt: skip
    frames = {part: pd.DataFrame(columns=columns) for part, columns in empty.items()}
    plots: dict[str, Any] = {"columns": {}}
    rows: dict[str, Any] = {"synthetic": len(left.frame), "real": len(frame)}
    whole = {"synthetic": len(left.frame), "real": len(frame)}
    found = private = None
    entities = tuple(e for e in roles_.entities if e in kinds)
    with progress_bar("compare", len(parts), "parts", progress) as advance:
        if "column_shapes" in parts:
            frames["column_shapes"] = _shapes(frame, left.frame, compared, plots["columns"])
            rows["column_shapes"] = whole
            advance(1)
        if "column_pair_trends" in parts:
            # One seed for both samples: tables of equal length are sampled at the same rows.
            samples = [_sample(f[list(compared)], settings["sample_rows"],
                               stream(seed, 0, "compare-pairs")) for f in (frame, left.frame)]
            frames["column_pair_trends"] = _pairs(*samples, compared)
            rows["column_pair_trends"] = {"synthetic": len(samples[1]), "real": len(samples[0])}
            advance(1)
        if "event_structure" in parts:
            if roles_.time in kinds:
                profiles = [Profile.of(f, roles_.time, entities) for f in (frame, left.frame)]
                frames["event_structure"] = event_structure(*profiles)
                plots["structure"] = _structure_plots(*profiles)
                rows["event_structure"] = whole
            advance(1)
        if "utility" in parts:
            if target is not None:
                features = [c for c in compared if c != target and c not in
                            {*roles_.labels, *roles_.label_details}]  # fmt: skip
                found = utility(frame, left.frame, target, features,
                                entity_codes(frame, entities), settings["sample_rows"],
                                stream(seed, 0, "compare-utility"))  # fmt: skip
                rows["utility"] = {"train_real": found.train_rows_real,
                                   "train_synthetic": found.train_rows_synthetic,
                                   "test_real": found.test_rows}  # fmt: skip
            advance(1)
        if "privacy" in parts:
            private = privacy(frame, left.frame, list(compared), settings["sample_rows"] // 2,
                              stream(seed, 0, "compare-privacy"))  # fmt: skip
            rows["privacy"] = {"exact_copies": whole,
                               "distance_to_closest_record": private.rows}
            plots["privacy"] = {"synthetic": private.dcr_synthetic.tolist(),
                                "holdout": private.dcr_holdout.tolist()}
            advance(1)
    scores = {part: float(frames[part]["score"].mean()) for part in empty
              if part in rows and len(frames[part])}  # fmt: skip
    if found is not None and np.isfinite(found.score):
        scores["utility"] = found.score
    if scores:
        scores["overall"] = float(np.mean(list(scores.values())))
    if private is not None:
        scores["privacy"] = private.score
    settings |= {"mapping": dict(mapping or {}), "target": target, "parts": list(parts),
                 "columns": compared, "roles": roles_.to_dict()}  # fmt: skip
    return CompareReport(
        left.name, right.name, scores, frames["column_shapes"], frames["column_pair_trends"],
        frames["event_structure"], None if found is None else asdict(found),
        None if private is None else {
            "exact_copy_share": private.exact_copy_share,
            "dcr_synthetic_median": _median(private.dcr_synthetic),
            "dcr_holdout_median": _median(private.dcr_holdout),
            "dcr_ratio": private.dcr_ratio, "score": private.score},
        rows, plots, settings, time.perf_counter() - started,
    )  # fmt: skip


def _median(values: np.ndarray) -> float | None:
    return float(np.median(values)) if len(values) else None


def _table_in(source: Source, name: str | None) -> str | None:
    """``name`` if ``source`` is a dataset holding a table of that name, else ``None``."""
    from simulations.datasets import read_manifest
    from simulations.eventlog import is_dataset

    if name is None or isinstance(source, pd.DataFrame) or not is_dataset(source):
        return None
    return name if name in read_manifest(source)["tables"] else None


def _structure_plots(real: Profile, synthetic: Profile) -> dict[str, Any]:
    return {
        "hours": {"real": real.hours.tolist(), "synthetic": synthetic.hours.tolist()},
        "weekdays": {"real": real.weekdays.tolist(), "synthetic": synthetic.weekdays.tolist()},
        "per_entity": {"real": _quantiles(np.sort(real.per_entity)),
                       "synthetic": _quantiles(np.sort(synthetic.per_entity))},
        "gaps": {"real": _quantiles(np.sort(real.gaps)),
                 "synthetic": _quantiles(np.sort(synthetic.gaps))},
    }  # fmt: skip
