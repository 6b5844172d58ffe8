"""What-if config of the patients scenario: every capacity, rate and probability is a key."""

from __future__ import annotations

import tomllib

import pytest
from click.testing import CliRunner

from scenarios.patients.config import (
    _SERVICE_PARAMS,
    DEFAULT_CONFIG,
    SCHEMA,
    configured_pathway,
    pathway_document,
)
from scenarios.patients.pathway import DEFAULT_PATHWAY, load_pathway
from scenarios.patients.service import DISTRIBUTIONS
from simulations.cli import cli
from simulations.config import describe_schema, flatten, load_toml, validate
from simulations.datasets import read_table
from simulations.errors import ConfigError
from simulations.params import Interval, Param, Section
from simulations.scenario import get_scenario

TINY = ["run.days=1", "population.catchment=2000", "arrivals.per_day=60"]


def resolve(*overrides: str, config_path=None) -> dict:
    return get_scenario("patients").resolve_config(config_path, overrides)


def pathway(*overrides: str):
    return load_pathway(pathway_document(resolve(*overrides)))


def leaf_specs(schema: dict, prefix: str = "") -> dict[str, Param]:
    specs = {}
    for name, spec in schema.items():
        if isinstance(spec, dict):
            specs |= leaf_specs(spec, f"{prefix}{name}.")
        else:
            specs[f"{prefix}{name}"] = spec
    return specs


# --- keys generated from the pathway ---------------------------------------------------------


def test_defaults_reproduce_the_default_pathway():
    assert pathway() == load_pathway(DEFAULT_PATHWAY)


def test_every_capacity_rate_and_branch_probability_is_a_key_with_its_pathway_default():
    raw = tomllib.loads(DEFAULT_PATHWAY.read_text())
    config = flatten(resolve())
    for name, resource in raw["resources"].items():
        assert config[f"capacity.{name}"] == resource["capacity"]
    for name, activity in raw["activities"].items():
        for param, value in activity["service"].items():
            if param != "distribution":
                assert config[f"service.{name}.{param}"] == value
    assert config["patience.mean"] == raw["patience"]["mean"]
    for rate in ("deterioration_per_day", "death_per_day", "death_per_day_after_deterioration",
                 "readmission_30d"):  # fmt: skip
        assert config[f"adverse_events.{rate}"] == raw["adverse_events"][rate]
    branches = [t for t in raw["transitions"] if "probability" in t]
    for t in branches:
        siblings = [u for u in branches if u["source"] == t["source"]]
        key = f"probability.{t['source']}.{t['target']}"
        # A source with one probabilistic transition has no choice to make: no key.
        assert config.get(key) == (t["probability"] if len(siblings) > 1 else None), key


def test_pathway_values_are_not_typed_twice_in_default_toml():
    assert set(load_toml(DEFAULT_CONFIG)) == {"run", "arrivals", "population"}


def test_every_service_parameter_has_a_range_and_a_unit():
    names = {name for names in DISTRIBUTIONS.values() for name in names}
    assert set(_SERVICE_PARAMS) == names
    timings = leaf_specs({"service": SCHEMA["service"], "patience": SCHEMA["patience"]})
    for key, spec in timings.items():
        assert isinstance(spec.constraint, Interval), key
        assert spec.unit == ("unitless" if key.endswith((".sigma", ".cv")) else "minutes"), key


@pytest.mark.parametrize(
    ("overrides", "read", "expected"),
    [
        (
            ["probability.arrival.ambulance_handover=0.6",
             "probability.arrival.walk_in_registration=0.4"],
            lambda p: {t.target: t.probability for t in p.outgoing("arrival")},
            {"walk_in_registration": 0.4, "ambulance_handover": 0.6},
        ),
        (
            ["probability.treatment.specialty_review=0.5",
             "probability.treatment.discharged=0.5"],
            lambda p: [(t.target, t.probability, t.condition) for t in p.outgoing("treatment")],
            [("specialty_review", None, "acuity <= 1"), ("specialty_review", 0.5, None),
             ("discharged", 0.5, None)],
        ),
        (["service.resus.mean=120"], lambda p: p.activities["resus"].service.params["mean"],
         120.0),
        (["service.triage.median=8", "service.triage.sigma=0.2"],
         lambda p: dict(p.activities["triage"].service.params), {"median": 8.0, "sigma": 0.2}),
        (["service.ambulance_handover.high=45"],
         lambda p: p.activities["ambulance_handover"].service.mean, (5 + 12 + 45) / 3),
        (["patience.mean=60"], lambda p: p.patience.time.params["mean"], 60.0),
        (["adverse_events.deterioration_per_day=0.05"],
         lambda p: p.adverse_events.deterioration_per_day, 0.05),
        (["adverse_events.death_per_day=0"], lambda p: p.adverse_events.death_per_day, 0.0),
        (["adverse_events.death_per_day_after_deterioration=0.2"],
         lambda p: p.adverse_events.death_per_day_after_deterioration, 0.2),
        (["adverse_events.readmission_30d=0.1"], lambda p: p.adverse_events.readmission_30d,
         0.1),
        (["capacity.ed_doctor=12"],
         lambda p: (p.resources["ed_doctor"].capacity, p.resources["ed_doctor"].shifts),
         (12, ((0, 8, 5), (8, 12, 9), (12, 24, 12)))),  # 3, 5, 7 doctors x 12/7, rounded
    ],
)  # fmt: skip
def test_each_key_changes_the_loaded_pathway(overrides, read, expected):
    assert read(load_pathway(DEFAULT_PATHWAY)) != expected
    assert read(pathway(*overrides)) == expected


def test_a_config_file_sets_what_if_sections(tmp_path):
    path = tmp_path / "what_if.toml"
    path.write_text(
        "[probability.arrival]\nwalk_in_registration = 0.5\nambulance_handover = 0.5\n"
        "[service.treatment]\nmedian = 45\n"
    )
    config = resolve("service.treatment.median=50", config_path=path)
    assert config["probability"]["arrival"] == {
        "walk_in_registration": 0.5, "ambulance_handover": 0.5}  # fmt: skip
    assert config["service"]["treatment"] == {"median": 50.0, "sigma": 0.7}


# --- refused values --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["capacity.ed_doctor=-1"],
         "The 'capacity.ed_doctor' parameter of patients must be an int in the range "
         "[1, 100000]. Got -1 instead."),
        (["capacity.ed_doctor=2.5"], "'capacity.ed_doctor' parameter of patients must be an int"),
        (["probability.arrival.ambulance_handover=1.5"],
         "The 'probability.arrival.ambulance_handover' parameter of patients must be a float "
         "in the range [0.0, 1.0]. Got 1.5 instead."),
        (["probability.arrival.ambulance_handover=0.3"],
         "The 'probability.arrival.*' parameters of patients must sum to 1 (set them "
         "together). Got walk_in_registration=0.8 + ambulance_handover=0.3 = 1.1 instead."),
        (["probability.minors_assessment.discharged=0.5"],
         "discharged=0.5 + diagnostics=0.2 + treatment=0.2 = 0.9"),
        (["probability.arrival=1"], "'probability.arrival' for patients is a section"),
        (["service.triage.median=abc"],
         "The 'service.triage.median' parameter of patients must be a float in the range "
         "(0.0, inf). Got 'abc' instead."),
        (["service.triage.sigma=0"], "'service.triage.sigma' parameter of patients must be a "
         "float in the range (0.0, inf). Got 0 instead."),
        (["service.arrival.value=-1"], "'service.arrival.value' parameter of patients must be "
         "a float in the range [0.0, inf)"),
        (["service.ambulance_handover.mode=40"],
         "The 'service.ambulance_handover.*' parameters of patients must describe a valid "
         "triangular distribution: need 0 <= low <= mode <= high and low < high (minutes), "
         "got low=5.0, mode=40.0, high=30.0."),
        (["patience.mean=0"], "'patience.mean' parameter of patients must be a float in the "
         "range (0.0, inf). Got 0 instead."),
        (["adverse_events.death_per_day=-0.1"], "'adverse_events.death_per_day' parameter of "
         "patients must be a float in the range [0.0, 1440.0]. Got -0.1 instead."),
        (["adverse_events.readmission_30d=1.2"], "'adverse_events.readmission_30d' parameter "
         "of patients must be a float in the range [0.0, 1.0]. Got 1.2 instead."),
        (["run.days=0"], "'run.days' parameter of patients must be an int in the range "
         "[1, 3660]. Got 0 instead."),
    ],
)  # fmt: skip
def test_bad_values_name_the_key_and_the_range(overrides, message):
    with pytest.raises(ConfigError) as error:
        resolve(*overrides)
    assert message in str(error.value)


def test_unknown_key_lists_the_valid_keys():
    with pytest.raises(ConfigError, match="Unknown config key 'capacity.nope' for patients") as e:
        resolve("capacity.nope=3")
    assert "Valid keys: " in str(e.value)
    for key in (
        "capacity.ward_bed",
        "probability.arrival.ambulance_handover",
        "service.triage.sigma",
        "patience.mean",
        "adverse_events.readmission_30d",
    ):
        assert key in str(e.value)  # fmt: skip


def test_probabilities_that_sum_to_one_in_floating_point_are_accepted():
    config = resolve(*[f"probability.minors_assessment.{t}=0.1" for t in ("diagnostics",
                       "treatment")], "probability.minors_assessment.discharged=0.8")  # fmt: skip
    assert load_pathway(pathway_document(config))


# --- the schema mechanisms the generated keys rely on ----------------------------------------


def test_param_default_fills_an_omitted_key_and_is_validated():
    schema = {"s": {"x": Param("int", Interval(int, 1, 9), default=3)}}
    assert validate({}, schema, "demo") == {"s": {"x": 3}}
    assert validate({"s": {"x": 5}}, schema, "demo") == {"s": {"x": 5}}
    assert describe_schema(schema, {})[0][2] == 3
    bad = {"s": {"x": Param("int", Interval(int, 1, 9), default=0)}}
    with pytest.raises(ConfigError, match="'s.x' parameter of demo"):
        validate({}, bad, "demo")


def test_section_check_runs_after_its_values():
    schema = {"s": Section({"a": Param("int"), "b": Param("int")},
                           lambda v: None if v["a"] < v["b"] else "must have a < b")}  # fmt: skip
    assert validate({"s": {"a": 1, "b": 2}}, schema, "demo") == {"s": {"a": 1, "b": 2}}
    with pytest.raises(ConfigError, match=r"The 's\.\*' parameters of demo must have a < b\."):
        validate({"s": {"a": 2, "b": 1}}, schema, "demo")
    with pytest.raises(ConfigError, match="'s.a' parameter of demo must be an int"):
        validate({"s": {"a": "x", "b": 1}}, schema, "demo")


# --- command line ----------------------------------------------------------------------------


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def sets(*overrides):
    return [x for item in overrides for x in ("--set", item)]


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        (["probability.arrival.ambulance_handover=1.5"],
         "'probability.arrival.ambulance_handover' parameter of patients must be a float in "
         "the range [0.0, 1.0]. Got 1.5 instead."),
        (["probability.arrival.ambulance_handover=0.5",
          "probability.arrival.walk_in_registration=0.6"],
         "'probability.arrival.*' parameters of patients must sum to 1"),
        (["capacity.nope=3"], "Unknown config key 'capacity.nope' for patients."),
        (["run.days=0"], "'run.days' parameter of patients must be an int in the range"),
    ],
)  # fmt: skip
def test_cli_refuses_bad_what_ifs_and_writes_nothing(tmp_path, overrides, fragment):
    result = invoke("run", "patients", *sets(*TINY, *overrides), "--out", tmp_path / "ds",
                    "--quiet")  # fmt: skip
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("error: ") and fragment in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_cli_what_if_changes_the_dataset(tmp_path):
    out = tmp_path / "ds"
    result = invoke("run", "patients", "--out", out, "--quiet", *sets(
        *TINY, "probability.arrival.ambulance_handover=1.0",
        "probability.arrival.walk_in_registration=0.0"))  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    names = set(read_table(out, "events")["concept:name"].astype(str))
    assert "ambulance_handover" in names and "walk_in_registration" not in names


def test_describe_lists_every_generated_key_with_its_default():
    result = CliRunner().invoke(cli, ["describe", "patients"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    rows = {}
    for line in result.output.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if cells and cells[0]:
            rows[cells[0]] = cells
    defaults = flatten(resolve())
    for key in leaf_specs(SCHEMA):
        assert rows[key][2] == str(defaults[key]), key
    assert rows["probability.arrival.ambulance_handover"][2:] == [
        "0.2", "[0.0, 1.0]",
        "chance that arrival goes on to ambulance_handover [probability]"]  # fmt: skip
    assert rows["service.triage.median"][4].endswith("[minutes]")
    assert rows["adverse_events.death_per_day"][4].endswith("[per patient-day]")


# -- a pathway file of one's own ---------------------------------------------------------
def write_pathway(folder, edit=lambda text: text, name="mine.toml"):
    path = folder / name
    path.write_text(edit(DEFAULT_PATHWAY.read_text()))
    return path


@pytest.mark.parametrize(
    "edit, fragment",
    [
        (lambda t: t.replace("capacity = 140\n", "capacity = 0\n"),
         "[resources] ward_bed: capacity must be an integer >= 1, got 0"),
        (lambda t: t.replace('target = "triage"\nprobability = 1.0', 'target = "triage"\n'
                             'probability = 0.5', 1),
         "probabilities out of 'walk_in_registration' sum to 0.5"),
        (lambda t: t.replace('target = "discharged_from_ward"', 'target = "mortuary"'),
         "unknown target 'mortuary'"),
        (lambda t: t.replace('attributes = ["age", "acuity"]',
                             'attributes = ["age", "acuity", "frailty"]'),
         "declares attributes 'frailty' that the patients scenario does not provide"),
        (lambda t: t + "[[transitions\n", "is not valid TOML"),
    ],
)  # fmt: skip
def test_cli_refuses_a_bad_pathway_file_and_writes_nothing(tmp_path, edit, fragment):
    file = write_pathway(tmp_path, edit)
    out = tmp_path / "out"
    result = invoke("run", "patients", *sets(*TINY, f'run.pathway="{file}"'), "--out", out,
                    "--quiet")  # fmt: skip
    assert result.exit_code == 2, result.output
    assert fragment in result.stderr and str(file) in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [file.name]


def test_cli_refuses_a_missing_pathway_file(tmp_path):
    result = invoke("run", "patients", *sets(*TINY, 'run.pathway="nowhere.toml"'), "--out",
                    tmp_path / "out", "--quiet")  # fmt: skip
    assert result.exit_code == 2 and "'nowhere.toml' does not exist" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_what_if_keys_come_from_ones_own_pathway(tmp_path):
    """A pathway file of one's own gets what-if keys for its resources (and not the built-in
    ED's), with its own values as defaults, and they change the pathway that runs."""
    file = write_pathway(tmp_path, lambda t: t.replace("[resources.ward_bed]",
                                                       "[resources.inpatient_bed]").replace(
        'resource = "ward_bed"', 'resource = "inpatient_bed"'))  # fmt: skip
    config = resolve(f'run.pathway="{file}"', "capacity.inpatient_bed=90")
    assert "ward_bed" not in config["capacity"]
    assert configured_pathway(config).resources["inpatient_bed"].capacity == 90
    assert configured_pathway(resolve(f'run.pathway="{file}"')).resources[
        "inpatient_bed"].capacity == load_pathway(DEFAULT_PATHWAY).resources["ward_bed"].capacity
    with pytest.raises(ConfigError, match=r"capacity.*ward_bed.*inpatient_bed"):
        resolve(f'run.pathway="{file}"', "capacity.ward_bed=90")


def test_a_condition_typo_is_refused_when_the_config_is_resolved(tmp_path):
    file = write_pathway(tmp_path, lambda t: t.replace('condition = "acuity <= 1"',
                                                       'condition = "acuty <= 1"', 1))
    with pytest.raises(ConfigError) as caught:
        resolve(f'run.pathway="{file}"')
    message = str(caught.value)
    assert str(file) in message and "[transitions] #5 (triage -> resus)" in message
    assert "did you mean 'acuity'" in message


def test_a_pathway_file_of_ones_own_drives_the_run(tmp_path):
    no_ambulance = write_pathway(tmp_path, lambda t: t.replace(
        'target = "walk_in_registration"\nprobability = 0.8',
        'target = "walk_in_registration"\nprobability = 1.0').replace(
        'target = "ambulance_handover"\nprobability = 0.2',
        'target = "ambulance_handover"\nprobability = 0.0'))  # fmt: skip
    out = tmp_path / "ds"
    result = invoke("run", "patients", "--out", out, "--quiet",
                    *sets(*TINY, f'run.pathway="{no_ambulance}"'))  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    names = set(read_table(out, "events")["concept:name"].astype(str))
    assert "walk_in_registration" in names and "ambulance_handover" not in names
