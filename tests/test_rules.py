"""Schedules and typologies as data: validation and compilation."""

import numpy as np
import pytest

from rules.financial_crime import TYPOLOGIES
from rules.schedules import Schedule
from rules.typology import STEP_FIELDS, Step, Typology, compile_typologies

FLAT = Schedule("flat", (1,) * 24)
TYPES = {"PAYMENT": 0, "TRANSFER": 1, "CASH_IN": 2, "CASH_OUT": 3}
CHANNELS = {"online": 0, "branch": 1, "atm": 2}


def test_schedule_needs_24_hours_and_7_weekdays():
    with pytest.raises(ValueError, match="24 non-negative hourly weights"):
        Schedule("short", (1,) * 23)
    with pytest.raises(ValueError, match="7 non-negative weekday"):
        Schedule("week", (1,) * 24, weekday=(1,) * 6)


def test_schedule_cdf_gives_no_mass_to_hours_without_weight():
    night = Schedule("night", (1, 3) + (0,) * 22)
    cdf = night.hour_cdf()
    assert cdf[0] == pytest.approx(0.25) and cdf[1] == 1.0
    assert (np.diff(cdf)[1:] == 0).all()


def test_received_rule_needs_an_earlier_payment_to_the_source():
    with pytest.raises(ValueError, match="received_fraction needs an earlier step"):
        Typology("bad", "laundering", start=FLAT, steps=(
            Step("hub", "external", "TRANSFER", "online", ("received_fraction", 0.9, 1.0)),
        ))  # fmt: skip


def test_ring_steps_need_a_ring_size():
    with pytest.raises(ValueError, match="does not fit its steps"):
        Typology("bad", "laundering", start=FLAT, steps=(
            Step("external", "member", "CASH_IN", "branch", ("uniform", 1.0, 2.0)),
        ))  # fmt: skip


def test_unknown_role_rule_and_family_are_refused():
    with pytest.raises(ValueError, match="unknown role 'boss'"):
        Typology(
            "bad",
            "fraud",
            start=FLAT,
            steps=(Step("boss", "external", "PAYMENT", "online", ("uniform", 1, 2)),),
        )
    with pytest.raises(ValueError, match="unknown amount rule 'guess'"):
        Typology(
            "bad",
            "fraud",
            start=FLAT,
            steps=(Step("victim", "external", "PAYMENT", "online", ("guess", 1, 2)),),
        )
    with pytest.raises(ValueError, match="family must be"):
        Typology("bad", "theft", start=FLAT, steps=())  # fmt: skip


def test_compile_refuses_types_outside_the_vocabulary():
    typology = Typology(
        "t",
        "fraud",
        start=FLAT,
        steps=(Step("victim", "external", "WIRE", "online", ("uniform", 1, 2)),),
    )
    with pytest.raises(ValueError, match="unknown type 'WIRE'"):
        compile_typologies([typology], TYPES, CHANNELS)


def test_compiled_table_has_one_row_per_step_and_bounds_per_typology():
    vocabulary = {"PAYMENT", "TRANSFER", "CASH_OUT", "CASH_IN"}
    types = {name: k for k, name in enumerate(sorted(vocabulary))}
    channels = {c: k for k, c in enumerate(["card_present", "online", "atm", "branch"])}
    compiled = compile_typologies(TYPOLOGIES, types, channels)
    assert compiled.steps.shape == (sum(len(t.steps) for t in TYPOLOGIES), len(STEP_FIELDS))
    assert compiled.bounds[-1, 1] == compiled.steps.shape[0]
    assert (compiled.bounds[1:, 0] == compiled.bounds[:-1, 1]).all()
    assert np.allclose(compiled.start_cdf[:, -1], 1.0)
    assert compiled.names == tuple(t.name for t in TYPOLOGIES)


def test_guided_draws_equal_a_full_search():
    from rules.schedules import guide_table
    from scenarios.bank.kernels import _draw
    from simulations.bits import new_bits, uniform

    rng = np.random.default_rng(5)
    weights = rng.random(24) * (rng.random(24) < 0.6)  # zero-weight hours included
    cdf = np.cumsum(weights) / weights.sum()
    guide = guide_table(cdf)
    states = [new_bits(np.random.default_rng(s)) for s in range(2000)]
    draws = np.array([_draw(cdf, guide, state.copy()) for state in states])
    uniforms = np.array([uniform(state.copy()) for state in states])
    assert (draws == np.searchsorted(cdf, uniforms, side="right")).all()
    assert (weights[draws] > 0).all()
    assert guide_table(np.stack([cdf, cdf])).shape == (2, 64)


def test_kernel_code_names_cover_the_code_indices():
    from scenarios.bank import kernels as K

    assert K.DAY_HOURS == len(K.CODE_NAMES) - 1
    assert K.CODE_NAMES[K.BRANCH_HOURS] == "opening_hours"
    assert K.CODE_NAMES[K.SALARY] == "SALARY" and K.CODE_NAMES[K.MOBILE] == "mobile"
    assert K.CODE_NAMES[K.BILL_HOURS] == "overnight"
