"""The ``synthsim`` command line: list, describe and run scenarios."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from simulations.config import describe_schema, load_toml
from simulations.datasets import read_manifest
from simulations.errors import ConfigError, OutputError, SynthsimError
from simulations.eventlog import FORMATS, is_dataset
from simulations.runner import run
from simulations.scenario import get_scenario, list_scenarios

__all__ = ["main", "cli"]

_EXIT_ERROR = 2


class _Group(click.Group):
    """Turns the framework's own errors into one line on stderr and exit status 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SynthsimError as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(_EXIT_ERROR)


@click.group(cls=_Group)
@click.version_option(package_name="synthsim")
def cli() -> None:
    """Generate synthetic datasets by agent-based and rule-based simulation."""


@cli.command("list")
def list_command() -> None:
    """List the available scenarios."""
    for name, description in list_scenarios().items():
        click.echo(f"{name:12s} {description}")


@cli.command()
@click.argument("scenario")
def describe(scenario: str) -> None:
    """Show a scenario's config keys, defaults and output tables."""
    sc = get_scenario(scenario)
    # Wide and literal: keys must be readable in full when piped, and "[days]" or
    # "timestamp[s]" are text, not rich markup.
    console = Console(width=200, markup=False, highlight=False)
    keys = Table(title=Text(f"{sc.name}: {sc.description}"), title_justify="left")
    for column in ("key", "type", "default", "allowed", "meaning"):
        keys.add_column(column)
    for key, kind, default, allowed, doc in describe_schema(
        sc.schema, load_toml(sc.default_config)
    ):
        keys.add_row(*(Text(str(cell)) for cell in (key, kind, default, allowed, doc)))
    console.print(keys)
    for name, schema in sc.tables.items():
        title = Text(f"table {name}: {sc.table_docs.get(name, '')}")
        table = Table(title=title, title_justify="left")
        table.add_column("column")
        table.add_column("type")
        for field in schema:
            table.add_row(Text(field.name), Text(str(field.type)))
        console.print(table)


@cli.command("run")
@click.argument("scenario")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML file merged over the scenario's defaults.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override one config key, e.g. --set population.n_customers=5000 (repeatable).",
)
@click.option("--seed", type=click.IntRange(min=0), help="Root seed (overrides run.seed).")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Dataset folder to create [default: ./out/SCENARIO].",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="parquet", show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Local processes running shards; the output does not depend on it.",
)
@click.option(
    "--engine",
    default=None,
    help="'kernel' (Numba) or 'reference' (the readable Mesa/SimPy model) "
    "[default: the scenario's first engine].",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing dataset at --out.")
@click.option("--quiet", is_flag=True, help="No progress bar or summary.")
def run_command(scenario, config_path, overrides, seed, out, fmt, workers, engine, overwrite,
                quiet) -> None:  # fmt: skip
    """Simulate SCENARIO and write its dataset (Parquet or CSV parts plus manifest.json)."""
    sc = get_scenario(scenario)
    config = sc.resolve_config(config_path, overrides, seed)
    result = run(sc, config, out or Path("out") / sc.name, fmt=fmt, workers=workers,
                 overwrite=overwrite, engine=engine,
                 progress=not quiet)  # fmt: skip
    if quiet:
        return
    tables = result.manifest["tables"]
    rows = sum(t["rows"] for t in tables.values())
    click.echo(f"wrote {result.path} in {result.seconds:.1f} s "
               f"({rows / max(result.seconds, 1e-9):,.0f} rows/s)")  # fmt: skip
    for name, table in tables.items():
        click.echo(f"  {name:14s} {table['rows']:>12,} rows")
    for table, columns in result.manifest["label_prevalence"].items():
        for column, values in columns.items():
            for value, stats in values.items():
                label = column if value == "true" else f"{column}={value}"
                click.echo(f"  {table}.{label}: {stats['rows']:,} ({stats['prevalence']:.4%})")


@cli.command()
@click.argument("dataset", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="PNG file to write [default: DATASET-overview.png beside the dataset].",
)
def plot(dataset: Path, out: Path | None) -> None:
    """Draw an overview figure of DATASET (written by 'synthsim run') as a PNG."""
    if not is_dataset(dataset):
        raise ConfigError(f"{dataset} is not a synthsim dataset (it has no manifest.json).")
    manifest = read_manifest(dataset)
    figure = get_scenario(manifest["scenario"]).overview_figure(dataset)
    out = out or dataset.with_name(f"{dataset.name}-overview.png")
    figure.savefig(out, dpi=110)
    click.echo(f"wrote {out}")


@cli.command()
@click.option(
    "--marginal",
    "marginal_paths",
    multiple=True,
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Tidy CSV marginal (variable columns + count); repeatable.",
)
@click.option(
    "--sample",
    "sample_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Seed microdata CSV to reweight instead of IPF.",
)
@click.option("--size", type=click.IntRange(min=1), required=True, help="Number of agents.")
@click.option("--seed", type=click.IntRange(min=0), default=42, show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Population file to write (.parquet or .csv).",
)
@click.option("--names", is_flag=True, help="Attach Faker first and last names (by sex).")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out file.")
def calibrate(marginal_paths, sample_path, size, seed, out, names, overwrite) -> None:  # fmt: skip
    """Synthesise a population from marginal tables and print how well it fits them."""

    from calibration.synthesis import attach_identities, synthesise
    from calibration.tables import read_marginal

    if out.suffix not in (".parquet", ".csv"):
        raise ConfigError(f"--out must end in .parquet or .csv. Got {str(out)!r} instead.")
    if out.exists() and not overwrite:
        raise OutputError(f"{out} already exists; pass --overwrite to replace it.")
    marginals = [read_marginal(path) for path in marginal_paths]
    sample = read_marginal(sample_path) if sample_path else None
    result = synthesise(marginals, size, rng=seed, sample=sample)
    partial = out.with_name(f".{out.name}.partial")
    population = result.population.astype(str)
    if names:
        population = attach_identities(population, seed)
    if out.suffix == ".csv":
        population.to_csv(partial, index=False)
    else:
        population.to_parquet(partial, index=False)
    partial.replace(out)
    table = Table(title=Text(f"fit of {size:,} agents (converged: {result.converged})"),
                  title_justify="left")  # fmt: skip
    for column in ("marginal", "cells", "target total", "max abs error", "max rel error"):
        table.add_column(column)
    for name, rows in result.report.groupby("marginal", sort=False):
        table.add_row(Text(name), str(len(rows)), f"{rows.target.sum():,.0f}",
                      f"{rows.abs_error.max():,.2f}", f"{rows.rel_error.max():.2%}")  # fmt: skip
    Console(width=200).print(table)
    click.echo(f"wrote {out}")


@cli.group()
def export() -> None:
    """Export a dataset's event log to another format."""


@export.command("xes")
@click.argument("dataset", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--table",
    default=None,
    help="Event table [default: the one with the "
    "process-mining columns case:concept:name, concept:name, time:timestamp].",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="XES file to write [default: DATASET.xes beside the dataset].",
)
def export_xes(dataset: Path, table: str | None, out: Path | None) -> None:  # fmt: skip
    """Write DATASET's event log as XES (IEEE 1849-2016) for process-mining tools."""
    from simulations.datasets import read_table
    from simulations.xes import write_xes

    if not is_dataset(dataset):
        raise ConfigError(f"{dataset} is not a synthsim dataset (it has no manifest.json).")
    tables = read_manifest(dataset)["tables"]
    required = {"case:concept:name", "concept:name", "time:timestamp"}
    logs = [n for n, t in tables.items() if required <= {c["name"] for c in t["schema"]}]
    if table is None and not logs:
        raise ConfigError(f"{dataset} has no event table with the columns {sorted(required)}.")
    table = table or logs[0]
    if table not in tables:
        raise ConfigError(f"{dataset} has no table {table!r}; tables: {sorted(tables)}.")
    out = out or dataset.with_name(f"{dataset.name}.xes")
    traces, events = write_xes(read_table(dataset, table), out)
    click.echo(f"wrote {out}: {traces:,} traces, {events:,} events")


def main() -> None:
    """Console-script entry point."""
    sys.exit(cli(standalone_mode=True))


if __name__ == "__main__":
    main()
