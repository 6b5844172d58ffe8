"""Bank transactions with labelled fraud and money laundering.

Customers (with Faker identities) hold current accounts with overdraft limits; they are paid,
pay bills and merchants, withdraw and deposit cash and pay each other, by hour-of-day and
weekday profiles. Fraud (account takeover, stolen-card bursts, card testing) and laundering
(fan-in, fan-out, cycle, structuring) run as typologies from ``rules.financial_crime``, each
at its own configurable rate. Every balance reconciles row by row and money is conserved.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from agents.shards import shard_bounds
from rules.financial_crime import TYPOLOGIES
from rules.oversampling import Oversampling
from scenarios.bank import kernels as K
from scenarios.bank.alerts import AlertEngine
from scenarios.bank.config import DEFAULT_CONFIG, SCHEMA
from scenarios.bank.metrics import METRIC_NAMES, bank_metrics, chunk_tallies
from scenarios.bank.population import (
    MERCHANT_MCC,
    MerchantIndex,
    build_customers,
    build_merchants,
)
from scenarios.bank.sessions import SessionLog
from scenarios.bank.simulate import (
    case_probabilities,
    epoch_seconds,
    kernel_inputs,
    run_kernel,
)
from scenarios.bank.tables import (
    COLUMN_DOCS,
    ROLES,
    SCHEMAS,
    ShardOutput,
    transactions_batch,
)
from simulations.scenario import Emit, Scenario
from simulations.seeding import stream

__all__ = ["BankScenario"]


class BankScenario(Scenario):
    name = "bank"
    description = "bank transactions with labelled fraud and money-laundering typologies"
    schema = SCHEMA
    default_config = DEFAULT_CONFIG
    tables = SCHEMAS
    table_docs = COLUMN_DOCS
    roles = ROLES
    exports = {"paysim": "scenarios.bank.exports:to_paysim",
               "amlworld": "scenarios.bank.exports:to_amlworld"}  # fmt: skip
    engines = ("kernel", "reference")
    work_unit = "customer-days"
    kernel_modules = ("scenarios.bank.kernels", "simulations.bits")

    def resolve_config(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """:meth:`Scenario.resolve_config`, then check that every oversampled case rate is
        still a probability per customer-day, before anything is written."""
        config = super().resolve_config(*args, **kwargs)
        case_probabilities(config, [t.name for t in TYPOLOGIES])
        return config

    def n_shards(self, config: dict[str, Any]) -> int:
        return len(shard_bounds(config["population"]["n_customers"], config["run"]["shard_size"]))

    def shard_work(self, config: dict[str, Any], shard: int) -> int:
        start, stop = shard_bounds(config["population"]["n_customers"],
                                   config["run"]["shard_size"])[shard]  # fmt: skip
        return (stop - start) * config["run"]["days"]

    def run_metrics(self, config: dict[str, Any], read, summary) -> dict[str, float]:
        """Transactions, approved volume (USD), decline rate, prevalence of each typology and
        the monitoring rules' precision (:func:`scenarios.bank.metrics.bank_metrics`), from
        the tallies each shard summed as it wrote."""
        return bank_metrics(summary)

    def metric_names(self, config: dict[str, Any]) -> tuple[str, ...]:
        return METRIC_NAMES

    def overview_figure(self, dataset):
        from scenarios.bank.report import overview_figure

        return overview_figure(dataset)

    def run_global(self, config: dict[str, Any], emit: Emit) -> dict[str, Any]:
        _, table = build_merchants(config, config["run"]["seed"])
        emit("merchants", table)
        return {}

    def run_shard(
        self,
        config: dict[str, Any],
        shard: int,
        emit: Emit,
        advance: Callable[[int], None],
        engine: str = "kernel",
    ) -> dict[str, Any]:
        self.check_engine(engine)
        seed, run = config["run"]["seed"], config["run"]
        merchants, _ = build_merchants(config, seed)
        index = MerchantIndex.build(merchants["category"], merchants["region"])
        state, customers, accounts, fit = build_customers(config, seed, shard, merchants, index)
        emit("customers", customers)
        inputs = kernel_inputs(config, state, merchants, index)
        rng = stream(seed, shard, "behaviour")
        if engine == "kernel":
            chunks = run_kernel(inputs, config, rng)
        else:
            from scenarios.bank.reference import run_reference

            chunks = run_reference(inputs, config, rng)
        epoch, first_row = epoch_seconds(run["start_date"]), 0
        report = config["reporting"]
        output = ShardOutput(
            state["account_id"], state["card_id"], MERCHANT_MCC[merchants["category"]], shard,
            epoch, epoch + run["days"] * 86400, seed,
            Oversampling(config["oversampling"]["factor"]),
            {family: (report[f"{family}_median_days"], report[f"{family}_sigma"])
             for family in ("fraud", "laundering")},
        )  # fmt: skip
        log = SessionLog(seed, shard, state["account_id"], None, config["sessions"], epoch)
        monitor = AlertEngine(shard, config["alerts"])
        money_in = money_out = 0
        tallies: Counter = Counter()
        balance, cases = inputs.opening_cents, np.zeros(0, dtype=np.int64)
        for chunk, (out, n, balance, n_cases) in enumerate(chunks):
            cases = n_cases
            days_done = min(run["chunk_days"], run["days"] - chunk * run["chunk_days"])
            batch = transactions_batch(out, n, first_row, output)
            sessions, session_id = log.feed(batch, chunk * run["chunk_days"], days_done)
            batch = batch.set_column(batch.num_columns - 1, "session_id", session_id)
            emit("transactions", batch)
            emit("sessions", sessions)
            alerts = monitor.feed(batch, session_id, sessions)
            emit("alerts", alerts)
            tallies.update(chunk_tallies(batch, alerts))
            first_row += n
            money_in, money_out = _external_flows(out[:, :n], money_in, money_out)
            advance(len(balance) * days_done)
        emit("accounts", accounts.append_column("closing_balance", [balance / 100.0]))
        return {
            **{f"cases.{t.name}": int(c) for t, c in zip(TYPOLOGIES, cases, strict=True)},
            "money.opening_cents": int(inputs.opening_cents.sum()),
            "money.closing_cents": int(balance.sum()),
            "money.external_in_cents": money_in,
            "money.external_out_cents": money_out,
            **_fit_summary(fit),
            **tallies,
        }


def _fit_summary(fit) -> dict[str, float]:
    """The shard's synthesis fit as summable figures: target and achieved count per cell."""
    summary = {}
    for row in fit.itertuples():
        key = f"fit.{row.marginal}[{row.cell}]"
        summary[f"{key}.target"] = float(row.target)
        summary[f"{key}.achieved"] = int(row.achieved)
    return summary


def _external_flows(out: np.ndarray, money_in: int, money_out: int) -> tuple[int, int]:
    """Add the approved amounts entering and leaving the bank in ``out`` to the totals."""
    approved = out[K.O_STATUS] == 0
    amount = out[K.O_AMOUNT]
    money_in += int(amount[approved & (out[K.O_SRC] < 0)].sum())
    money_out += int(amount[approved & (out[K.O_DST] < 0)].sum())
    return money_in, money_out
