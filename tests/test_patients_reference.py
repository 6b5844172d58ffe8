"""Behaviour specific to the SimPy reference model of patient pathways
(:func:`scenarios.patients.reference.simulate`): its parameters, its per-patient attribute
sampler and its case numbering. The semantics both engines share are tested in
``test_patients_engines.py``."""

from __future__ import annotations

import numpy as np
import pytest
from patients_support import (
    DAY,
    START,
    Sampler,
    binomial_ok,
    cases,
    readmission_pathway,
    run,
    single_queue,
)

from scenarios.patients.pathway import load_pathway
from scenarios.patients.reference import (
    ACUITY_BY_AGE,
    ACUITY_SHARES,
    AttributeSampler,
    simulate,
)
from simulations.errors import ConfigError


def reference(raw, seed, **kwargs):
    """:func:`patients_support.run` on the reference."""
    return run(raw, seed, engine="reference", **kwargs)


def test_bad_parameters_raise_config_error():
    pathway = load_pathway(single_queue(1, {"distribution": "fixed", "value": 1}))
    with pytest.raises(ConfigError, match="horizon_minutes"):
        reference(pathway, 0, rate=1.0, horizon=0)
    with pytest.raises(ConfigError, match="horizon_minutes"):
        reference(pathway, 0, rate=1.0, horizon=float("inf"))
    with pytest.raises(ConfigError, match="arrivals_per_hour"):
        reference(pathway, 0, rate=-1.0, horizon=10)
    with pytest.raises(ConfigError, match="arrivals_per_hour"):
        reference(pathway, 0, rate=True, horizon=10)
    with pytest.raises(ConfigError, match="peak_per_hour"):
        reference(pathway, 0, rate=lambda minute: 1.0, horizon=10)  # a callable needs a peak
    with pytest.raises(ConfigError, match="'rng'"):
        simulate(
            pathway, arrivals_per_hour=1.0, horizon_minutes=10, rng=np.random.RandomState(0),
            start=START,
        )  # fmt: skip


def test_rate_above_its_peak_raises_config_error():
    pathway = load_pathway(single_queue(1, {"distribution": "fixed", "value": 1}))
    with pytest.raises(ConfigError, match=r"arrivals_per_hour\(.*peak_per_hour=2"):
        reference(pathway, 0, rate=lambda minute: 3.0, peak_per_hour=2.0, horizon=600)


def test_sampler_missing_a_declared_attribute_raises_config_error():
    raw = single_queue(1, {"distribution": "fixed", "value": 1}, attributes=["acuity"])
    with pytest.raises(ConfigError, match="'acuity'"):
        reference(raw, 0, rate=60.0, horizon=60, attributes=lambda rng: {"age": 1})


def test_sampler_changing_its_keys_raises_config_error():
    raw = single_queue(1, {"distribution": "fixed", "value": 1}, attributes=["acuity"])
    keys = iter([{"acuity": 1}, {"acuity": 1, "sex": "F"}] * 1000)
    with pytest.raises(ConfigError, match="same keys"):
        reference(raw, 0, rate=60.0, horizon=600, attributes=lambda rng: next(keys))


def test_sampler_is_called_once_per_arrival_and_never_for_readmissions():
    sampler = Sampler()
    log = reference(readmission_pathway(0.3), 16, rate=3.0, horizon=30 * DAY, attributes=sampler)
    table = cases(log, ("done", "left", "died"))
    assert (table["of"] >= 0).sum() > 100
    assert (table["of"] < 0).sum() == sampler.calls


def test_default_sampler_draws_acuity_and_age():
    rng = np.random.default_rng(3)
    drawn = [AttributeSampler()(rng) for _ in range(20_000)]
    assert all(set(d) == {"acuity", "age"} for d in drawn)
    acuity = np.array([d["acuity"] for d in drawn])
    age = np.array([d["age"] for d in drawn])
    assert set(acuity) == {1, 2, 3, 4, 5}
    assert age.min() == 0 and age.max() == 95
    edges = [edge for edge, _ in ACUITY_BY_AGE] + [200]
    for (low, shares), high in zip(ACUITY_BY_AGE, edges[1:], strict=True):  # acuity by age
        band = acuity[(age >= low) & (age < high)]
        counts = np.bincount(band, minlength=6)[1:]
        for count, share in zip(counts, shares, strict=True):
            assert binomial_ok(int(count), len(band), share), (low, counts, shares)
    fixed = [AttributeSampler(ACUITY_SHARES)(rng) for _ in range(20_000)]  # whatever the age
    counts = np.bincount([d["acuity"] for d in fixed], minlength=6)[1:]
    for count, share in zip(counts, ACUITY_SHARES, strict=True):
        assert binomial_ok(int(count), len(fixed), share), (counts, ACUITY_SHARES)
