"""An overview figure of a patients dataset: arrivals, waits, stays, utilisation, harms.

Everything is computed column-wise from the dataset's ``events``, ``patients`` and
``resources`` tables (Parquet or CSV parts), so it scales to logs of millions of events.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from scenarios.patients.arrivals import default_arrival_profile
from scenarios.patients.eventlog import COLUMNS
from scenarios.patients.pathway import DEFAULT_PATHWAY, DETERIORATION, load_pathway
from simulations.datasets import read_manifest, read_table

__all__ = ["overview_figure", "waiting_times"]

_CASE, _CONCEPT, _TIME, _RESOURCE, _LIFE = COLUMNS
_MINUTE = np.timedelta64(60_000, "ms")
#: The NHS England A&E standard: admitted, transferred or discharged within four hours.
_FOUR_HOURS = 4.0


def _categorical(s: pd.Series) -> pd.Series:
    """``s`` as a categorical (CSV parts read back as strings; first-seen category order)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s
    return s.astype(pd.CategoricalDtype(pd.unique(s.dropna())))


def _wall_clock(values: pd.Series, zone: str | None) -> pd.Series:
    """Time-zone-aware times as naive local wall-clock times of ``zone`` (or of their own
    zone), so that days and hours are the hospital's; naive times are kept."""
    if getattr(values.dt, "tz", None) is None:
        return values
    return (values.dt.tz_convert(zone) if zone else values).dt.tz_localize(None)


def _steady_clock(values: pd.Series, zone: str | None) -> pd.Series:
    """Time-zone-aware times as naive times that keep every duration exact (waits across a
    clock change): UTC shifted by the zone's offset at the earliest time; naive times are
    kept."""
    if getattr(values.dt, "tz", None) is None or not len(values):
        return values
    first = values.min()
    offset = _wall_clock(pd.Series([first]), zone)[0] - first.tz_convert("UTC").tz_localize(None)
    return values.dt.tz_convert("UTC").dt.tz_localize(None) + offset


def _in_order(names, order) -> list:
    """``names`` sorted by their place in ``order`` (names not in it last, as given)."""
    rank = {name: k for k, name in enumerate(order)}
    return sorted(names, key=lambda name: rank.get(name, len(rank)))


def waiting_times(events: pd.DataFrame) -> pd.DataFrame:
    """Queueing delay of every started activity that holds a resource.

    The k-th ``start`` of an activity within a case is paired with the k-th ``schedule``
    of that activity within that case; schedules never started (the patient left, died or
    the run ended) have no wait.

    Returns
    -------
    pandas.DataFrame
        ``activity`` and ``resource`` (categoricals) and ``wait_minutes`` (float), one row
        per started activity with a resource.
    """
    life = _categorical(events[_LIFE])
    lc = life.cat.codes.to_numpy()
    cats = list(life.cat.categories)
    schedule = lc == (cats.index("schedule") if "schedule" in cats else -2)
    unit = _categorical(events[_RESOURCE])
    start = (lc == (cats.index("start") if "start" in cats else -2)) & (
        unit.cat.codes.to_numpy() >= 0
    )
    concept = _categorical(events[_CONCEPT])
    cc = concept.cat.codes.to_numpy().astype(np.int64)
    case = _categorical(events[_CASE]).cat.codes.to_numpy().astype(np.int64)
    key = case * max(len(concept.cat.categories), 1) + cc
    t = events[_TIME].to_numpy().astype("datetime64[ms]")

    def numbered(mask: np.ndarray) -> pd.DataFrame:
        k = pd.Series(key[mask])
        return pd.DataFrame({"key": k, "k": k.groupby(k.to_numpy()).cumcount(),
                             "t": t[mask], "row": mask.nonzero()[0]})  # fmt: skip

    paired = numbered(start).merge(numbered(schedule), on=["key", "k"], suffixes=("", "_s"))
    rows = paired["row"].to_numpy()
    # A unit "triage_nurse-2" belongs to the resource "triage_nurse".
    owner = unit.cat.categories.str.replace(r"-\d+$", "", regex=True)
    owners = pd.unique(owner)
    owner_code = pd.Index(owners).get_indexer(owner)
    return pd.DataFrame({
        "activity": pd.Categorical.from_codes(cc[rows], concept.cat.categories),
        "resource": pd.Categorical.from_codes(
            owner_code[unit.cat.codes.to_numpy()[rows]], owners),
        "wait_minutes": (paired["t"].to_numpy() - paired["t_s"].to_numpy()) / _MINUTE,
    })  # fmt: skip


def _window(dataset: Path, patients: pd.DataFrame) -> tuple[pd.Timestamp, int]:
    """Start and length in days of the arrival window (from the manifest when it has it)."""
    run = read_manifest(dataset).get("config", {}).get("run", {})
    if "start_date" in run and "days" in run:
        return pd.Timestamp(run["start_date"]), int(run["days"])
    first = patients["arrival"].min().floor("D")
    return first, int((patients["arrival"].max() - first) / pd.Timedelta(days=1)) + 1


def _outcome_colours(outcomes) -> dict[str, tuple]:
    import matplotlib

    palette = matplotlib.colormaps["tab10"].colors
    fixed = {"discharged": palette[2], "discharged_from_ward": palette[0],
             "left_without_being_seen": palette[1], "died": palette[3]}  # fmt: skip
    spare = iter(palette[4:] * 4)
    return {o: fixed.get(o) or next(spare) for o in outcomes}


def _arrivals_panel(ax, patients: pd.DataFrame) -> None:
    first = patients.loc[patients["readmission_of"].isna(), "arrival"]
    observed = np.bincount(first.dt.hour.to_numpy(), minlength=24)[:24]
    expected = default_arrival_profile().hour_shares * observed.sum()
    hours = np.arange(24)
    ax.bar(hours, observed, width=0.8, color="tab:blue", alpha=0.7,
           label=f"observed first visits (n={observed.sum():,})")  # fmt: skip
    ax.step(np.append(hours, 24) - 0.5, np.append(expected, expected[-1]), where="post",
            color="black", lw=1.5, label="expected: NHS England A&E profile")  # fmt: skip
    ax.set(title="Arrivals by hour of day (first visits)", xlabel="hour of day (h)",
           ylabel="arrivals (patients)", xticks=range(0, 24, 3), xlim=(-0.6, 23.6))  # fmt: skip
    ax.legend(fontsize="small", loc="upper left")


def _waiting_panel(ax, events: pd.DataFrame, activities: tuple[str, ...]) -> None:
    waits = waiting_times(events)
    groups = waits.groupby("activity", observed=True, sort=True)
    q = groups["wait_minutes"].quantile([0.5, 0.9, 0.99]).unstack()
    q = q.loc[_in_order(q.index, activities)]
    n = groups.size()
    resource = groups["resource"].first()
    waited = (waits["wait_minutes"] > 0).groupby(waits["activity"], observed=True).mean()
    mean = groups["wait_minutes"].mean()[q.index]
    y = np.arange(len(q))[::-1]
    ax.barh(y + 0.2, q[0.5], height=0.4, color="tab:blue", label="median")
    ax.barh(y - 0.2, q[0.9], height=0.4, color="tab:orange", label="90th percentile")
    ax.plot(q[0.99], y, "k|", ms=12, mew=2, label="99th percentile")
    ax.plot(mean, y, "kD", ms=4, label="mean")
    labels = [f"{a} [{resource[a]}]\n{n[a]:,} started, {waited[a]:.0%} waited"
              for a in q.index]  # fmt: skip
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set(title="Waiting time from joining the queue to start of service",
           xlabel="wait (minutes, linear below 1, log above)", yticks=y, yticklabels=labels,
           ylim=(-0.7, len(q) - 0.3))  # fmt: skip
    ax.set_xlim(left=0)
    ax.tick_params(axis="y", labelsize="x-small")
    ax.legend(fontsize="small", loc="lower right")


def _stay_panel(ax, patients: pd.DataFrame, colours: dict) -> None:
    hours = patients["length_of_stay_minutes"].to_numpy() / 60.0
    outcome = _categorical(patients["outcome"])
    positive = hours[hours > 0]
    low = max(positive.min() if positive.size else 1 / 60, 1 / 60)
    high = max(np.nanmax(hours) if hours.size else 1.0, low * 10)
    grid = np.logspace(np.log10(low), np.log10(high), 400)
    grid[-1] = high  # exactly: rounding must not leave the longest stay off the curve
    codes = outcome.cat.codes.to_numpy()
    for code, name in enumerate(outcome.cat.categories):
        stays = np.sort(hours[codes == code])
        if not stays.size:
            continue
        within = (stays <= _FOUR_HOURS).mean()
        ecdf = np.searchsorted(stays, grid, side="right") / stays.size
        ax.step(grid, ecdf, where="post", color=colours[name],
                label=f"{name} (n={stays.size:,}; {within:.0%} ≤ 4 h)")  # fmt: skip
    ax.axvline(_FOUR_HOURS, color="grey", ls="--", lw=1)
    ax.text(_FOUR_HOURS * 1.05, 0.02, "4 h", color="grey", fontsize="small")
    ax.set(title="Length of stay by outcome (arrival to leaving hospital)",
           xlabel="length of stay (hours, log scale)", ylabel="share of patients ≤ x",
           xscale="log", ylim=(0, 1.3), yticks=np.linspace(0, 1, 6))  # fmt: skip
    ax.legend(fontsize="x-small", loc="upper left", ncols=2)


def _utilisation_panel(ax, resources: pd.DataFrame) -> None:
    by = resources.groupby("resource", sort=False)
    mean, low, high = by["utilisation"].mean(), by["utilisation"].min(), by["utilisation"].max()
    capacity = by["capacity"].max()
    y = np.arange(len(mean))[::-1]
    several = resources["hospital"].nunique() > 1 if "hospital" in resources else False
    bars = ax.barh(y, mean, color="tab:purple", alpha=0.8,
                   xerr=[mean - low, high - mean] if several else None)  # fmt: skip
    labels = [f"{u:.0%} of {c:,} units" for u, c in zip(mean, capacity, strict=True)]
    ax.bar_label(bars, labels=labels, padding=3, fontsize="x-small")
    title = "Utilisation of each resource while on duty"
    if several:
        title += f" (mean, range over {resources['hospital'].nunique()} hospitals)"
    ax.set(title=title, xlabel="utilisation (share of on-duty unit time, 0-1)",
           yticks=y, yticklabels=list(mean.index), xlim=(0, 1.25))  # fmt: skip
    ax.axvline(1.0, color="grey", lw=0.8)


def _harm_panel(ax, events, patients, start: pd.Timestamp, days: int) -> None:
    width = 1 if days <= 91 else 7
    bins = days // width  # whole weeks only: a partial last week would look like a drop
    edges = start + pd.to_timedelta(np.arange(bins) * width, unit="D")
    concept = _categorical(events[_CONCEPT])
    cats = list(concept.cat.categories)
    cc = concept.cat.codes.to_numpy()
    t0 = start.to_datetime64()

    def counts(times: np.ndarray) -> np.ndarray:
        idx = ((times.astype("datetime64[ms]") - t0) // np.timedelta64(width, "D")).astype(int)
        return np.bincount(idx[(idx >= 0) & (idx < bins)], minlength=bins)

    times = events[_TIME].to_numpy()

    def at(concept_name: str) -> np.ndarray:
        return times[cc == cats.index(concept_name)] if concept_name in cats else times[:0]

    readmitted = patients.loc[patients["readmission_of"].notna(), "arrival"].to_numpy()
    series = [
        ("deteriorations", at(DETERIORATION), "tab:orange"),
        ("deaths", at("died"), "tab:red"),
        ("readmissions", readmitted, "tab:green"),
    ]
    for name, when, colour in series:
        values = counts(when)
        ax.plot(edges, values, marker=".", color=colour, label=f"{name} ({values.sum():,})")
    unit = "day" if width == 1 else "week"
    ax.set(title=f"Adverse events per {unit} of the arrival window",
           ylabel=f"events per {unit} (count)", xlabel="date")  # fmt: skip
    ax.set_ylim(bottom=0)
    ax.tick_params(axis="x", labelrotation=30)
    ax.legend(fontsize="small", loc="upper left")


def _outcome_panel(ax, patients: pd.DataFrame, colours: dict) -> None:
    outcome = _categorical(patients["outcome"])
    table = (
        pd.DataFrame({"acuity": patients["acuity"].to_numpy(), "outcome": outcome})
        .groupby(["acuity", "outcome"], observed=True).size().unstack(fill_value=0)
    )  # fmt: skip
    shares = table.div(table.sum(axis=1), axis=0)
    y = np.arange(len(shares))[::-1]
    left = np.zeros(len(shares))
    for name in shares.columns:
        ax.barh(y, shares[name], left=left, color=colours[name], label=name)
        left += shares[name].to_numpy()
    labels = [f"acuity {a}\n(n={n:,})" for a, n in table.sum(axis=1).items()]
    ax.set(title="Outcome by triage acuity (1 = resuscitation, 5 = non-urgent)",
           xlabel="share of visits (0-1)", yticks=y, yticklabels=labels, xlim=(0, 1))  # fmt: skip
    ax.legend(fontsize="x-small", loc="lower left", framealpha=0.9)


def overview_figure(dataset: str | Path):
    """A 2x3 matplotlib figure summarising the patients dataset at ``dataset``.

    Panels: first-visit arrivals by hour of day against the published profile; waiting
    time per activity with a resource (median, 90th and 99th percentiles); length of stay
    ECDF by outcome; utilisation per resource; deteriorations, deaths and readmissions per
    day; outcome shares by triage acuity.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dataset = Path(dataset)
    events = read_table(dataset, "events")
    patients = read_table(dataset, "patients")
    resources = read_table(dataset, "resources")
    zone = read_manifest(dataset).get("config", {}).get("run", {}).get("timezone")
    events[_TIME] = _steady_clock(events[_TIME], zone)
    patients["arrival"] = _wall_clock(patients["arrival"], zone)
    start, days = _window(dataset, patients)
    pathway = load_pathway(DEFAULT_PATHWAY)  # names and order; what-if keys change neither
    outcome = _categorical(patients["outcome"])
    patients["outcome"] = outcome.cat.reorder_categories(
        _in_order(outcome.cat.categories, pathway.terminal)
    )
    colours = _outcome_colours(patients["outcome"].cat.categories)

    fig, axes = plt.subplots(2, 3, figsize=(20, 11), constrained_layout=True)
    readmissions = int(patients["readmission_of"].notna().sum())
    hospitals = patients["hospital"].nunique()
    fig.suptitle(
        f"synthsim patients dataset: {dataset.name} — {len(patients):,} visits "
        f"({readmissions:,} readmissions), {len(events):,} events, {hospitals} "
        f"hospital{'s' if hospitals != 1 else ''}, {days} days from {start:%Y-%m-%d}"
    )
    _arrivals_panel(axes[0, 0], patients)
    _waiting_panel(axes[0, 1], events, pathway.activities)
    _stay_panel(axes[0, 2], patients, colours)
    _utilisation_panel(axes[1, 0], resources)
    _harm_panel(axes[1, 1], events, patients, start, days)
    _outcome_panel(axes[1, 2], patients, colours)
    return fig
