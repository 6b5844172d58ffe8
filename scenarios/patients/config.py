"""Configuration schema of the patient-pathways scenario.

Two kinds of keys:

* hand-written ones (``run.*``, ``arrivals.*``, ``population.*``) with their defaults in
  ``default.toml``;
* what-if keys generated from the pathway the config names (``run.pathway``; by default the
  built-in ``ed_pathway.toml``), which is the single source of their defaults (each
  generated :class:`~simulations.params.Param` carries its pathway value as ``default``, so
  ``synthsim describe patients`` shows it and no value is typed twice):

  ``capacity.<resource>``
      servers at peak (int >= 1); a shift's on-duty number scales with it.
  ``probability.<source>.<target>``
      branch probability in [0, 1], for every source with two or more probabilistic
      transitions (a single one must be 1, so it is not a choice). The branches of one source
      must sum to 1 (within 1e-9, as in the pathway loader); a config that does not is
      refused, never renormalised: set the siblings together.
  ``service.<activity>.<parameter>``
      the activity's service-time parameters (minutes, except the unitless ``sigma`` and
      ``cv``; see :mod:`scenarios.patients.service`), with the pathway loader's ranges.
  ``patience.<parameter>``
      the patience distribution's parameters (minutes), the same way.
  ``adverse_events.<rate>``
      hazards per patient-day in [0, 1440] and ``readmission_30d``, a base probability (the
      pathway's odds ratios by patient apply on top).

:func:`pathway_document` writes a validated config into the pathway document that
:func:`~scenarios.patients.pathway.load_pathway` reads.
"""

from __future__ import annotations

import copy
import math
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path

from scenarios.patients.pathway import DEFAULT_PATHWAY, Pathway, load_pathway
from scenarios.patients.service import ServiceTime, parse_service
from simulations.errors import ConfigError
from simulations.params import Interval, Options, Param, Section

__all__ = ["ATTRIBUTES", "DEFAULT_CONFIG", "SCHEMA", "config_schema", "configured_pathway",
           "pathway_document", "schema_for"]

#: Patient attributes the scenario provides to a pathway's conditions and priorities.
ATTRIBUTES = ("age", "acuity")

DEFAULT_CONFIG = Path(__file__).with_name("default.toml")

#: Largest gap between a source's branch probabilities summed and 1 (as the loader allows).
_TOLERANCE = 1e-9
_POSITIVE = Interval(float, 0.0, None, closed="neither")
_NON_NEGATIVE = Interval(float, 0.0, None)
_RATE = Interval(float, 0.0, 1440.0)
_PROBABILITY = Interval(float, 0.0, 1.0)

#: Service-time parameters: (description with {what} for the duration, range, unit).
_SERVICE_PARAMS = {
    "mean": ("mean {what}", _POSITIVE, "minutes"),
    "median": ("median {what}", _POSITIVE, "minutes"),
    "sigma": ("sigma of the log of {what}", _POSITIVE, "unitless"),
    "cv": ("coefficient of variation of {what}", _POSITIVE, "unitless"),
    "value": ("{what}", _NON_NEGATIVE, "minutes"),
    "low": ("shortest {what}", _NON_NEGATIVE, "minutes"),
    "mode": ("most likely {what}", _NON_NEGATIVE, "minutes"),
    "high": ("longest {what}", _NON_NEGATIVE, "minutes"),
}

_ADVERSE = {
    "deterioration_per_day": ("hazard of deteriorating in hospital", _RATE, "per patient-day"),
    "death_per_day": ("in-hospital death hazard before any deterioration", _RATE,
                      "per patient-day"),
    "death_per_day_after_deterioration": ("in-hospital death hazard once deteriorated", _RATE,
                                          "per patient-day"),
    "readmission_30d": ("base chance a discharged patient returns within 30 days, before "
                        "the pathway's odds ratios by age, acuity and outcome "
                        "(readmission_odds, readmission_odds_by_outcome)", _PROBABILITY,
                        "probability"),
}  # fmt: skip


def _sums_to_one(values: Mapping[str, float]) -> str | None:
    total = math.fsum(values.values())
    if abs(total - 1.0) <= _TOLERANCE:
        return None
    terms = " + ".join(f"{target}={p:.12g}" for target, p in values.items())
    return f"must sum to 1 (set them together). Got {terms} = {total:.12g} instead"


def _forms(kind: str) -> Callable[[Mapping[str, float]], str | None]:
    """A Section check: the values are valid parameters of a ``kind`` distribution."""

    def check(values: Mapping[str, float]) -> str | None:
        try:
            parse_service({"distribution": kind, **values}, ConfigError)
        except ConfigError as error:
            detail = str(error).removeprefix(f"bad {kind} parameters: ")
            return f"must describe a valid {kind} distribution: {detail}"
        return None

    return check


def _service_section(time: ServiceTime, what: str) -> Section:
    entries = {}
    for name, default in time.params.items():
        doc, interval, unit = _SERVICE_PARAMS[name]
        doc = doc.format(what=f"{what} ({time.distribution})")
        entries[name] = Param("float", interval, doc, unit, default=default)
    return Section(entries, _forms(time.distribution))


def _branches(pathway: Pathway) -> dict[str, Section]:
    sections = {}
    for source in pathway.activities:
        out = pathway.outgoing(source)
        branches = [t for t in out if t.probability is not None]
        if len(branches) < 2:
            continue
        when = " when no condition holds" if len(branches) < len(out) else ""
        entries = {}
        for t in branches:
            if t.target in entries:
                raise ValueError(f"Two probabilistic transitions {source} -> {t.target}.")
            doc = f"chance that {source} goes on to {t.target}{when}"
            entries[t.target] = Param("float", _PROBABILITY, doc, "probability",
                                      default=t.probability)  # fmt: skip
        sections[source] = Section(entries, _sums_to_one)
    return sections


def _what_if_schema(pathway: Pathway) -> dict:
    """The what-if sections of the schema, with the pathway's values as defaults."""
    schema: dict = {
        "capacity": {
            name: Param("int", Interval(int, 1, 100_000),
                        f"{name} on duty at peak (shifts scale with it)", "servers",
                        default=resource.capacity)
            for name, resource in pathway.resources.items()
        },
        "probability": _branches(pathway),
        "service": {
            name: _service_section(activity.service, f"{name} service time")
            for name, activity in pathway.activities.items()
        },
    }  # fmt: skip
    if pathway.patience is not None:
        what = "patience before leaving without being seen"
        schema["patience"] = _service_section(pathway.patience.time, what)
    schema["adverse_events"] = {
        name: Param("float", interval, doc, unit,
                    default=getattr(pathway.adverse_events, name))
        for name, (doc, interval, unit) in _ADVERSE.items()
    }  # fmt: skip
    return schema


SCHEMA = {
    "run": {
        "seed": Param("int", Interval(int, 0, 2**63 - 1), "root seed of every random stream"),
        "start_date": Param("date", None, "first simulated day"),
        "days": Param("int", Interval(int, 1, 3660), "number of simulated days", "days"),
        "warmup_days": Param(
            "int", Interval(int, 0, 3660), "days simulated before start_date and not written "
            "(cases arriving then are dropped from every table), so that the first written day "
            "starts in steady state rather than with an empty hospital. Default 30: a ward "
            "filled from empty (length of stay median 2 days, sigma 0.9) is still 3.2% below "
            "its steady occupancy after 14 days and 0.4% after 30, and returns within 30 days "
            "(readmissions) reach their steady rate only after 30 days", "days", default=30,
        ),
        "hospitals": Param(
            "int", Interval(int, 1, 10_000), "independent hospitals (one shard each)"
        ),
        "pathway": Param(
            "str", None, "pathway TOML file (relative to the working folder); empty for the "
            "built-in emergency department, ed_pathway.toml", default="",
        ),
        "timezone": Param(
            "str", None, "IANA time zone of the hospitals: arrivals follow its local hours "
            "(summer time included) and timestamps are written in it",
            default="Europe/London",
        ),
    },
    "arrivals": {
        "per_day": Param(
            "float", Interval(float, 0.0, 100_000.0, closed="right"),
            "mean arrivals per day, shaped by hour and weekday", "patients/day",
        ),
    },
    "population": {
        "catchment": Param(
            "int", Interval(int, 1, 100_000_000), "residents per hospital patients come from"
        ),
        "marginals": Param("str", Options(["us_2022_age_sex"]), "census age x sex table"),
    },
    **_what_if_schema(load_pathway(DEFAULT_PATHWAY)),
}  # fmt: skip


def schema_for(pathway: Pathway) -> dict:
    """The scenario's schema with what-if keys generated from ``pathway`` (:data:`SCHEMA` is
    this for the built-in emergency department)."""
    return {**{k: v for k, v in SCHEMA.items() if k not in _WHAT_IF}, **_what_if_schema(pathway)}


def config_schema(merged: Mapping) -> dict:
    """The schema of a merged config: what-if keys from the pathway file it names (checked
    here, so errors name the file), else :data:`SCHEMA`."""
    file = merged.get("run", {}).get("pathway", "")
    if isinstance(file, str) and file:
        return schema_for(load_pathway(file))
    return SCHEMA


def pathway_document(config: Mapping, document: Mapping | None = None) -> dict:
    """A pathway document (by default the built-in one) with a validated config's what-if
    keys applied.

    A shift's on-duty number is scaled with the resource's capacity (rounded, at least 0),
    so ``--set capacity.ed_doctor=12`` means 50% more doctors at every hour. Sections the
    config lacks keep the pathway's values.
    """
    document = copy.deepcopy(dict(document)) if document is not None \
        else tomllib.loads(DEFAULT_PATHWAY.read_text())  # fmt: skip
    for name, capacity in config.get("capacity", {}).items():
        resource = document["resources"][name]
        scale = capacity / resource["capacity"]
        resource["capacity"] = capacity
        if "shifts" in resource:
            resource["shifts"] = [[a, b, min(capacity, round(n * scale))]
                                  for a, b, n in resource["shifts"]]  # fmt: skip
    branches = {(t["source"], t["target"]): t for t in document["transitions"]
                if "probability" in t}  # fmt: skip
    for source, targets in config.get("probability", {}).items():
        for target, probability in targets.items():
            branches[source, target]["probability"] = probability
    for name, params in config.get("service", {}).items():
        document["activities"][name]["service"].update(params)
    if "patience" in config and "patience" in document:
        document["patience"].update(config["patience"])
    document.setdefault("adverse_events", {}).update(config.get("adverse_events", {}))
    return document


_WHAT_IF = ("capacity", "probability", "service", "patience", "adverse_events")


def configured_pathway(config: Mapping) -> Pathway:
    """The pathway a validated config asks for: the file ``run.pathway`` (by default the
    built-in ED) with the config's what-if keys applied.

    Raises
    ------
    simulations.errors.ConfigError
        If the pathway file is missing or invalid (the message names file, section and item),
        or declares attributes the scenario does not provide (:data:`ATTRIBUTES`).
    """
    file = config["run"].get("pathway", "")
    if not file:
        return load_pathway(pathway_document(config), label=str(DEFAULT_PATHWAY))
    load_pathway(file)  # the file as written: its own errors name it
    document = tomllib.loads(Path(file).read_text())
    pathway = load_pathway(pathway_document(config, document), label=file)
    unknown = [a for a in pathway.attributes if a not in ATTRIBUTES]
    if unknown:
        raise ConfigError(
            f"Pathway file '{file}' declares attributes {', '.join(map(repr, unknown))} that "
            f"the patients scenario does not provide; it provides {', '.join(ATTRIBUTES)}."
        )
    return pathway
