"""Terminal rendering of audit and comparison reports (rich tables)."""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from calibration.fidelity.audit import AuditReport
from calibration.fidelity.compare import CompareReport

__all__ = ["print_audit", "print_compare"]


def _label(row) -> str:
    return row.label if row.value == "True" else f"{row.label}={row.value}"


def _interval(row, metric: str = "roc_auc") -> str:
    value, low, high = (getattr(row, metric + end) for end in ("", "_low", "_high"))
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"


def _rules_table(title: str, rules: pd.DataFrame) -> RichTable:
    table = RichTable(title=Text(title), title_justify="left")
    for column in ("label", "where", "rule", "precision", "recall", "rows (labelled/selected)"):
        table.add_column(column, justify="right" if column in ("precision", "recall") else "left")
    for row in rules.itertuples():
        style = "red" if row.flagged else None
        table.add_row(Text(_label(row)), Text(row.stratum), Text(row.rule),
                      Text(f"{row.precision:.3f}", style=style), f"{row.recall:.3f}",
                      f"{row.positives:,}/{row.support:,}")  # fmt: skip
    return table


def print_audit(report: AuditReport, console: Console | None = None, show: int = 25) -> None:
    """Print ``report``: flagged rules (at most ``show``), the best rule per label value,
    learnability and leakage."""
    console = console or Console(width=200, highlight=False)
    settings = report.settings
    console.print(Text(f"audit of {report.table}: {report.rows:,} rows; models on "
                       f"{report.model_rows:,} rows (every labelled row and a weighted "
                       f"sample of the rest), {settings['folds']} folds grouped by case and "
                       f"entity",
                       style="bold"))  # fmt: skip
    flagged = report.flagged
    criterion = (f"precision >= {settings['min_precision']} at recall >= "
                 f"{settings['min_recall']} on >= {settings['min_positives']} labelled rows "
                 f"from >= {settings['min_groups']} cases")
    if flagged.empty:
        console.print(Text(f"No single-feature rule gives a label away ({criterion}).",
                           style="green"))  # fmt: skip
    else:
        console.print(_rules_table(f"{len(flagged)} shortcut rules flagged ({criterion})",
                                   flagged.head(show)))  # fmt: skip
        if len(flagged) > show:
            console.print(f"... and {len(flagged) - show} more (--json for all)")
    best = report.shortcuts.drop_duplicates(["label", "value"])
    if not best.empty:
        console.print(_rules_table("best single-feature rule per label value", best))
    learn = RichTable(title=Text("learnability: gradient boosting on behavioural features "
                                 "(ROC-AUC with simultaneous 95% interval)"),
                      title_justify="left")  # fmt: skip
    rates = [c for c in report.learnability.columns if c.startswith("recall_at_fpr_")]
    for column in ("label", "rows", "groups", "prevalence", "ROC-AUC",
                   "ROC-AUC within its event types", "PR-AUC",
                   *(f"recall at {float(c.rsplit('_', 1)[1]):.1%} FPR" for c in rates)):
        learn.add_column(column, justify="left" if column == "label" else "right")
    for row, recalls in zip(report.learnability.itertuples(),
                            report.learnability[rates].to_numpy(), strict=True):
        learn.add_row(Text(_label(row)), f"{row.positives:,}", f"{row.labelled_groups:,}",
                      f"{row.prevalence:.4%}", _interval(row),
                      _interval(row, "roc_auc_within_types"), f"{row.pr_auc:.3f}",
                      *(f"{r:.3f}" for r in recalls))  # fmt: skip
    console.print(learn)
    leak = RichTable(title=Text("leakage: the same model on identifiers alone (chance is 0.5)"),
                     title_justify="left")  # fmt: skip
    for column in ("label", "ROC-AUC", "verdict"):
        leak.add_column(column)
    for row in report.leakage.itertuples():
        verdict = Text("leak", style="red") if row.leak else Text("no better than chance")
        if not row.leak and row.labelled_groups < report.settings["folds"]:
            verdict = Text("too few independent groups to tell")
        leak.add_row(Text(_label(row)), _interval(row), verdict)
    console.print(leak)
    if settings["values_not_audited"]:
        console.print(Text("not audited: " + "; ".join(settings["values_not_audited"])))


def _score(value) -> str:
    return "n/a" if value is None or value != value else f"{value:.3f}"


def print_compare(report: CompareReport, console: Console | None = None, worst: int = 8) -> None:
    """Print ``report``: part scores with the rows each used, then the ``worst`` columns and
    pairs, event-log structure, utility and privacy."""
    console = console or Console(width=200, highlight=False)
    console.print(Text(f"compare {report.synthetic} ({report.rows['synthetic']:,} rows) with "
                       f"{report.real} ({report.rows['real']:,} rows)", style="bold"))
    parts = RichTable(title=Text("scores (1 = indistinguishable)"), title_justify="left")
    for column in ("part", "score", "rows used (synthetic / real)"):
        parts.add_column(column)
    for part, value in report.scores.items():
        used = report.rows.get(part)
        if isinstance(used, dict) and "synthetic" in used:
            used = f"{used['synthetic']:,} / {used['real']:,}"
        elif isinstance(used, dict):
            used = "; ".join(f"{k}: {v:,}" if isinstance(v, int) else
                             f"{k}: {', '.join(f'{a} {b:,}' for a, b in v.items())}"
                             for k, v in used.items())  # fmt: skip
        name = f"{part} (not in overall)" if part == "privacy" else part
        parts.add_row(Text(name, style="bold" if part == "overall" else None),
                      _score(value), Text(str(used or "")))  # fmt: skip
    console.print(parts)
    for title, frame, columns in (
        ("worst columns", report.shapes.sort_values("score").head(worst),
         ["column", "kind", "metric", "score"]),
        ("worst column pairs", report.pairs.sort_values("score").head(worst),
         ["column_1", "column_2", "metric", "score"]),
        ("event-log structure", report.structure,
         ["measure", "metric", "score", "real_median", "synthetic_median"]),
    ):  # fmt: skip
        if frame.empty:
            continue
        table = RichTable(title=Text(title), title_justify="left")
        for column in columns:
            table.add_column(column)
        for row in frame[columns].itertuples(index=False):
            table.add_row(*(Text(_score(v) if isinstance(v, float) else str(v)) for v in row))
        console.print(table)
    if report.utility:
        u = report.utility
        console.print(f"utility ({u['target']}, {u['metric']}): train real {_score(u['trtr'])}, "
                      f"train synthetic {_score(u['tstr'])}, tested on {u['test_rows']:,} "
                      f"held-out real rows -> score {_score(u['score'])}")
    p = report.privacy
    if p is None:
        return
    console.print(f"privacy: {p['exact_copy_share']:.2%} of synthetic rows copy a real row; "
                  f"distance to closest record, synthetic / real holdout median = "
                  f"{_score(p['dcr_ratio'])} (below 1: closer to real rows than real rows are "
                  f"to each other)")
