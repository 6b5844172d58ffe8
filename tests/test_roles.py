"""Table roles: validated, round-tripped through the manifest, declared by every scenario."""

from __future__ import annotations

import json

import pytest

from simulations.errors import ConfigError
from simulations.roles import TableRoles
from simulations.scenario import get_scenario, list_scenarios


def test_roles_round_trip_through_json():
    roles = TableRoles(labels=("y",), cases=("case",), entities=("a", "b"), time="t",
                       event_type="kind", amounts=("amount",), identifiers=("id",),
                       references=("shop",))  # fmt: skip
    assert TableRoles.from_dict(json.loads(json.dumps(roles.to_dict()))) == roles
    assert roles.keys == {"id", "a", "b", "case", "shop"}
    assert roles.not_features == {"y", "case", "id", "a", "b"}


def test_unknown_role_names_the_valid_ones():
    with pytest.raises(ConfigError, match="Unknown role 'label'; valid roles: labels, "):
        TableRoles.from_dict({"label": ["y"]})


def test_a_bare_string_is_not_a_list_of_columns():
    with pytest.raises(ConfigError, match="The 'labels' role must be a sequence"):
        TableRoles(labels="is_fraud")


def test_check_names_missing_columns_and_the_present_ones():
    with pytest.raises(ConfigError, match=r"t has no column 'x'; its columns are: a, b\."):
        TableRoles(labels=("x",)).check(["a", "b"], "t")


@pytest.mark.parametrize("name", sorted(list_scenarios()))
def test_every_scenario_declares_roles_of_its_own_columns(name):
    scenario = get_scenario(name)
    assert scenario.roles, name
    for table, roles in scenario.roles.items():
        roles.check(scenario.tables[table].names, table)


def test_manifest_records_the_roles(tmp_path):
    from simulations.datasets import read_manifest
    from simulations.runner import run

    scenario = get_scenario("bank")
    config = scenario.resolve_config(overrides=["population.n_customers=200", "run.days=2",
                                                "population.n_merchants=50"])  # fmt: skip
    run(scenario, config, tmp_path / "ds", progress=False)
    manifest = read_manifest(tmp_path / "ds")
    assert manifest["manifest_version"] == 4
    recorded = {t: TableRoles.from_dict(r) for t, r in manifest["roles"].items()}
    assert recorded == scenario.roles
