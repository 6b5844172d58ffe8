"""The HTML page of ``compare``: self-contained, well formed, escaped, one PNG per plot."""

import base64
import dataclasses
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from calibration.fidelity.compare import compare
from calibration.fidelity.report import write_html
from simulations.roles import TableRoles

SCRIPT = "<script>alert(1)</script>"
VOID = {"meta", "img", "br", "hr", "link", "input", "col"}


def _frame(seed: int, rows: int = 2000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2025-01-01")
    amount = rng.lognormal(3, 1.5, rows)
    return pd.DataFrame({
        "account": rng.integers(0, 150, rows),
        "when": start + pd.to_timedelta(np.sort(rng.uniform(0, 30 * 86400, rows)), unit="s"),
        "amount": amount,
        "kind": rng.choice(["card", "transfer", "cash & co"], rows, p=[0.6, 0.3, 0.1]),
        "flag": (amount > 60) ^ (rng.random(rows) < 0.1),  # predictable: utility is scored
        SCRIPT: rng.choice(["a", "b"], rows),
    })  # fmt: skip


class _Page(HTMLParser):
    """Checks that every element is closed in order; collects the text."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()

    def handle_data(self, data):
        self.text.append(data)


def _check_page(path) -> tuple[str, str, int]:
    """The page, its text and how many PNGs it embeds; asserts it parses and every PNG is
    one."""
    page = path.read_text(encoding="utf-8")
    parser = _Page()
    parser.feed(page)
    parser.close()
    assert parser.open == []
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == page.count("data:image/png;base64,")
    for data in images:
        assert base64.b64decode(data, validate=True).startswith(b"\x89PNG\r\n\x1a\n")
    assert "http://" not in page and "https://" not in page and "<script" not in page
    return page, " ".join(parser.text), len(images)


@pytest.fixture(scope="module")
def full_report():
    report = compare(_frame(1), _frame(2), target="flag",
                     roles=TableRoles(entities=("account",), time="when"))  # fmt: skip
    return dataclasses.replace(report, synthetic="synthetic <A&B>", real='real "R"')


def test_page_has_every_part_escaped_and_one_png_per_plot(full_report, tmp_path):
    assert set(full_report.scores) >= {"event_structure", "utility", "privacy", "overall"}
    assert full_report.pairs["real_correlation"].notna().any()
    path = tmp_path / "report.html"
    write_html(full_report, path)
    page, text, images = _check_page(path)
    # scores, shape bars, worst-column grid, pair scores, correlations, structure, privacy
    assert images == 7
    assert "synthetic &lt;A&amp;B&gt;" in page and "real &quot;R&quot;" in page
    assert "<A&B>" not in page
    for name in full_report.shapes["column"]:
        assert name in text
    assert set(full_report.shapes["column"]) == {"when", "amount", "kind", "flag", SCRIPT}
    assert SCRIPT not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    for heading in ("synthsim compare", "Scores", "Column shapes", "Column pair trends",
                    "Event-log structure", "Utility", "Privacy", "How to read this report"):
        assert heading in text
    assert "below 1, synthetic rows sit closer to real rows than real rows sit to each" in text


def test_report_without_structure_or_utility_renders(tmp_path):
    report = compare(_frame(3).drop(columns="when"), _frame(4).drop(columns="when"),
                     roles=TableRoles(entities=("account",)))  # fmt: skip
    assert report.utility is None and "structure" not in report.plot_data
    path = tmp_path / "plain.html"
    report.to_html(path)
    page, text, images = _check_page(path)
    # scores, shape bars, worst-column grid, pair scores, privacy (one numeric: no correlations)
    assert images == 5
    assert "<h2>Event-log structure" not in page and "<h2>Utility" not in page
    for name in report.shapes["column"]:
        assert name in text


def test_nan_scores_and_empty_parts_show_as_not_available(full_report, tmp_path):
    empty_pairs = full_report.pairs.iloc[:0]
    shapes = full_report.shapes.assign(score=np.nan)
    plots = {"columns": {name: {**data, "real": [], "synthetic": []} if "categories" not in data
                         else data for name, data in full_report.plot_data["columns"].items()},
             "privacy": {"synthetic": [], "holdout": []}}  # fmt: skip
    report = dataclasses.replace(
        full_report, scores={"column_shapes": np.nan, "overall": np.nan, "privacy": np.nan},
        shapes=shapes, pairs=empty_pairs, structure=full_report.structure.iloc[:0],
        utility=None, plot_data=plots,
        privacy=dict.fromkeys(full_report.privacy, None))  # fmt: skip
    path = tmp_path / "degenerate.html"
    write_html(report, path)
    page, text, images = _check_page(path)
    assert images == 3  # scores, shape bars, worst-column grid
    assert "n/a" in text and not re.search(r"\bnan\b", text, re.IGNORECASE)
    assert "<h2>Column pair trends" not in page and "<h2>Event-log structure" not in page
