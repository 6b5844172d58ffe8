"""Population synthesis from marginals (IPF path and sample path), identities, and the CLI."""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from calibration.synthesis import attach_identities, synthesise
from simulations.cli import cli
from simulations.errors import CalibrationError

AGE_SEX = pd.DataFrame({"age": ["young", "young", "old", "old"], "sex": ["F", "M", "F", "M"],
                        "count": [30, 20, 10, 40]})  # fmt: skip
REGION = pd.DataFrame({"region": ["N", "S", "W"], "count": [500, 300, 200]})


def test_population_has_exact_size_and_fits_rescaled_marginals():
    result = synthesise([AGE_SEX, REGION], 10_000, rng=3)
    assert result.converged and len(result.population) == 10_000
    report = result.report.set_index("cell")
    assert report.target.groupby(result.report.marginal.to_numpy()).sum().tolist() == [
        pytest.approx(10_000), pytest.approx(10_000)]  # fmt: skip
    # 12 joint cells, each rounded at most once: no marginal cell is off by more than 12.
    assert report.abs_error.max() <= 12
    assert report.loc["old, M", "target"] == pytest.approx(4000)


def test_same_seed_same_population_and_shuffled_order():
    a = synthesise([AGE_SEX, REGION], 500, rng=9).population
    b = synthesise([AGE_SEX, REGION], 500, rng=9).population
    pd.testing.assert_frame_equal(a, b)
    assert not a.sort_values(list(a.columns)).reset_index(drop=True).equals(a)


def test_sample_records_are_reweighted_and_replicated():
    rng = np.random.default_rng(0)
    sample = pd.DataFrame({"region": rng.choice(["N", "S", "W"], 300),
                           "tenure": rng.choice(["own", "rent"], 300)})  # fmt: skip
    tenure = pd.DataFrame({"tenure": ["own", "rent"], "count": [650, 350]})
    result = synthesise([REGION, tenure], 2000, rng=1, sample=sample)
    counts = result.population.region.value_counts()
    # Integerising 300 weights: each record rounds at most once; 4-sigma of 300 Bernoullis.
    assert abs(counts["N"] - 1000) <= 4 * np.sqrt(300 / 4) + 1
    assert set(result.population.columns) == {"region", "tenure"}


def test_bad_inputs_are_refused():
    with pytest.raises(CalibrationError, match="'size' parameter"):
        synthesise([REGION], 0, rng=1)
    with pytest.raises(CalibrationError, match="positive total"):
        synthesise([REGION.assign(count=0)], 10, rng=1)
    with pytest.raises(CalibrationError, match="lacks the marginal variables"):
        synthesise([REGION], 10, rng=1, sample=pd.DataFrame({"tenure": ["own"]}))


def test_identities_follow_sex_and_seed():
    population = synthesise([AGE_SEX], 400, rng=2).population
    named = attach_identities(population, 5)
    from faker.providers.person.en_US import Provider

    men = named[named.sex.astype(str) == "M"]
    assert set(men.first_name) <= set(Provider.first_names_male)
    assert named.equals(attach_identities(population, 5))


def test_calibrate_command_writes_the_population_and_prints_the_fit(tmp_path):
    AGE_SEX.to_csv(tmp_path / "age_sex.csv", index=False)
    REGION.to_csv(tmp_path / "region.csv", index=False)
    args = ["calibrate", "--marginal", str(tmp_path / "age_sex.csv"), "--marginal",
            str(tmp_path / "region.csv"), "--size", "1000", "--out", str(tmp_path / "p.csv"),
            "--names"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "age x sex" in result.output and "converged: True" in result.output
    population = pd.read_csv(tmp_path / "p.csv")
    assert len(population) == 1000 and {"first_name", "region"} <= set(population.columns)
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 2 and "already exists" in again.output
