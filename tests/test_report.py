"""The overview figure of a dataset."""

from click.testing import CliRunner

from simulations.cli import cli

SMALL = ["--set", "population.n_customers=500", "--set", "run.days=14",
         "--set", "fraud.card_testing=5.0"]  # fmt: skip


def test_plot_writes_a_png_beside_the_dataset(tmp_path):
    out = tmp_path / "ds"
    assert (
        CliRunner().invoke(cli, ["run", "bank", *SMALL, "--out", str(out), "--quiet"]).exit_code
        == 0
    )
    result = CliRunner().invoke(cli, ["plot", str(out)])
    assert result.exit_code == 0, result.output
    png = tmp_path / "ds-overview.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


def test_plot_refuses_a_folder_that_is_not_a_dataset(tmp_path):
    result = CliRunner().invoke(cli, ["plot", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: {tmp_path} is not a synthsim dataset (it has no manifest.json)."
    ]
