"""The ``synthsim`` command line: list, describe and run scenarios."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from simulations.backends import check_scheduler
from simulations.compiling import COMPILING_MESSAGE, cold_modules
from simulations.config import describe_schema, load_toml
from simulations.datasets import read_manifest
from simulations.errors import ConfigError, OutputError, SynthsimError
from simulations.eventlog import FORMATS, is_dataset
from simulations.locations import is_url
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


def _require_dataset(dataset: Path | str) -> None:
    if not is_dataset(dataset):
        raise ConfigError(f"{dataset} is not a synthsim dataset (it has no manifest.json).")


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


def _check_scheduler(ctx: click.Context, param: click.Parameter, value: str | None):
    """``--scheduler`` as given, or a usage error naming the bad value."""
    try:
        return check_scheduler(value)
    except ValueError as error:
        raise click.BadParameter(str(error), ctx, param) from None


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
    type=click.Path(path_type=str),  # a str: Path would turn memory://x into memory:/x
    default=None,
    help="Dataset folder to create [default: ./out/SCENARIO], or an fsspec URL "
    "(s3://BUCKET/PREFIX with synthsim[s3], gs://... with synthsim[gcs]), where the manifest, "
    "written last, is the commit.",
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
    "--scheduler",
    metavar="ADDRESS|local",
    default=None,
    callback=_check_scheduler,
    help="Run shards on Dask instead of local processes [default: local processes, "
    "--workers of them]. 'local' starts a Dask LocalCluster of --workers workers; an address "
    "(tcp://HOST:8786) uses a running cluster ('dask scheduler', then 'dask worker "
    "tcp://HOST:8786' on each machine, with synthsim installed), whose workers must see the "
    "output folder at the same path (a shared file system). The output does not depend on it.",
)
@click.option(
    "--engine",
    default=None,
    help="'kernel' (Numba) or 'reference' (the readable Mesa/SimPy model) "
    "[default: the scenario's first engine].",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing dataset at --out.")
@click.option("--quiet", is_flag=True, help="No progress bar or summary.")
def run_command(scenario, config_path, overrides, seed, out, fmt, workers, scheduler, engine,
                overwrite, quiet) -> None:  # fmt: skip
    """Simulate SCENARIO and write its dataset (Parquet or CSV parts plus manifest.json)."""
    sc = get_scenario(scenario)
    config = sc.resolve_config(config_path, overrides, seed)
    if not quiet and (engine or sc.engines[0]) == "kernel" and cold_modules(sc.kernel_modules):
        click.echo(COMPILING_MESSAGE, err=True)  # Numba's cache is empty or stale
    result = run(sc, config, out or Path("out") / sc.name, fmt=fmt, workers=workers,
                 scheduler=scheduler, overwrite=overwrite, engine=engine,
                 progress=not quiet)  # fmt: skip
    if quiet:
        return
    tables = result.manifest["tables"]
    rows = sum(t["rows"] for t in tables.values())
    click.echo(f"wrote {result.path} in {result.seconds:.1f} s "
               f"({rows / max(result.seconds, 1e-9):,.0f} rows/s)")  # fmt: skip
    width = max(map(len, tables), default=0)
    for name, table in tables.items():
        click.echo(f"  {name:{width}s} {table['rows']:>12,} rows")
    for table, columns in result.manifest["label_prevalence"].items():
        for column, values in columns.items():
            for value, stats in values.items():
                label = column if value == "true" else f"{column}={value}"
                click.echo(f"  {table}.{label}: {stats['rows']:,} ({stats['prevalence']:.4%})")
    for table, columns in result.manifest["label_unknown"].items():
        for column, count in columns.items():
            click.echo(f"  {table}.{column}: {count:,} unknown (censored), left out of the share")
    if result.manifest["metrics"]:
        click.echo("metrics:")
        width = max(map(len, result.manifest["metrics"]))
        for name, value in result.manifest["metrics"].items():
            shown = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
            click.echo(f"  {name:{width}s} {shown}")
    if result.manifest["targets"]:
        click.echo("published targets (target +- tolerance: achieved):")
        width = max(map(len, result.manifest["targets"]))
        for name, t in result.manifest["targets"].items():
            verdict = "within" if t["within"] else "OUTSIDE"
            click.echo(f"  {name:{width}s} {t['target']:.4g} +- {t['tolerance']:.3g}: "
                       f"{t['achieved']:.4g} ({verdict})")


@cli.command()
@click.argument("dataset", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="PNG file to write [default: DATASET-overview.png beside the dataset].",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing --out file.")
def plot(dataset: Path, out: Path | None, overwrite: bool) -> None:
    """Draw an overview figure of DATASET (written by 'synthsim run') as a PNG."""
    _require_dataset(dataset)
    out = out or dataset.with_name(f"{dataset.name}-overview.png")
    _refuse_existing(out, overwrite)
    manifest = read_manifest(dataset)
    _save_figure(get_scenario(manifest["scenario"]).overview_figure(dataset), out)


@cli.command("fidelity")
@click.argument("dataset", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--figure", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="PNG to write [default: DATASET-fidelity.png beside the dataset].")
@click.option("--overwrite", is_flag=True, help="Replace an existing figure.")
def fidelity_command(dataset: Path, out: Path | None, overwrite: bool) -> None:
    """Score DATASET against the real data its scenario was fitted to, measure by measure
    with thresholds, and draw real against synthetic."""
    _require_dataset(dataset)
    out = out or dataset.with_name(f"{dataset.name}-fidelity.png")
    _refuse_existing(out, overwrite)
    scores, figure = get_scenario(read_manifest(dataset)["scenario"]).fidelity(dataset)
    table = Table(title=f"{dataset}: fidelity")
    for column in ("measure", "kind", "score", "threshold", "passed"):
        table.add_column(column, justify="right" if column in ("score", "threshold") else "left")
    for row in scores.itertuples():
        table.add_row(row.measure, row.kind, f"{row.score:.4g}",
                      "" if row.threshold != row.threshold else f"{row.threshold:.4g}",
                      "" if row.passed != row.passed else ("yes" if row.passed else "NO"))
    Console().print(table)
    _save_figure(figure, out)


def _save_figure(figure, out: Path) -> None:
    """Write ``figure`` as a PNG atomically (a partial file renamed into place)."""
    partial = out.with_name(f".{out.name}.partial")
    try:
        figure.savefig(partial, dpi=110, format="png")
        partial.replace(out)
    except OSError as exc:
        raise OutputError(f"cannot write {out}: {exc.strerror or exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    click.echo(f"wrote {out}")


def _refuse_existing(out: Path, overwrite: bool) -> None:
    """Refuse to replace an existing ``out`` unless ``--overwrite`` was given."""
    if out.exists() and not overwrite:
        raise OutputError(f"{out} already exists; pass --overwrite to replace it.")


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
@click.argument("dataset", type=click.Path(file_okay=False, path_type=str))  # or a URL
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
    help="XES file to write [default: DATASET.xes beside the dataset; required when DATASET "
    "is a URL].",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing --out file.")
def export_xes(dataset: str, table: str | None, out: Path | None,
               overwrite: bool) -> None:  # fmt: skip
    """Write DATASET (a folder or an fsspec URL) as XES (IEEE 1849-2016) for process-mining
    tools."""
    from simulations.datasets import read_table
    from simulations.xes import write_xes

    _require_dataset(dataset)
    tables = read_manifest(dataset)["tables"]
    required = {"case:concept:name", "concept:name", "time:timestamp"}
    logs = [n for n, t in tables.items() if required <= {c["name"] for c in t["schema"]}]
    if table is None and not logs:
        raise ConfigError(f"{dataset} has no event table with the columns {sorted(required)}.")
    table = table or logs[0]
    if table not in tables:
        raise ConfigError(f"{dataset} has no table {table!r}; tables: {sorted(tables)}.")
    if out is None and is_url(dataset):
        raise ConfigError(f"{dataset} is a URL; pass --out FILE.xes.")
    out = out or Path(dataset).with_name(f"{Path(dataset).name}.xes")
    _refuse_existing(out, overwrite)
    traces, events = write_xes(read_table(dataset, table), out)  # atomic (os.replace)
    click.echo(f"wrote {out}: {traces:,} traces, {events:,} events")


def _export_table(fmt: str, dataset: Path, out: Path | None, overwrite: bool) -> None:
    """Convert ``dataset`` with its scenario's ``fmt`` export and write it as CSV atomically."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    _require_dataset(dataset)
    out = out or dataset.with_name(f"{dataset.name}-{fmt}.csv")
    if out.exists() and not overwrite:
        raise OutputError(f"{out} already exists; pass --overwrite to replace it.")
    frame = get_scenario(read_manifest(dataset)["scenario"]).export(fmt, dataset)
    partial = out.with_name(f".{out.name}.partial")
    try:
        table = pa.Table.from_arrays([pa.array(frame.iloc[:, i]) for i in
                                      range(frame.shape[1])], names=list(frame.columns))
        with open(partial, "wb") as sink:  # Arrow quotes header names; these formats don't
            sink.write((",".join(frame.columns) + "\n").encode())
            pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False,
                                                            quoting_style="none"))
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    click.echo(f"wrote {out}: {len(frame):,} rows")


for _fmt, _help in (("paysim", "PaySim's transaction log (Lopez-Rojas et al., 2016)"),
                    ("amlworld", "IBM AMLworld's transaction file (Altman et al., 2023)")):

    @export.command(_fmt, help=f"Write DATASET's transactions as {_help}, in CSV.")
    @click.argument("dataset", type=click.Path(file_okay=False, path_type=Path))
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="CSV file to write [default: DATASET-FORMAT.csv beside the dataset].")
    @click.option("--overwrite", is_flag=True, help="Replace an existing --out file.")
    def _export(dataset: Path, out: Path | None, overwrite: bool, fmt: str = _fmt) -> None:
        _export_table(fmt, dataset, out, overwrite)


def _role_options(function):
    """The options that name column roles, shared by ``audit`` and ``compare``."""
    options = [
        click.option("--label", "labels", multiple=True, metavar="COLUMN",
                     help="Label column to audit (repeatable)."),
        click.option("--entity", "entities", multiple=True, metavar="COLUMN",
                     help="Entity key (repeatable; a row's entity is the first non-null)."),
        click.option("--case", "cases", multiple=True, metavar="COLUMN",
                     help="Key tying labelled rows into one case (kept in one fold)."),
        click.option("--time", "time_column", metavar="COLUMN",
                     help="Event timestamp column."),
        click.option("--event-type", "event_type", metavar="COLUMN",
                     help="Column of event kinds (rules are also searched within each)."),
        click.option("--amount", "amounts", multiple=True, metavar="COLUMN",
                     help="Amount column (roundness, per-entity sums)."),
        click.option("--identifier", "identifiers", multiple=True, metavar="COLUMN",
                     help="Id or name column (used only by the leakage check)."),
        click.option("--reference", "references", multiple=True, metavar="COLUMN",
                     help="Id of a shared entity, such as a merchant (a feature of the audit, "
                     "not compared)."),
        click.option("--label-detail", "label_details", multiple=True, metavar="COLUMN",
                     help="Column that exists because a row is labelled (never a feature)."),
    ]  # fmt: skip
    for option in reversed(options):
        function = option(function)
    return function


def _roles(time_column, **roles):
    from simulations.roles import TableRoles

    return TableRoles(time=time_column, **roles)


@cli.command("audit")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--table", default=None,
              help="Table of a dataset [default: every table with labels].")  # fmt: skip
@_role_options
@click.option("--min-precision", type=float, default=0.5, show_default=True,
              help="Flag a rule at this precision or more ...")  # fmt: skip
@click.option("--min-recall", type=float, default=0.05, show_default=True,
              help="... reaching at least this recall ...")  # fmt: skip
@click.option("--min-positives", type=int, default=5, show_default=True,
              help="... on at least this many labelled rows ...")  # fmt: skip
@click.option("--min-groups", type=int, default=3, show_default=True,
              help="... from at least this many independent cases.")  # fmt: skip
@click.option("--folds", type=int, default=5, show_default=True,
              help="Cross-validation folds, grouped by case and entity.")  # fmt: skip
@click.option("--sample-rows", type=int, default=50_000, show_default=True,
              help="Rows the models train on (labelled rows and a weighted sample).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--shuffle-labels", is_flag=True,
              help="Permute the labels first: a null run that should flag nothing.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the full report (every rule, every figure) as JSON.")
@click.option("--strict", is_flag=True, help="Exit with status 1 when anything is flagged.")
def audit_command(source, table, time_column, min_precision, min_recall, min_positives,
                  min_groups, folds, sample_rows, seed, shuffle_labels, json_path, strict,
                  **roles) -> None:  # fmt: skip
    """Look for labels that a single-feature rule or an identifier gives away in SOURCE (a
    dataset, or a Parquet/CSV file with --label), and measure how learnable each label is."""
    import json

    from calibration.fidelity import audit
    from calibration.fidelity.console import print_audit
    from calibration.fidelity.sources import labelled_tables

    roles = _roles(time_column, **roles)
    tables = [table]
    if table is None and is_dataset(source) and not roles.labels:
        tables = labelled_tables(source) or [None]
    reports = []
    for name in tables:
        report = audit(source, name, roles=roles, min_precision=min_precision,
                       min_recall=min_recall, min_positives=min_positives,
                       min_groups=min_groups, folds=folds,
                       sample_rows=sample_rows, seed=seed, shuffle_labels=shuffle_labels,
                       progress=True)  # fmt: skip
        print_audit(report)
        reports.append(report)
    if json_path is not None:
        json_path.write_text(json.dumps({"reports": [r.to_dict() for r in reports]}, indent=2),
                             encoding="utf-8")  # fmt: skip
        click.echo(f"wrote {json_path}")
    if strict and not all(r.clean for r in reports):
        sys.exit(1)


@cli.command("compare")
@click.argument("synthetic", type=click.Path(path_type=Path))
@click.argument("real", type=click.Path(path_type=Path))
@click.option("--table", default=None, help="Table of the synthetic dataset [default: largest].")
@click.option("--real-table", default=None,
              help="Table of the real dataset [default: same name, else largest].")
@click.option("--map", "mapping", multiple=True, metavar="SYNTHETIC=REAL",
              help="A synthetic column and the real column it corresponds to (repeatable).")
@click.option("--target", default=None, help="Column to predict for the utility part.")
@click.option("--part", "parts", multiple=True, metavar="PART",
              help="Compute only this part (repeatable): column_shapes, column_pair_trends, "
              "event_structure, utility, privacy [default: all].")
@_role_options
@click.option("--sample-rows", type=int, default=50_000, show_default=True,
              help="Rows of each table the pair and distance parts use.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="HTML report [default: SYNTHETIC-compare.html beside SYNTHETIC].")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write every score and the rows each part used as JSON.")
def compare_command(synthetic, real, table, real_table, mapping, target, parts, time_column,
                    sample_rows, seed, html_path, json_path, **roles) -> None:  # fmt: skip
    """Score how close SYNTHETIC is to REAL (datasets or Parquet/CSV files): column shapes,
    pair trends, event-log structure, utility and privacy; prints a summary and writes an
    HTML report with plots."""
    from calibration.fidelity.compare import PARTS, compare
    from calibration.fidelity.console import print_compare

    pairs = {}
    for item in mapping:
        name, sep, other = item.partition("=")
        if not sep or not name or not other:
            raise ConfigError(f"--map takes SYNTHETIC=REAL. Got {item!r} instead.")
        pairs[name] = other
    roles = _roles(time_column, **roles)
    report = compare(synthetic, real, synthetic_table=table, real_table=real_table,
                     mapping=pairs, target=target, roles=roles, sample_rows=sample_rows,
                     seed=seed, parts=tuple(parts) or PARTS, progress=True)  # fmt: skip
    print_compare(report)
    html_path = html_path or synthetic.with_name(f"{synthetic.stem}-compare.html")
    report.to_html(html_path)
    click.echo(f"wrote {html_path}")
    if json_path is not None:
        report.to_json(json_path)
        click.echo(f"wrote {json_path}")


@cli.command("fit")
@click.argument("scenario")
@click.option("--data", "source", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="Folder of real tables (<table>.parquet or .csv, or a synthsim "
              "dataset) [default: the scenario's public dataset].")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Parameter folder to write (a run reads it with "
              "--set population.parameters=FOLDER).")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out folder.")
def fit_command(scenario: str, source: Path | None, out: Path, overwrite: bool) -> None:
    """Estimate SCENARIO's parameters from real data and write them with their provenance."""
    folder = get_scenario(scenario).fit(source, out, overwrite=overwrite)
    click.echo(f"wrote {folder}")


@cli.command("experiment")
@click.argument("plan_path", metavar="PLAN.toml",
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Experiment folder (rerunning the same plan into it completes it).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Runs at a time (local processes, or Dask workers with --scheduler local).")
@click.option("--scheduler", default=None, metavar="ADDRESS|local", callback=_check_scheduler,
              help="Run on Dask: 'local' starts a local cluster, else a scheduler address.")
@click.option("--overwrite", is_flag=True,
              help="Replace a finished experiment of a different plan at --out.")
@click.option("--quiet", is_flag=True, help="No progress bar or summary.")
def experiment_command(plan_path, out, workers, scheduler, overwrite, quiet) -> None:  # fmt: skip
    """Run the what-if experiment PLAN.toml (variants x replications) and summarise it."""
    from simulations.experiment import run_experiment
    from simulations.plan import load_plan

    plan = load_plan(plan_path)
    result = run_experiment(plan, out, workers=workers, scheduler=scheduler,
                            progress=not quiet, overwrite=overwrite)  # fmt: skip
    if quiet:
        return
    console = Console(width=200, markup=False, highlight=False)
    table = Table(title=Text(f"{plan.scenario}: {len(plan.variants)} variants x "
                             f"{plan.replications} replications, mean [95% interval]; "
                             f"difference from {plan.baseline!r} paired by replication"),
                  title_justify="left")  # fmt: skip
    for column in ("metric", "variant", "n", "mean [95% CI]", "difference [95% CI]",
                   "variance ratio"):  # fmt: skip
        table.add_column(column)
    differences = result.differences.set_index(["variant", "metric"])
    by_metric = result.summary.assign(order=result.summary["metric"].map(
        {m: i for i, m in enumerate(plan.metrics)})).sort_values("order", kind="stable")
    for row in by_metric.itertuples(index=False):
        diff = "baseline" if row.variant == plan.baseline else ""
        ratio = ""
        if (row.variant, row.metric) in differences.index:
            d = differences.loc[(row.variant, row.metric)]
            diff = f"{_shown(d['mean'])} [{_shown(d['ci_low'])}, {_shown(d['ci_high'])}]"
            ratio = _shown(d["variance_ratio"])
        table.add_row(Text(row.metric), Text(row.variant), str(row.n),
                      f"{_shown(row.mean)} [{_shown(row.ci_low)}, {_shown(row.ci_high)}]",
                      diff, ratio)  # fmt: skip
    console.print(table)
    click.echo(f"runs: {result.executed} executed, {result.skipped} already finished, "
               f"{len(result.failures)} failed")  # fmt: skip
    for failure in result.failures:
        click.echo(f"  failed: {failure['variant']} replication {failure['replication']}: "
                   f"{failure['error']}")  # fmt: skip
    click.echo(f"wrote {result.path}: {', '.join(result.files)}, experiment.json")


def _shown(value: float) -> str:
    """A figure for the experiment table: 4 significant digits, thousands grouped."""
    if value != value:
        return "nan"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def main() -> None:
    """Console-script entry point."""
    sys.exit(cli(standalone_mode=True))


if __name__ == "__main__":
    main()
