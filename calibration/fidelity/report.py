"""The HTML page of a :class:`~calibration.fidelity.compare.CompareReport`.

One self-contained file: inline CSS, no JavaScript, every plot a matplotlib figure rendered
with the Agg backend and embedded as a base64 PNG. Figures are built from
:class:`matplotlib.figure.Figure` directly, so no pyplot state is touched. Every piece of text
taken from the report is escaped; NaN or missing numbers read ``n/a``.
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

__all__ = ["write_html"]

REAL, SYNTHETIC = "#1f77b4", "#ff7f0e"
_PARTS = ("column_shapes", "column_pair_trends", "event_structure", "utility", "overall",
          "privacy")  # fmt: skip
_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
h1{margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .6em}
th{background:#f3f3f3;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;display:block;margin:1em 0}.muted{color:#666}"""
_HOW = (
    "Every score is a similarity in [0, 1]: 1 means the two tables are indistinguishable on "
    "that measure. Column shapes compare each column alone: the KS complement for numbers and "
    "dates, the TV complement for categories, as SDMetrics defines them. Column pair trends "
    "compare relations between two columns (correlations or contingency tables), and event-log "
    "structure compares the rhythms of the log (hours, weekdays, events per entity, time "
    "between events). Utility compares a model trained on the synthetic table with one trained "
    "on the real table, both tested on real rows. Privacy stands apart from overall because a "
    "perfect copy is perfectly faithful and not private at all."
)


def _e(value: Any) -> str:
    return html.escape(str(value))


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float | np.floating) and math.isnan(value))


def _score(value: Any, digits: int = 3) -> str:
    """A number with ``digits`` decimals (thousands separated), ``n/a`` if missing."""
    return "n/a" if _missing(value) else f"{float(value):,.{digits}f}"


def _label(text: Any, width: int = 24) -> str:
    """Text for a matplotlib label: shortened, and ``$`` kept literal (not mathtext)."""
    text = str(text)
    return (text if len(text) <= width else text[: width - 1] + "…").replace("$", r"\$")


def _rows_text(value: Any) -> str:
    """Rows a part used (ints or nested dicts of ints), as one line."""
    if isinstance(value, dict):
        parts = [f"{k.replace('_', ' ')} " + (f"({_rows_text(v)})" if isinstance(v, dict)
                 else _rows_text(v)) for k, v in value.items()]  # fmt: skip
        return ", ".join(parts)
    return "n/a" if _missing(value) else f"{int(value):,}"


def _table(headers: list[str], rows: list[list[Any]], numeric: tuple[int, ...] = ()) -> str:
    """An HTML table; cells are escaped, columns in ``numeric`` right-aligned."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f'<td class="n">{_e(c)}</td>' if i in numeric
                                    else f"<td>{_e(c)}</td>" for i, c in enumerate(row))
                   + "</tr>" for row in rows)  # fmt: skip
    return f"<table><tr>{head}</tr>{body}</table>"


def _png(fig: Figure, alt: str) -> str:
    """The figure as an embedded PNG ``<img>``; the figure is cleared afterwards."""
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    fig.clear()
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _cdf(ax, real: list[float], synthetic: list[float], kind: str = "numeric",
         log: bool = False) -> None:  # fmt: skip
    """Both empirical CDFs from their quantiles. The x axis is logarithmic when forced or when
    the values span more than 3 decades; symlog if some are <= 0, and then the span is taken
    from the 5th percentile of the magnitudes, so a bell around 0 stays linear."""
    curves = [(np.asarray(q, dtype=float), n, c) for q, n, c in
              ((real, "real", REAL), (synthetic, "synthetic", SYNTHETIC)) if len(q)]  # fmt: skip
    if not curves:
        ax.text(0.5, 0.5, "no values", ha="center", transform=ax.transAxes)
        return
    for values, name, colour in curves:
        x = pd.to_datetime(values, unit="ns").to_numpy() if kind == "datetime" else values
        ax.plot(x, np.linspace(0, 1, len(values)), color=colour, label=name, lw=1.5)
    values = np.concatenate([v for v, _, _ in curves])
    magnitudes = np.abs(values[values != 0])
    signed = (values <= 0).any()
    if kind == "datetime":
        ax.tick_params(axis="x", labelrotation=30)
    elif len(magnitudes) and (log or magnitudes.max() > 1000 * (
            np.quantile(magnitudes, 0.05) if signed else magnitudes.min())):  # fmt: skip
        if signed:  # linear near 0, over at most 4 decades below the largest magnitude
            ax.set_xscale("symlog", linthresh=max(magnitudes.min(), magnitudes.max() / 1e4))
        else:
            ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # decades only: minor labels collide
    ax.tick_params(labelsize=7)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, frameon=False)


def _bars(ax, categories: list[Any], real: list[float], synthetic: list[float]) -> None:
    """Side-by-side bars of the category shares."""
    x = np.arange(len(categories))
    ax.bar(x - 0.2, real, 0.4, color=REAL, label="real")
    ax.bar(x + 0.2, synthetic, 0.4, color=SYNTHETIC, label="synthetic")
    ax.set_xticks(x, [_label(c, 14) for c in categories], rotation=45, ha="right")
    ax.set_ylim(0, 1.3 * max([*real, *synthetic, 0.01]))  # room for the legend
    ax.tick_params(labelsize=7)
    ax.set_ylabel("share")
    ax.legend(fontsize=8, frameon=False)


def _hbars(labels: list[str], values: list[float], title: str, colours: list[str] | None = None,
           hatches: list[str | None] | None = None) -> tuple[Figure, Any]:  # fmt: skip
    """Horizontal bars of scores on a 0..1 axis, first on top, each with its value (n/a for
    NaN, drawn as an empty bar)."""
    fig = Figure(figsize=(7, 0.8 + 0.32 * len(values)))
    ax = fig.add_subplot()
    for i, value in enumerate(values):
        ax.barh(i, 0 if _missing(value) else value, color=(colours or [REAL] * len(values))[i],
                hatch=(hatches or [None] * len(values))[i])  # fmt: skip
        x = 0.01 if _missing(value) else min(float(value) + 0.01, 0.93)
        ax.text(x, i, _score(value), va="center", fontsize=8)
    ax.set_yticks(range(len(values)), [_label(n, 32) for n in labels], fontsize=8)
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_title(title)
    return fig, ax


def _scores(report) -> str:
    present = [p for p in _PARTS if p in report.scores]
    rows = [[p.replace("_", " "), _score(report.scores[p]),
             "n/a" if p == "overall" else _rows_text(report.rows.get(p))] for p in present]
    fig, ax = _hbars(
        ["privacy (not part of overall)" if p == "privacy" else p.replace("_", " ")
         for p in present], [report.scores[p] for p in present], "Scores (1: indistinguishable)",
        [{"overall": "#2ca02c", "privacy": "#aaaaaa"}.get(p, REAL) for p in present],
        ["//" if p == "privacy" else None for p in present])  # fmt: skip
    for tick, part in zip(ax.get_yticklabels(), present, strict=True):
        tick.set_fontweight("bold" if part == "overall" else "normal")
    if "privacy" in present and len(present) > 1:
        ax.axhline(present.index("privacy") - 0.5, color="#444", ls="--", lw=1)
    return ("<h2>Scores</h2>" + _table(["part", "score", "rows used"], rows, (1,))
            + _png(fig, "scores"))


def _shapes(report) -> str:
    frame = report.shapes.sort_values("score", na_position="last")
    if frame.empty:
        return ""
    fig, _ = _hbars(list(frame["column"]), list(frame["score"]), "Column shape scores")
    out = "<h2>Column shapes</h2>" + _png(fig, "column shapes")
    columns = report.plot_data.get("columns", {})
    worst = [c for c in frame["column"] if c in columns][:9]
    if worst:
        ncols = min(3, len(worst))
        nrows = math.ceil(len(worst) / ncols)
        fig = Figure(figsize=(4.2 * ncols, 3.2 * nrows), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax, name in zip(axes, worst, strict=False):
            data = columns[name]
            if "categories" in data:
                _bars(ax, data["categories"], data["real"], data["synthetic"])
            else:
                _cdf(ax, data["real"], data["synthetic"], data["kind"])
            ax.set_title(_label(name, 40), fontsize=9)
        for ax in axes[len(worst):]:
            ax.set_axis_off()
        out += _png(fig, "worst columns")
    return out


def _matrix(pairs: pd.DataFrame, value: str, names: list[str], diagonal: float) -> np.ndarray:
    index = {n: i for i, n in enumerate(names)}
    matrix = np.full((len(names), len(names)), np.nan)
    np.fill_diagonal(matrix, diagonal)
    for a, b, v in pairs[["column_1", "column_2", value]].itertuples(index=False):
        matrix[index[a], index[b]] = matrix[index[b], index[a]] = v
    return matrix


def _heatmap(ax, matrix: np.ndarray, names: list[str], vmin: float, vmax: float, cmap: str):
    """A square matrix over ``names`` (missing cells grey; values written when few)."""
    image = ax.imshow(np.ma.masked_invalid(matrix), vmin=vmin, vmax=vmax,
                      cmap=colormaps[cmap].with_extremes(bad="#eeeeee"))  # fmt: skip
    if len(names) <= 12:
        for (i, j), value in np.ndenumerate(matrix):
            if np.isfinite(value) and i != j:
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6)
    size = 8 if len(names) <= 15 else 5
    ax.set_xticks(range(len(names)), [_label(n) for n in names], rotation=90, fontsize=size)
    ax.set_yticks(range(len(names)), [_label(n) for n in names], fontsize=size)
    return image


def _pairs(report) -> str:
    pairs = report.pairs
    if pairs.empty:
        return ""
    names = list(dict.fromkeys([*pairs["column_1"], *pairs["column_2"]]))
    side = 2 + 0.35 * len(names)
    fig = Figure(figsize=(side + 1, side), layout="constrained")
    ax = fig.add_subplot()
    fig.colorbar(_heatmap(ax, _matrix(pairs, "score", names, np.nan), names, 0, 1, "viridis"),
                 ax=ax, label="pair score")  # fmt: skip
    ax.set_title("Column pair trend scores")
    out = "<h2>Column pair trends</h2>" + _png(fig, "pair scores")
    numeric = pairs.dropna(subset=["real_correlation", "synthetic_correlation"])
    names = list(dict.fromkeys([*numeric["column_1"], *numeric["column_2"]]))
    if len(names) >= 2:
        side = 2 + 0.35 * len(names)
        fig = Figure(figsize=(2 * side + 1, side), layout="constrained")
        axes = fig.subplots(1, 2)
        for ax, which in zip(axes, ("real", "synthetic"), strict=True):
            image = _heatmap(ax, _matrix(numeric, f"{which}_correlation", names, 1.0), names,
                             -1, 1, "RdBu_r")  # fmt: skip
            ax.set_title(f"{which} correlations")
        fig.colorbar(image, ax=list(axes), label="correlation")
        out += _png(fig, "correlations")
    worst = pairs.sort_values("score", na_position="last").head(10)
    rows = [[r.column_1, r.column_2, r.metric, _score(r.score), _score(r.real_correlation),
             _score(r.synthetic_correlation)] for r in worst.itertuples(index=False)]
    return out + "<h3>Worst pairs</h3>" + _table(
        ["column 1", "column 2", "metric", "score", "real correlation",
         "synthetic correlation"], rows, (3, 4, 5))  # fmt: skip


def _structure(report) -> str:
    data = report.plot_data.get("structure")
    if not data:
        return ""
    fig = Figure(figsize=(11, 7), layout="constrained")
    (hours, days), (entity, gaps) = fig.subplots(2, 2)
    for ax, key, title in ((hours, "hours", "Hour of day"), (days, "weekdays", "Weekday")):
        for name, colour in (("real", REAL), ("synthetic", SYNTHETIC)):
            shares = data.get(key, {}).get(name, [])
            ax.plot(range(len(shares)), shares, marker="o", ms=3, color=colour, label=name)
        ax.set(ylabel="share of events", title=title)
        ax.legend(fontsize=8, frameon=False)
    days.set_xticks(range(7), ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])
    for ax, key, title in ((entity, "per_entity", "Events per entity"),
                           (gaps, "gaps", "Time between an entity's events (seconds)")):
        _cdf(ax, data.get(key, {}).get("real", []), data.get(key, {}).get("synthetic", []),
             log=True)  # fmt: skip
        ax.set_title(title)
    out = "<h2>Event-log structure</h2>" + _png(fig, "event-log structure")
    rows = [[r.get("measure"), r.get("metric"), _score(r.get("score")),
             _score(r.get("real_median"), 1), _score(r.get("synthetic_median"), 1)]
            for r in report.structure.to_dict("records")]  # fmt: skip
    if rows:
        out += _table(["measure", "metric", "score", "real median", "synthetic median"],
                      rows, (2, 3, 4))  # fmt: skip
    return out


def _utility(report) -> str:
    u = report.utility
    if not u:
        return ""
    rows = _rows_text({"train real": u.get("train_rows_real"), "test real": u.get("test_rows"),
                       "train synthetic": u.get("train_rows_synthetic")})
    cells = [u.get("metric"), *(_score(u.get(k)) for k in ("trtr", "tstr", "score")), rows]
    return (f"<h2>Utility: predicting {_e(u.get('target'))}</h2>"
            + _table(["metric", "TRTR", "TSTR", "score", "rows"], [cells], (1, 2, 3)))


def _privacy(report) -> str:
    p, data = report.privacy, report.plot_data.get("privacy", {})
    if p is None:
        return ""
    keys = ("exact_copy_share", "dcr_synthetic_median", "dcr_holdout_median", "dcr_ratio",
            "score")  # fmt: skip
    out = "<h2>Privacy</h2>" + _table(
        ["exact-copy share", "DCR median, synthetic", "DCR median, holdout", "DCR ratio",
         "score"], [[_score(p.get(k)) for k in keys]], (0, 1, 2, 3, 4))  # fmt: skip
    out += ("<p>DCR is each row's distance to its closest real record. The DCR ratio is the "
            "synthetic median over the holdout median: below 1, synthetic rows sit closer to "
            "real rows than real rows sit to each other.</p>")
    samples = [(v[np.isfinite(v)], k, c) for k, c in (("synthetic", SYNTHETIC), ("holdout", REAL))
               if np.isfinite(v := np.asarray(data.get(k, []), dtype=float)).any()]
    if samples:
        bins = np.histogram_bin_edges(np.concatenate([v for v, _, _ in samples]), bins=40)
        fig = Figure(figsize=(7, 3.5))
        ax = fig.add_subplot()
        for values, name, colour in samples:
            ax.hist(values, bins=bins, weights=np.full(len(values), 1 / len(values)),
                    color=colour, alpha=0.55, label=f"{name} rows")  # fmt: skip
        ax.set_xlabel("distance to closest real record")
        ax.set_ylabel("share of rows")
        ax.legend(fontsize=8, frameon=False)
        out += _png(fig, "distance to closest record")
    return out


def write_html(report, path: Path) -> None:
    """Write ``report`` (a :class:`~calibration.fidelity.compare.CompareReport`) to ``path``
    as one self-contained HTML page."""
    rows = report.rows
    header = (f"<h1>synthsim compare</h1><p>synthetic: <b>{_e(report.synthetic)}</b> "
              f"({_rows_text(rows.get('synthetic'))} rows)<br>real: <b>{_e(report.real)}</b> "
              f"({_rows_text(rows.get('real'))} rows)</p><p class=\"muted\">"
              f"{report.seconds:.1f} seconds</p>")  # fmt: skip
    sections = [header, _scores(report), _shapes(report), _pairs(report), _structure(report),
                _utility(report), _privacy(report),
                f"<h2>How to read this report</h2><p>{_e(_HOW)}</p>"]  # fmt: skip
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>synthsim compare: {_e(report.synthetic)}</title><style>{_CSS}</style>"
            f"</head><body>{''.join(sections)}</body></html>\n")  # fmt: skip
    Path(path).write_text(page, encoding="utf-8")
