"""Patient pathways as data: activities, resources, transitions, patience, adverse events.

A pathway file is TOML with these sections (every duration in minutes, every hour 0-24)::

    [pathway]         name, start (an activity), terminal (outcome names), attributes,
                      optional inpatient (activities after admission: starting one is
                      leaving the department, for the run metrics)
    [resources.NAME]  capacity (>= 1), optional shifts = [[start_hour, end_hour, capacity]]
    [activities.NAME] service = {distribution = ..., ...}, optional resource, priority_by,
                      and one of hold_until or hold_until_next (blocking, below)
    [[transitions]]   source, target, and exactly one of probability or condition
    [patience]        LWBS: a service-time table plus applies_to (activities), outcome and
                      an optional scale (a [tables] multiplier by patient)
    [adverse_events]  deterioration_per_day, death_per_day, death_per_day_after_deterioration,
                      death_outcome, readmission_30d, optional death_scale,
                      readmission_odds, readmission_odds_by_outcome, readmission_mean_days
    [tables.NAME]     values by bands of one or two attributes, used by a transition's
                      odds_by, an activity's service_scale, the patience's scale and the
                      adverse events' death_scale and readmission_odds
                      (:mod:`scenarios.patients.effects`)

Conditions are kept as expression strings over the declared ``attributes`` (parsed later by
the rules language). From an activity, conditions are tried in file order and the first that
holds wins; when none holds, the activity's probabilistic transitions are used, so those must
sum to 1.

Blocking (exit block): an activity with ``hold_until = ["ward_stay", ...]`` (activity names;
it needs a ``resource``) keeps its unit after its service ends, while the case goes on
through the pathway, and releases it at the moment the case starts one of those activities
(the unit of that activity is granted), or reaches any terminal state (discharge, leaving
while waiting, death). ``hold_until_next = true`` is short for ``hold_until`` = every
activity that directly follows. So a majors cubicle held until ``ward_stay`` stays occupied
through diagnostics and treatment and, for an admitted patient, until a ward bed is free.
This is blocking after service: the ``complete`` row is logged when the service ends; the
time blocked is the waits of the later activities, during which the unit stays busy for
everyone else (it is not counted in the resources table's busy minutes, which are minutes of
service). A case holds at most one unit this way, so no activity with a hold may be reached
from another before that one's unit is released; and a resource must never wait for itself
through holds (a case holding resource A waits for A, or A waits for B while B waits for A):
such a pathway could deadlock, so both are refused.

:func:`load_pathway` raises :class:`~simulations.errors.ConfigError` with a one-line message
naming the file, the section and the item.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from rules.expressions import parse
from scenarios.patients.effects import BandTable, parse_tables
from scenarios.patients.service import ServiceTime, parse_service
from simulations.errors import ConfigError

__all__ = [
    "Activity",
    "AdverseEvents",
    "DEFAULT_PATHWAY",
    "DETERIORATION",
    "MINUTES_PER_DAY",
    "READMISSION_DAYS",
    "Pathway",
    "Patience",
    "Resource",
    "ServiceTime",
    "Transition",
    "load_pathway",
    "mean_minutes",
]

DEFAULT_PATHWAY = Path(__file__).with_name("ed_pathway.toml")

#: ``concept:name`` of the event logged when a patient deteriorates.
DETERIORATION = "deterioration"

#: Days after discharge within which a readmission happens.
READMISSION_DAYS = 30

#: Minutes in the patient-day of every hazard ``*_per_day``.
MINUTES_PER_DAY = 1440.0


def mean_minutes(per_day: float) -> float:
    """Mean minutes of an exponential clock with hazard ``per_day`` per patient-day (``inf``
    when the hazard is 0: the clock never rings)."""
    return MINUTES_PER_DAY / per_day if per_day > 0 else math.inf

_KEYS = {
    "": ("pathway", "resources", "activities", "transitions", "patience", "adverse_events",
         "tables"),
    "pathway": ("name", "start", "terminal", "attributes", "inpatient"),
    "resources": ("capacity", "shifts"),
    "activities": ("resource", "service", "priority_by", "hold_until", "hold_until_next",
                   "service_scale"),
    "transitions": ("source", "target", "probability", "condition", "odds_by"),
    "patience": ("applies_to", "outcome", "scale"),
    "adverse_events": (
        "deterioration_per_day",
        "death_per_day",
        "death_per_day_after_deterioration",
        "death_outcome",
        "readmission_30d",
        "death_scale",
        "readmission_odds",
        "readmission_odds_by_outcome",
        "readmission_mean_days",
    ),
}


@dataclass(frozen=True)
class Resource:
    """Servers shared by activities (staff, cubicles, beds).

    Parameters
    ----------
    name : str
    capacity : int
        Servers available (>= 1); the maximum when ``shifts`` are given.
    shifts : tuple of (start_hour, end_hour, capacity)
        Servers on duty each day from ``start_hour`` (inclusive) to ``end_hour`` (exclusive),
        covering hours 0-24 without overlap; empty means ``capacity`` around the clock.
    """

    name: str
    capacity: int
    shifts: tuple[tuple[int, int, int], ...] = ()

    @property
    def duty(self) -> tuple[int, ...]:
        """Servers on duty at each hour of the day, 0-23."""
        return tuple(self.capacity_at(hour) for hour in range(24))

    def capacity_at(self, hour: int) -> int:
        """Servers on duty at ``hour`` of the day (0-23)."""
        for start, end, capacity in self.shifts:
            if start <= hour % 24 < end:
                return capacity
        return self.capacity


@dataclass(frozen=True)
class Activity:
    """A step of the pathway: wait for ``resource`` (if any), then hold it for ``service``.

    ``priority_by`` names the attribute that orders its queue (lower first, e.g. acuity 1-5).
    ``hold_until``: after service, keep the unit until the case starts one of these
    activities or ends (blocking after service; see the module docstring); empty: release
    at once.
    """

    name: str
    resource: str | None
    service: ServiceTime
    priority_by: str | None = None
    hold_until: tuple[str, ...] = ()
    service_scale: str | None = None  # a [tables] name multiplying the service time


@dataclass(frozen=True)
class Transition:
    """Move from ``source`` to ``target`` with ``probability`` or when ``condition`` holds;
    ``odds_by`` names a table of odds ratios on the probability, by patient."""

    source: str
    target: str
    probability: float | None = None
    condition: str | None = None
    odds_by: str | None = None


@dataclass(frozen=True)
class Patience:
    """Leaving without being seen: waits in ``applies_to`` longer than ``time`` (minutes),
    multiplied by the patient's value in the ``scale`` table when one is named."""

    time: ServiceTime
    applies_to: tuple[str, ...]
    outcome: str
    scale: str | None = None


@dataclass(frozen=True)
class AdverseEvents:
    """Rare events of a stay (from arrival to the terminal state), as hazards per patient-day
    (1440 minutes) and a probability.

    Parameters
    ----------
    deterioration_per_day : float
        Hazard of deteriorating (at most once per case). A deteriorated patient is logged
        (:data:`DETERIORATION`), goes ahead of every other patient in any queue, and from
        then on dies at ``death_per_day_after_deterioration``.
    death_per_day : float
        Hazard of in-hospital death before any deterioration; ends the case in
        ``death_outcome``.
    death_per_day_after_deterioration : float
        Death hazard once deteriorated (defaults to ``death_per_day``).
    death_outcome : str or None
        Terminal state of a death.
    readmission_30d : float
        Probability that a discharged patient (any terminal state other than death and
        leaving without being seen) returns as a new case within :data:`READMISSION_DAYS`
        days (before the odds ratios below; the delay as ``readmission_mean_days`` says);
        returns at or after the arrival horizon are not simulated (censored, as in a data
        extract).
    death_scale : str or None
        A table multiplying both death hazards, by patient.
    readmission_odds : str or None
        A table of odds ratios on ``readmission_30d``, by patient.
    readmission_odds_by_outcome : tuple of (str, float)
        Odds ratios on ``readmission_30d`` by terminal state (1 for states not named).
    readmission_mean_days : float
        Mean (days) of the exponential delay to a return, truncated to 30 days, with the
        hour from the arrival profile; 0 for a uniform delay on [0, 30) days.
    """

    deterioration_per_day: float = 0.0
    death_per_day: float = 0.0
    death_per_day_after_deterioration: float = 0.0
    death_outcome: str | None = None
    readmission_30d: float = 0.0
    death_scale: str | None = None
    readmission_odds: str | None = None
    readmission_odds_by_outcome: tuple[tuple[str, float], ...] = ()
    readmission_mean_days: float = 0.0


@dataclass(frozen=True)
class Pathway:
    """A validated pathway (see the module docstring for the file format)."""

    name: str
    start: str
    terminal: tuple[str, ...]
    attributes: tuple[str, ...]
    resources: Mapping[str, Resource] = field(hash=False)
    activities: Mapping[str, Activity] = field(hash=False)
    transitions: tuple[Transition, ...]
    patience: Patience | None
    adverse_events: AdverseEvents
    inpatient: tuple[str, ...] = ()
    tables: Mapping[str, BandTable] = field(default_factory=dict, hash=False)

    def outgoing(self, activity: str) -> tuple[Transition, ...]:
        """Transitions leaving ``activity``, in file order."""
        return tuple(t for t in self.transitions if t.source == activity)


class _Reader:
    """Builds one-line errors: "Pathway file 'F', [section] item: problem."."""

    def __init__(self, label: str):
        self.label = label

    def error(self, section: str, item: str | None, problem: str) -> ConfigError:
        where = f"[{section}]" + (f" {item}" if item else "")
        return ConfigError(f"Pathway file {self.label}, {where}: {problem}.")

    def table(self, raw: object, section: str, item: str | None, kind: str) -> Mapping:
        if not isinstance(raw, Mapping):
            raise self.error(section, item, f"must be a table, not {raw!r}")
        valid = _KEYS[kind]
        for key in raw:
            if key not in valid:
                raise self.error(
                    section, item, f"unknown key {key!r}; valid keys: {', '.join(valid)}"
                )
        return raw

    def name(self, raw: object, section: str, item: str | None, what: str) -> str:
        if not isinstance(raw, str) or not raw.strip():
            raise self.error(section, item, f"{what} must be a non-empty string, got {raw!r}")
        return raw

    def number(self, raw: Mapping, key: str, section: str, low: float, high: float) -> float:
        value = raw.get(key, 0.0)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not (math.isfinite(value) and low <= value <= high)
        ):
            raise self.error(section, key, f"must be a number in [{low}, {high}], got {value!r}")
        return float(value)


def _resource(rd: _Reader, name: str, raw: object) -> Resource:
    raw = rd.table(raw, "resources", name, "resources")
    cap = raw.get("capacity")
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
        raise rd.error("resources", name, f"capacity must be an integer >= 1, got {cap!r}")
    shifts = []
    raw_shifts = raw.get("shifts", [])
    if not isinstance(raw_shifts, list):
        raise rd.error(
            "resources", name, "shifts must be a list of [start_hour, end_hour, capacity]"
        )
    for shift in raw_shifts:
        ok = isinstance(shift, list) and len(shift) == 3
        ok = ok and all(isinstance(x, int) and not isinstance(x, bool) for x in shift)
        if not ok or not 0 <= shift[0] < shift[1] <= 24:
            raise rd.error(
                "resources",
                name,
                f"shift {shift!r} must be [start_hour, end_hour, "
                f"capacity] with integers 0 <= start_hour < end_hour <= 24",
            )
        if not 0 <= shift[2] <= cap:
            raise rd.error(
                "resources",
                name,
                f"shift {shift!r} capacity must be in [0, {cap}] (the resource capacity)",
            )
        shifts.append(tuple(shift))
    hour = 0
    for start, end, _ in sorted(shifts):
        if start != hour:
            problem = "overlap" if start < hour else "leave hours uncovered"
            raise rd.error(
                "resources",
                name,
                f"shifts {problem} at hour {min(start, hour)}; "
                f"they must cover hours 0-24 exactly once",
            )
        hour = end
    if shifts and hour != 24:
        raise rd.error(
            "resources",
            name,
            f"shifts leave hours {hour}-24 uncovered; they must cover hours 0-24 exactly once",
        )
    if shifts and max(on_duty for _, _, on_duty in shifts) == 0:
        raise rd.error("resources", name, "has no unit on duty at any hour; no one could be served")
    return Resource(name, cap, tuple(sorted(shifts)))


def _parse(rd: _Reader, data: Mapping) -> Pathway:
    rd.table(data, "top level", None, "")
    head = rd.table(data.get("pathway"), "pathway", None, "pathway")
    name = rd.name(head.get("name"), "pathway", "name", "the pathway name")
    terminal = tuple(
        rd.name(t, "pathway", "terminal", "each terminal state") for t in head.get("terminal", [])
    )
    if not terminal:
        raise rd.error("pathway", "terminal", "list at least one terminal state")
    attributes = tuple(
        rd.name(a, "pathway", "attributes", "each attribute") for a in head.get("attributes", [])
    )
    tables = parse_tables(data.get("tables"), attributes, rd.error)

    def table_name(value: object, section: str, item: str, key: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or value not in tables:
            raise rd.error(section, item, f"{key} must name a [tables] table; tables: "
                                          f"{', '.join(tables) or '(none)'}; got {value!r}")
        return value

    raw_resources = data.get("resources", {})
    if not isinstance(raw_resources, Mapping):
        raise rd.error("resources", None, "must be a table of [resources.NAME] tables")
    resources = {n: _resource(rd, n, r) for n, r in raw_resources.items()}
    raw_acts = data.get("activities", {})
    if not isinstance(raw_acts, Mapping) or not raw_acts:
        raise rd.error("activities", None, "define at least one [activities.NAME] table")
    activities: dict[str, Activity] = {}
    for act, raw in raw_acts.items():
        raw = rd.table(raw, "activities", act, "activities")
        if act in terminal:
            raise rd.error("activities", act, "is also a terminal state; use distinct names")
        res = raw.get("resource")
        if res is not None and res not in resources:
            raise rd.error(
                "activities",
                act,
                f"unknown resource {res!r}; known resources: {', '.join(resources) or '(none)'}",
            )
        prio = raw.get("priority_by")
        if prio is not None and prio not in attributes:
            raise rd.error(
                "activities",
                act,
                f"priority_by {prio!r} is not a declared "
                f"attribute; declared: {', '.join(attributes) or '(none)'}",
            )
        if "service" not in raw:
            raise rd.error("activities", act, "missing key 'service'")
        service = parse_service(raw["service"], lambda m, a=act: rd.error("activities", a, m))
        scale = table_name(raw.get("service_scale"), "activities", act, "service_scale")
        activities[act] = Activity(act, res, service, prio, service_scale=scale)
    start = head.get("start")
    if start not in activities:
        raise rd.error(
            "pathway", "start", f"unknown activity {start!r}; activities: {', '.join(activities)}"
        )
    transitions = _transitions(rd, data.get("transitions", []), activities, terminal, attributes)
    for i, t in enumerate(transitions):
        table_name(t.odds_by, "transitions", f"#{i + 1} ({t.source} -> {t.target})", "odds_by")
    for act, raw in raw_acts.items():
        hold = _hold(rd, act, raw, activities, transitions)
        if hold:
            activities[act] = replace(activities[act], hold_until=hold)
    patience = None
    if "patience" in data:
        raw = data["patience"]
        if not isinstance(raw, Mapping):
            raise rd.error("patience", None, f"must be a table, not {raw!r}")
        extra = {k: v for k, v in raw.items() if k not in _KEYS["patience"]}
        time = parse_service(extra, lambda m: rd.error("patience", None, m))
        applies = tuple(raw.get("applies_to", []))
        for act in applies:
            if act not in activities:
                raise rd.error("patience", "applies_to", f"unknown activity {act!r}")
        outcome = raw.get("outcome")
        if outcome not in terminal:
            raise rd.error(
                "patience",
                "outcome",
                f"{outcome!r} is not a terminal state; terminal: {', '.join(terminal)}",
            )
        scale = table_name(raw.get("scale"), "patience", "scale", "scale")
        patience = Patience(time, applies, outcome, scale)
    raw = rd.table(data.get("adverse_events", {}), "adverse_events", None, "adverse_events")
    death_outcome = raw.get("death_outcome")
    if death_outcome is not None and death_outcome not in terminal:
        raise rd.error(
            "adverse_events",
            "death_outcome",
            f"{death_outcome!r} is not a terminal state; terminal: {', '.join(terminal)}",
        )
    death = rd.number(raw, "death_per_day", "adverse_events", 0.0, 1440.0)
    adverse = AdverseEvents(
        rd.number(raw, "deterioration_per_day", "adverse_events", 0.0, 1440.0),
        death,
        rd.number(
            {"death_per_day_after_deterioration": death} | dict(raw),
            "death_per_day_after_deterioration", "adverse_events", 0.0, 1440.0,
        ),
        death_outcome,
        rd.number(raw, "readmission_30d", "adverse_events", 0.0, 1.0),
        table_name(raw.get("death_scale"), "adverse_events", "death_scale", "death_scale"),
        table_name(raw.get("readmission_odds"), "adverse_events", "readmission_odds",
                   "readmission_odds"),
        _outcome_odds(rd, raw.get("readmission_odds_by_outcome", {}), terminal),
        rd.number(raw, "readmission_mean_days", "adverse_events", 0.0, 30.0),
    )  # fmt: skip
    if death_outcome is None:
        for key in ("death_per_day", "death_per_day_after_deterioration"):
            if getattr(adverse, key) > 0:
                raise rd.error("adverse_events", "death_outcome", f"needed when {key} > 0")
    if adverse.deterioration_per_day > 0 and DETERIORATION in (*activities, *terminal):
        raise rd.error(
            "adverse_events", "deterioration_per_day",
            f"the name {DETERIORATION!r} is taken by an activity or terminal state; it is the "
            "name of the deterioration event, so rename that activity or state",
        )  # fmt: skip
    inpatient = tuple(
        rd.name(a, "pathway", "inpatient", "each inpatient activity")
        for a in head.get("inpatient", [])
    )
    for act in inpatient:
        if act not in activities:
            raise rd.error("pathway", "inpatient",
                           f"{act!r} is not an activity; activities: {', '.join(activities)}")
    pathway = Pathway(
        name, start, terminal, attributes, resources, activities, transitions, patience, adverse,
        inpatient, tables,
    )  # fmt: skip
    _check_graph(rd, pathway)
    return pathway


def _outcome_odds(rd: _Reader, raw: object, terminal: tuple) -> tuple:
    """``readmission_odds_by_outcome``: odds ratios (>= 0) keyed by terminal state."""
    key = "readmission_odds_by_outcome"
    if not isinstance(raw, Mapping):
        raise rd.error("adverse_events", key, f"must be a table of odds ratios by terminal "
                                              f"state, got {raw!r}")  # fmt: skip
    for state, ratio in raw.items():
        if state not in terminal:
            raise rd.error("adverse_events", key, f"{state!r} is not a terminal state; "
                                                  f"terminal: {', '.join(terminal)}")
        if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not (
                math.isfinite(ratio) and ratio >= 0):  # fmt: skip
            raise rd.error("adverse_events", key, f"the odds ratio of {state!r} must be a "
                                                  f"finite number >= 0, got {ratio!r}")
    return tuple((state, float(ratio)) for state, ratio in raw.items())


def _hold(
    rd: _Reader, act: str, raw: Mapping, activities: Mapping, transitions: tuple
) -> tuple[str, ...]:
    """The ``hold_until`` activities of ``act`` (empty for none)."""
    if "hold_until" in raw and "hold_until_next" in raw:
        raise rd.error("activities", act, "give at most one of hold_until and hold_until_next")
    nxt = raw.get("hold_until_next", False)
    if not isinstance(nxt, bool):
        raise rd.error("activities", act, f"hold_until_next must be true or false, got {nxt!r}")
    if nxt:
        hold = [t.target for t in transitions if t.source == act and t.target in activities]
    else:
        hold = raw.get("hold_until", [])
        if not isinstance(hold, list) or not all(isinstance(h, str) for h in hold):
            raise rd.error(
                "activities", act, f"hold_until must be a list of activity names, got {hold!r}"
            )
        for name in hold:
            if name not in activities:
                raise rd.error(
                    "activities", act,
                    f"hold_until names unknown activity {name!r}; activities: "
                    f"{', '.join(activities)}",
                )  # fmt: skip
    if (nxt or hold) and activities[act].resource is None:
        raise rd.error("activities", act, "a hold (hold_until, hold_until_next) needs a resource")
    return tuple(dict.fromkeys(hold))


def _transitions(rd: _Reader, raw_list: object, activities: Mapping, terminal: tuple,
                 attributes: tuple[str, ...]) -> tuple:  # fmt: skip
    if not isinstance(raw_list, list):
        raise rd.error("transitions", None, "must be an array of [[transitions]] tables")
    out = []
    for i, raw in enumerate(raw_list):
        item = f"#{i + 1}"
        raw = rd.table(raw, "transitions", item, "transitions")
        src, dst = raw.get("source"), raw.get("target")
        item = f"#{i + 1} ({src} -> {dst})"
        if src not in activities:
            raise rd.error(
                "transitions",
                item,
                f"unknown source activity {src!r}; activities: {', '.join(activities)}",
            )
        if dst not in activities and dst not in terminal:
            raise rd.error(
                "transitions",
                item,
                f"unknown target {dst!r}; activities and "
                f"terminal states: {', '.join([*activities, *terminal])}",
            )
        if ("probability" in raw) == ("condition" in raw):
            raise rd.error("transitions", item, "give exactly one of probability or condition")
        prob, cond = raw.get("probability"), raw.get("condition")
        if "probability" in raw and (
            isinstance(prob, bool) or not isinstance(prob, int | float) or not 0.0 <= prob <= 1.0
        ):
            raise rd.error("transitions", item, f"probability must be in [0, 1], got {prob!r}")
        if "condition" in raw and (not isinstance(cond, str) or not cond.strip()):
            raise rd.error(
                "transitions",
                item,
                f"condition must be a non-empty expression string, got {cond!r}",
            )
        if cond is not None:
            try:
                parse(cond, attributes)
            except ConfigError as exc:
                raise rd.error("transitions", item,
                               f"condition {cond!r}: {str(exc).rstrip('.')}") from None
        odds = raw.get("odds_by")
        if odds is not None and prob is None:
            raise rd.error("transitions", item, "odds_by needs a probability to act on")
        if odds is not None and any(t.source == src and t.odds_by for t in out):
            raise rd.error("transitions", item, f"odds_by is given on another transition "
                                                f"out of {src!r}; at most one per source")
        out.append(Transition(src, dst, None if prob is None else float(prob), cond, odds))
    return tuple(out)


def _check_graph(rd: _Reader, p: Pathway) -> None:
    for act in p.activities:
        probs = [t.probability for t in p.outgoing(act) if t.probability is not None]
        if abs(math.fsum(probs) - 1.0) > 1e-9:
            raise rd.error(
                "transitions",
                act,
                f"probabilities out of {act!r} sum to "
                f"{math.fsum(probs):.12g}, not 1 (they are also the fallback when "
                f"no condition holds)",
            )
    seen, todo = {p.start}, [p.start]
    while todo:
        for t in p.outgoing(todo.pop()):
            if t.target not in seen and t.target in p.activities:
                seen.add(t.target)
                todo.append(t.target)
    for act in p.activities:
        if act not in seen:
            raise rd.error("activities", act, f"is unreachable from start {p.start!r}")
    done, changed = set(p.terminal), True
    while changed:
        changed = False
        for t in p.transitions:
            if t.target in done and t.source not in done:
                done.add(t.source)
                changed = True
    for act in p.activities:
        if act not in done:
            raise rd.error("activities", act, "has no way to a terminal state")
    _check_holds(rd, p)


def _check_holds(rd: _Reader, p: Pathway) -> None:
    """Refuse a hold reached while another is held, and holds whose resources can wait on
    each other in a cycle (a possible deadlock)."""
    waits: dict[str, set[str]] = {}  # held resource -> resources its holders wait for
    for act in p.activities.values():
        if not act.hold_until:
            continue
        todo, seen = [act.name], set()
        while todo:  # activities visited while the unit is held
            for t in p.outgoing(todo.pop()):
                nxt = p.activities.get(t.target)
                if nxt is None or nxt.name in seen:
                    continue
                seen.add(nxt.name)
                if nxt.resource is not None:
                    waits.setdefault(act.resource, set()).add(nxt.resource)
                if nxt.name in act.hold_until:
                    continue
                if nxt.hold_until:
                    raise rd.error(
                        "activities", nxt.name,
                        f"has a hold but is reached while {act.name!r} still holds its unit "
                        f"(release that one first: add {nxt.name!r} to its hold_until)",
                    )  # fmt: skip
                todo.append(nxt.name)
    for first in waits:
        todo, seen = [first], set()
        while todo:
            for r in waits.get(todo.pop(), ()):
                if r == first:
                    raise rd.error(
                        "activities", None,
                        f"hold_until_next makes resource {first!r} wait for itself through "
                        f"the next activities (a possible deadlock); hold in fewer places",
                    )  # fmt: skip
                if r not in seen:
                    seen.add(r)
                    todo.append(r)


def load_pathway(source: str | Path | Mapping, label: str | None = None) -> Pathway:
    """Read and validate a pathway.

    Parameters
    ----------
    source : str, pathlib.Path or Mapping
        A TOML file, or an already parsed table.
    label : str, optional
        The file a parsed table came from, for errors (default ``<dict>``).

    Returns
    -------
    Pathway

    Raises
    ------
    simulations.errors.ConfigError
        One line naming the file, the section and the item that is wrong.
    """
    if isinstance(source, Mapping):
        return _parse(_Reader(f"'{label}'" if label else "<dict>"), source)
    path = Path(source)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"Pathway file '{path}' does not exist.") from None
    except tomllib.TOMLDecodeError as exc:
        detail = " ".join(str(exc).split())
        raise ConfigError(f"Pathway file '{path}' is not valid TOML: {detail}.") from None
    return _parse(_Reader(f"'{path}'"), data)
