"""Bank customers are synthesised from census marginals, and fit them."""

import numpy as np
import pandas as pd
import pytest

from scenarios.bank.marginals import MARGINAL_SETS, load_marginals
from simulations.datasets import read_manifest, read_table
from simulations.errors import ConfigError
from simulations.runner import run
from simulations.scenario import get_scenario

N, SHARD = 6000, 2000
COLUMNS = {"age_band": "age_band", "sex": "sex", "region": "region",
           "household_income": "income_band"}  # fmt: skip


def _run(tmp_path, *overrides):
    scenario = get_scenario("bank")
    config = scenario.resolve_config(overrides=[
        f"population.n_customers={N}", f"run.shard_size={SHARD}", "run.days=1", *overrides,
    ])  # fmt: skip
    run(scenario, config, tmp_path / "ds", progress=False)
    return tmp_path / "ds"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("calibrated"))


@pytest.mark.parametrize("table", range(len(MARGINAL_SETS["us_2022"])))
def test_customers_match_the_shipped_marginals(dataset, table):
    customers = read_table(dataset, "customers")
    marginal = load_marginals("us_2022")[table]
    variables = [v for v in marginal.columns if v != "count"]
    target = marginal.set_index(variables)["count"] * N / marginal["count"].sum()
    achieved = customers.groupby([COLUMNS[v] for v in variables], observed=True).size()
    achieved.index.names = variables
    achieved = achieved.reindex(target.index, fill_value=0)
    # Per shard, truncate-replicate-sample rounds each joint cell up with probability equal
    # to its fraction: a marginal cell over m joint cells in S shards errs by a sum of at
    # most S*m centred Bernoullis (variance <= S*m/4). Four sigma: 2*sqrt(S*m), plus 1.
    joint_cells = np.prod([m[v].nunique() for m in load_marginals("us_2022")
                           for v in m.columns if v != "count"])  # fmt: skip
    m = joint_cells // len(target)
    bound = 2 * np.sqrt(N // SHARD * m) + 1
    assert achieved.sum() == N
    assert (achieved - target).abs().max() <= bound, (achieved - target).abs().max()


def test_manifest_records_the_fit(dataset):
    summary = read_manifest(dataset)["summary"]
    customers = read_table(dataset, "customers")
    regions = customers.region.astype(str).value_counts()
    for region, count in regions.items():
        assert summary[f"fit.region[{region}].achieved"] == count
    targets = [v for k, v in summary.items() if k.startswith("fit.region[") and k.endswith(
        ".target")]  # fmt: skip
    assert sum(targets) == pytest.approx(N)


def test_ages_and_incomes_lie_in_their_bands(dataset):
    customers = read_table(dataset, "customers")
    bands = customers.age_band.astype(str).str.extract(r"(\d+)(?:-(\d+))?").astype(float)
    assert (customers.age >= bands[0]).all()
    assert (customers.age[bands[1].notna()] <= bands[1][bands[1].notna()]).all()
    assert (customers.monthly_income >= 0).all()


def test_users_own_marginals_are_used(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    pd.DataFrame({"age_band": ["25-34", "35-44"], "sex": ["F", "F"], "count": [1, 3]}).to_csv(
        folder / "age_sex.csv", index=False)  # fmt: skip
    pd.DataFrame({"region": ["West"], "count": [4]}).to_csv(folder / "region.csv", index=False)
    pd.DataFrame({"household_income": ["50000-59999"], "count": [4]}).to_csv(
        folder / "income.csv", index=False)  # fmt: skip
    customers = read_table(_run(tmp_path, f"population.marginals={folder}"), "customers")
    assert set(customers.region.astype(str)) == {"West"}
    assert set(customers.sex.astype(str)) == {"F"}
    share = (customers.age_band.astype(str) == "35-44").mean()
    assert abs(share - 0.75) < 4 * np.sqrt(0.75 * 0.25 / N) + 3 / N  # integerised per shard
    assert customers.monthly_income.between(50_000 / 12 * 0.75, 60_000 / 12 * 0.75).all()


def test_unknown_marginals_are_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="population.marginals.*us_2022"):
        _run(tmp_path, "population.marginals=nowhere")
    assert not (tmp_path / "ds").exists()
