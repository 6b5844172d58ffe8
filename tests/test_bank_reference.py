"""The Mesa reference model of the bank scenario against the Numba kernels.

Both engines simulate the same shard (same population, same root seed) but consume the
random stream in a different order, so their outputs are two independent samples of the same
process. Each statistical comparison below is a two-sample test at significance level
``ALPHA`` = 1e-3; with about 60 comparisons the chance that a correct model fails one is
about 6% for an arbitrary seed, and the seeds are fixed, so the outcome is reproducible. The
deterministic parts (salaries, bill dates and payees, counts of those) must match exactly,
and the reference's own rows must reconcile like the kernel's.
"""

from __future__ import annotations

import mesa
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy import stats

from rules.financial_crime import TYPOLOGIES
from scenarios.bank import BankScenario
from scenarios.bank import kernels as K
from scenarios.bank.population import MerchantIndex, build_customers, build_merchants
from scenarios.bank.reference import BankModel, Customer, run_reference
from scenarios.bank.simulate import kernel_inputs, run_kernel
from simulations.scenario import get_scenario
from simulations.seeding import stream

ALPHA = 1e-3
N_CUSTOMERS, DAYS = 1000, 120
CASE_RATE = 1.0  # cases per customer per year: ~125 cases of each typology per run
OVERRIDES = [
    f"population.n_customers={N_CUSTOMERS}",
    f"run.shard_size={N_CUSTOMERS}",
    f"run.days={DAYS}",
    "run.chunk_days=10",
    "run.seed=2024",
    "population.mule_fraction=0.05",  # 25 mules: rings of up to 12 can be drawn
    *(f"{'fraud' if t.family == 'fraud' else 'laundering'}.{t.name}={CASE_RATE}"
      for t in TYPOLOGIES),
    *(f"difficulty.{t.name}=0" for t in TYPOLOGIES),  # textbook cases: rules checked below
]  # fmt: skip
MIMICKING = [o for o in OVERRIDES if not o.startswith("difficulty.")] + [
    f"difficulty.{t.name}=1" for t in TYPOLOGIES
]
ORDINARY = ("PAYMENT", "TRANSFER", "CASH_OUT", "CASH_IN", "BILL")


def _run(engine: str, overrides=OVERRIDES) -> dict:
    config = get_scenario("bank").resolve_config(overrides=overrides)
    tables: dict[str, list] = {}

    def emit(name, batch):
        tables.setdefault(name, []).append(batch)

    scenario = BankScenario()
    scenario.run_global(config, emit)
    summary = scenario.run_shard(config, 0, emit, lambda units: None, engine=engine)
    tx = pa.Table.from_batches(tables["transactions"]).to_pandas()
    for column in ("type", "channel", "status", "fraud_type"):
        tx[column] = tx[column].astype(object)
    table = {name: pa.concat_tables(tables[name]).to_pandas()
             for name in ("accounts", "merchants")}  # fmt: skip
    customers = pa.concat_tables(tables["customers"]).select(["customer_id", "region"])
    table["customers"] = customers.to_pandas()  # (names' dictionaries repeat values)
    return {"tx": tx, **table, "summary": summary, "config": config}


@pytest.fixture(scope="module")
def runs() -> dict[str, dict]:
    return {engine: _run(engine) for engine in ("kernel", "reference")}


@pytest.fixture(scope="module")
def mimicking() -> dict[str, dict]:
    """Both engines with every case passing for ordinary activity."""
    return {engine: _run(engine, MIMICKING) for engine in ("kernel", "reference")}


@pytest.fixture(scope="module", params=["runs", "mimicking"])
def case_runs(request) -> dict[str, dict]:
    """The engine pairs whose crime cases are compared: textbook cases, then mimicking."""
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="module")
def ref(runs) -> dict:
    return runs["reference"]


def _ordinary(run: dict, kind: str | None = None) -> pd.DataFrame:
    tx = run["tx"]
    keep = tx["case_id"].isna()
    if kind is not None:
        keep &= tx["type"] == kind
    return tx[keep]


def _one_per_customer_day(rows: pd.DataFrame) -> pd.DataFrame:
    """The first row of each customer and day. Rows of one customer and day are not
    independent (a burst of in-app payments, a shopping trip: one merchant, one spend
    level), and spending follows the balance, so row-level tests would overstate their
    evidence; customer-days are close to independent units."""
    customer = rows["src_account"].fillna(rows["dst_account"])
    return rows.groupby([customer, rows["timestamp"].dt.normalize()]).head(1)


def _sample(run: dict, kind: str) -> pd.DataFrame:
    return _one_per_customer_day(_ordinary(run, kind))


def _poisson_two_sample(k1: int, k2: int) -> float:
    """Two-sample Poisson test of equal rates (equal exposure): given k1 + k2, k1 is
    Binomial(k1 + k2, 1/2) under the null; exact two-sided p-value. Conservative for sums
    of Bernoulli draws (less variable than Poisson)."""
    return stats.binomtest(k1, k1 + k2, 0.5).pvalue if k1 + k2 else 1.0


# -- exact agreement -------------------------------------------------------------------------


def test_salary_rows_identical(runs):
    def salaries(run):
        rows = _ordinary(run, "SALARY")[["timestamp", "dst_account", "amount"]]
        return rows.sort_values(["timestamp", "dst_account"]).reset_index(drop=True)

    kernel, reference = salaries(runs["kernel"]), salaries(runs["reference"])
    assert len(kernel) > N_CUSTOMERS * 2  # three pay days per customer in 91 days
    pd.testing.assert_frame_equal(kernel, reference)
    assert (_ordinary(runs["reference"], "SALARY")["status"] == "approved").all()


def test_bill_dates_and_payees_identical(runs):
    def bills(run):
        rows = _ordinary(run, "BILL")
        key = pd.DataFrame({"src": rows["src_account"], "merchant": rows["merchant_id"],
                            "date": rows["timestamp"].dt.normalize()})  # fmt: skip
        return key.sort_values(list(key.columns)).reset_index(drop=True)

    pd.testing.assert_frame_equal(bills(runs["kernel"]), bills(runs["reference"]))


def test_bill_amounts(runs):
    """Fixed bills (housing, telecom) are charged exactly; a utilities bill is its usual
    amount times Uniform(0.85, 1.15), rounded down: one-sample KS test of that factor."""
    inputs, _, _ = _inputs(OVERRIDES)
    bills = inputs.customers
    for run in runs.values():
        rows = _ordinary(run, "BILL")
        row_of = pd.Series(np.arange(len(run["accounts"])), index=run["accounts"]["account_id"])
        customer = row_of.reindex(rows["src_account"].astype(np.int64)).to_numpy()
        merchant = rows["merchant_id"].astype(np.int64).to_numpy() - 1
        slot = np.argmax(bills.bill_merchant[customer] == merchant[:, None], axis=1)
        assert (bills.bill_merchant[customer, slot] == merchant).all()
        usual = bills.bill_cents[customer, slot]
        cents = (rows["amount"] * 100).round().to_numpy()
        variable = inputs.behaviour.bill_variable[slot]
        assert (cents[~variable] == usual[~variable]).all()
        cents, usual = cents[variable], usual[variable]
        assert len(cents) > 500
        assert (cents >= np.floor(0.85 * usual) - 1).all() and (cents <= 1.15 * usual).all()
        factor = (cents + 0.5) / usual  # undo rounding down, on average
        assert stats.kstest(factor, stats.uniform(0.85, 0.30).cdf).pvalue > ALPHA


def test_same_population(runs):
    kernel, reference = runs["kernel"]["accounts"], runs["reference"]["accounts"]
    columns = ["account_id", "overdraft_limit", "opening_balance", "is_mule"]
    pd.testing.assert_frame_equal(kernel[columns], reference[columns])


# -- ordinary behaviour ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["PAYMENT", "TRANSFER", "CASH_OUT", "CASH_IN"])
def test_counts_per_type(runs, kind):
    """Paired t-test of each customer's count of each random type (the same customers in both
    runs; customers are the independent units, their rows are not)."""
    k, r = (_per_customer(runs[e], kind, "any") for e in ("kernel", "reference"))
    assert min(k.sum(), r.sum()) > 200
    assert stats.ttest_rel(k, r).pvalue > ALPHA, (kind, k.sum(), r.sum())


@pytest.mark.parametrize("kind", ["PAYMENT", "TRANSFER", "CASH_OUT", "CASH_IN", "BILL"])
def test_amount_distributions(runs, kind):
    """Two-sample Kolmogorov-Smirnov test of the amounts of each ordinary type, one row per
    customer-day (conservative where amounts tie, as for the standard ATM amounts)."""
    a, b = (_sample(runs[e], kind)["amount"] for e in ("kernel", "reference"))
    assert stats.ks_2samp(a, b).pvalue > ALPHA, kind


@pytest.mark.parametrize("kind", ["PAYMENT", "TRANSFER", "CASH_OUT", "CASH_IN", "BILL"])
def test_time_of_day(runs, kind):
    """Two-sample KS test of the second of the day of each ordinary type (one row per
    customer-day)."""
    a, b = (_seconds_of_day(_sample(runs[e], kind)) for e in ("kernel", "reference"))
    assert stats.ks_2samp(a, b).pvalue > ALPHA, kind


def _seconds_of_day(rows: pd.DataFrame) -> np.ndarray:
    ts = rows["timestamp"]
    return ((ts - ts.dt.normalize()).dt.total_seconds()).to_numpy()


@pytest.mark.parametrize("kind", ["PAYMENT", "TRANSFER", "CASH_IN"])
def test_channel_shares(runs, kind):
    """Chi-square test of homogeneity of the channel mix (engines x channels)."""
    counts = pd.concat(
        {e: _sample(runs[e], kind)["channel"].value_counts() for e in runs}, axis=1
    ).fillna(0)
    assert len(counts) == 2
    assert stats.chi2_contingency(counts.to_numpy()).pvalue > ALPHA, (kind, counts)


@pytest.mark.parametrize("kind", ["PAYMENT", "CASH_OUT"])
def test_weekday_profile(runs, kind):
    """Chi-square test of homogeneity of counts by weekday (engines x weekdays)."""
    counts = pd.concat(
        {e: _sample(runs[e], kind)["timestamp"].dt.day_of_week.value_counts() for e in runs},
        axis=1,
    )
    assert stats.chi2_contingency(counts.to_numpy()).pvalue > ALPHA, kind


def test_merchant_choice(runs):
    """Card payments' merchants (one per customer-day): chi-square homogeneity of their
    category mix and of the share paid in the customer's home region (engines x categories,
    engines x in/out)."""
    categories, in_region = {}, {}
    for engine, run in runs.items():
        rows = _sample(run, "PAYMENT")
        merchants = run["merchants"].set_index("merchant_id")
        home = run["accounts"].merge(run["customers"], on="customer_id")
        home = home.set_index("account_id")["region"].astype(str)
        where = merchants["region"].astype(str).reindex(rows["merchant_id"]).to_numpy()
        categories[engine] = merchants["category"].astype(str).reindex(rows["merchant_id"])
        categories[engine] = categories[engine].value_counts()
        at_home = where == home.reindex(rows["src_account"].astype(np.int64)).to_numpy()
        in_region[engine] = [at_home.sum(), (~at_home).sum()]
    table = pd.concat(categories, axis=1).fillna(0).to_numpy()
    assert stats.chi2_contingency(table).pvalue > ALPHA
    assert stats.chi2_contingency(np.array(list(in_region.values()))).pvalue > ALPHA


def _per_customer(run: dict, kind: str, side: str = "src_account") -> np.ndarray:
    """Ordinary rows of ``kind`` per customer (in accounts order) on ``side`` ("any": the
    customer's side, whichever it is)."""
    rows = _ordinary(run, kind)
    key = rows["src_account"].fillna(rows["dst_account"]) if side == "any" else rows[side]
    return key.value_counts().reindex(run["accounts"]["account_id"], fill_value=0).to_numpy()


def test_payments_per_customer(runs):
    """Per-customer card payment counts: their distribution (two-sample KS, conservative for
    counts) and their spread customer by customer (Levene's test on the paired runs' counts:
    bursts and the spending feedback must scatter them alike)."""
    k, r = (_per_customer(runs[e], "PAYMENT") for e in ("kernel", "reference"))
    assert stats.ks_2samp(k, r).pvalue > ALPHA
    assert stats.levene(k, r).pvalue > ALPHA


@pytest.mark.parametrize(("kind", "side"), [("TRANSFER", "src_account"),
                                            ("TRANSFER", "dst_account"),
                                            ("CASH_OUT", "src_account")])  # fmt: skip
def test_other_counts_per_customer(runs, kind, side):
    """Two-sample KS test of per-customer counts (conservative for discrete counts)."""
    k, r = (_per_customer(runs[e], kind, side) for e in ("kernel", "reference"))
    assert stats.ks_2samp(k, r).pvalue > ALPHA, (kind, side)


def test_decline_rate(runs):
    """Two-proportion z-test of the decline rate of debits. Declines cluster by account
    (a balance stays low for days), so each engine's variance is the cluster-robust
    (linearised ratio) variance over source accounts, not the binomial one."""
    rates, variances = [], []
    for engine in ("kernel", "reference"):
        debits = runs[engine]["tx"].dropna(subset=["src_account"])
        declined = (debits["status"] == "declined").groupby(debits["src_account"]).sum()
        attempts = debits.groupby("src_account").size()
        rate = declined.sum() / attempts.sum()
        rates.append(rate)
        variances.append(((declined - rate * attempts) ** 2).sum() / attempts.sum() ** 2)
    assert min(rates) > 0.01  # declines do happen, so the comparison has power
    z = (rates[0] - rates[1]) / np.sqrt(sum(variances))
    assert 2 * stats.norm.sf(abs(z)) > ALPHA, (rates, z)


# -- crime -----------------------------------------------------------------------------------


def _cases(run: dict, name: str) -> pd.DataFrame:
    tx = run["tx"]
    return tx[tx["fraud_type"] == name]


@pytest.mark.parametrize("typology", [t.name for t in TYPOLOGIES])
def test_case_counts(case_runs, typology):
    """Two-sample Poisson test of the number of cases started (a sum of binomials)."""
    k1, k2 = (case_runs[e]["summary"][f"cases.{typology}"] for e in ("kernel", "reference"))
    assert min(k1, k2) > 60
    assert _poisson_two_sample(k1, k2) > ALPHA, (typology, k1, k2)


@pytest.mark.parametrize("typology", [t.name for t in TYPOLOGIES])
def test_transactions_per_case(case_runs, typology):
    """Rows per case, in all and per kind of row (type, channel, which sides are inside the
    bank): the kinds must be the same, and for each the per-case counts are compared by a
    two-sample KS test (conservative for counts). Cases are the independent units: the rows
    of one case share its ring size and amounts, so rows are not compared as a sample."""
    per_case = {e: _rows_per_case_and_kind(_cases(case_runs[e], typology)) for e in case_runs}
    a, b = per_case["kernel"], per_case["reference"]
    assert list(a.columns) == list(b.columns), typology
    assert stats.ks_2samp(a.sum(axis=1), b.sum(axis=1)).pvalue > ALPHA, typology
    for kind in a.columns:
        assert stats.ks_2samp(a[kind], b[kind]).pvalue > ALPHA, (typology, kind)


def _rows_per_case_and_kind(rows: pd.DataFrame) -> pd.DataFrame:
    counts = rows.groupby(["case_id", _row_kind(rows)]).size().unstack(fill_value=0)
    return counts.reindex(sorted(counts.columns), axis=1)


def _row_kind(rows: pd.DataFrame) -> pd.Series:
    """'TYPE/channel/src>dst[+merchant]' with 'acct' or 'ext' for each side."""
    inside = {True: "acct", False: "ext"}
    return (rows["type"] + "/" + rows["channel"] + "/"
            + rows["src_account"].notna().map(inside) + ">"
            + rows["dst_account"].notna().map(inside)
            + rows["merchant_id"].notna().map({True: "+merchant", False: ""}))  # fmt: skip


@pytest.mark.parametrize("typology", [t.name for t in TYPOLOGIES])
def test_case_amounts_and_timing(case_runs, typology):
    """Per case (the independent unit), each compared by a two-sample KS test: the first
    row's amount, the time from first to last row, and for each kind of row the amount it
    moves relative to the first row's (the scale-free shape of the case: splits, fractions
    of what was received)."""
    summaries = {}
    for engine in case_runs:
        rows = _cases(case_runs[engine], typology)
        cases = rows.groupby("case_id")
        first = cases["amount"].first()
        by_kind = rows.groupby(["case_id", _row_kind(rows)])["amount"].sum().unstack()
        summaries[engine] = (
            by_kind.div(first, axis=0)
            .add_prefix("share ")
            .assign(
                first_amount=first,
                duration=(cases["timestamp"].max() - cases["timestamp"].min()).dt.total_seconds(),
            )
        )
    assert set(summaries["kernel"].columns) == set(summaries["reference"].columns)
    for column in summaries["kernel"].columns:
        a, b = (summaries[e][column].dropna() for e in ("kernel", "reference"))
        assert stats.ks_2samp(a, b).pvalue > ALPHA, (typology, column)


@pytest.mark.parametrize("engine", ["kernel", "reference"])
@pytest.mark.parametrize("typology", TYPOLOGIES, ids=[t.name for t in TYPOLOGIES])
def test_case_amounts_follow_rules(runs, engine, typology):
    """Amounts of steps with a bounded rule lie in its range: uniform and threshold_fraction
    (a..b dollars, a..b of the threshold) and balance_fraction (a..b of what the source
    could spend before the row, overdraft included, rounded down, at least $1; at an ATM,
    whole $20 notes up to b of it)."""
    rows = _cases(runs[engine], typology.name)
    kinds = _row_kind(rows)
    threshold = runs[engine]["config"]["laundering"]["reporting_threshold"] * 100
    overdraft = runs[engine]["accounts"].set_index("account_id")["overdraft_limit"]
    available = (rows["src_balance_before"] + rows["src_account"].map(overdraft)) * 100
    steps_of_kind = pd.Series([_step_kind(step) for step in typology.steps]).value_counts()
    for step in typology.steps:
        rule, a, b = step.amount
        if steps_of_kind[_step_kind(step)] > 1 or rule not in _BOUNDED_RULES:
            continue  # (card testing's two steps both make online payments: not told apart)
        cents = (rows.loc[kinds == _step_kind(step), "amount"] * 100).round()
        if rule == "balance_fraction" and step.channel == "atm":
            # the ATM's rails: whole notes, no more than asked (nor than the daily limit)
            before = available[cents.index].round()
            ok = (cents % 2_000 == 0) & ((cents <= before * b) | (cents == 2_000))
        elif rule == "balance_fraction":
            before = available[cents.index].round()
            floor_ok = (cents == 100) & (before * a <= 101)
            ok = floor_ok | ((cents > 100) & cents.between(before * a - 1, before * b))
        else:
            scale = 100 if rule == "uniform" else threshold
            ok = cents.between(np.floor(a * scale) - 1, b * scale)
        assert len(cents) > 50 and ok.all(), (step, cents[~ok].head())


_BOUNDED_RULES = ("uniform", "threshold_fraction", "balance_fraction")


def _step_kind(step) -> str:
    """The :func:`_row_kind` of a typology step's rows."""
    src_in = step.src != "external"
    dst_in = step.dst not in ("external", "merchant", "merchant_high", "merchant_small")
    return (
        f"{step.type}/{step.channel}/{'acct' if src_in else 'ext'}>"
        f"{'acct' if dst_in else 'ext'}{'+merchant' if 'merchant' in step.dst else ''}"
    )


def _count_spec(typology) -> dict[str, tuple[int, int]]:
    """Per row kind of the typology: the inclusive range of rows per complete case, uniform
    over it (ring size or repeat count), for kinds that one step alone produces plus steps
    that occur a fixed number of times. Kinds mixing two varying steps are left out."""
    spec: dict[str, list] = {}
    for step in typology.steps:
        kind = _step_kind(step)
        lo, hi = typology.ring if step.per_member else step.repeat
        if step.src == "first_member" or step.dst == "first_member":
            lo = hi = 1
        spec.setdefault(kind, []).append((lo, hi))
    ranges = {}
    for kind, parts in spec.items():
        if sum(lo != hi for lo, hi in parts) <= 1:
            ranges[kind] = (sum(lo for lo, _ in parts), sum(hi for _, hi in parts))
    return ranges


def _longest_case_seconds(typology) -> float:
    longest = 0.0
    for step in typology.steps:
        count = typology.ring[1] if step.per_member else step.repeat[1]
        longest += count * step.delay[1]
    return longest


@pytest.mark.parametrize("engine", ["kernel", "reference"])
@pytest.mark.parametrize("typology", TYPOLOGIES, ids=[t.name for t in TYPOLOGIES])
def test_rows_per_case_follow_typology(runs, engine, typology):
    """In cases that had time to finish, each step occurs as often as its typology says:
    exactly, or uniformly over its range (ring size or repeats): chi-square goodness of fit."""
    rows = _cases(runs[engine], typology.name)
    start = rows.groupby("case_id")["timestamp"].min()
    first_day = runs[engine]["tx"]["timestamp"].min().normalize()
    run_end = first_day + pd.Timedelta(days=DAYS)
    done = start[start + pd.Timedelta(seconds=_longest_case_seconds(typology)) < run_end].index
    counts = _rows_per_case_and_kind(rows).reindex(done)
    assert len(done) > 50
    for kind, (lo, hi) in _count_spec(typology).items():
        seen = counts[kind]
        assert seen.between(lo, hi).all(), (kind, seen.min(), seen.max(), (lo, hi))
        if hi > lo:
            observed = seen.value_counts().reindex(range(lo, hi + 1), fill_value=0)
            assert stats.chisquare(observed.to_numpy()).pvalue > ALPHA, (kind, observed)


def test_case_labels_and_participants(ref):
    tx, accounts = ref["tx"], ref["accounts"]
    crime = tx[tx["case_id"].notna()]
    by_case = crime.groupby("case_id")["fraud_type"].nunique()
    assert (by_case == 1).all()  # a case belongs to one typology
    assert len(by_case) <= sum(ref["summary"][f"cases.{t.name}"] for t in TYPOLOGIES)
    family = {t.name: t.family for t in TYPOLOGIES}
    assert (crime["is_fraud"] == crime["fraud_type"].map(family).eq("fraud")).all()
    assert (crime["is_laundering"] == crime["fraud_type"].map(family).eq("laundering")).all()
    assert not tx.loc[tx["case_id"].isna(), ["is_fraud", "is_laundering"]].any().any()
    mules = set(accounts.loc[accounts["is_mule"], "account_id"])
    laundering = crime[crime["is_laundering"]]
    inside = pd.concat([laundering["src_account"], laundering["dst_account"]]).dropna()
    assert set(inside.astype(np.int64)) <= mules  # rings and hubs are mules
    fraud = crime[crime["is_fraud"] & crime["merchant_id"].notna()]
    assert not set(fraud["src_account"].astype(np.int64)) & mules  # victims are not


# -- the reference's own invariants ----------------------------------------------------------


def test_reference_rows_reconcile(ref):
    tx = ref["tx"]
    cents = {c: (tx[c] * 100).round() for c in ("amount", "src_balance_before",
             "src_balance_after", "dst_balance_before", "dst_balance_after")}  # fmt: skip
    approved = tx["status"] == "approved"
    has_src, has_dst = tx["src_account"].notna(), tx["dst_account"].notna()
    moved = cents["amount"].where(approved, 0)
    src_ok = cents["src_balance_before"] - moved == cents["src_balance_after"]
    dst_ok = cents["dst_balance_before"] + moved == cents["dst_balance_after"]
    assert src_ok[has_src].all() and dst_ok[has_dst].all()
    assert tx["src_balance_before"][~has_src].isna().all()
    assert (cents["amount"] >= 1).all()
    assert tx["timestamp"].is_monotonic_increasing


def test_reference_overdraft_limits(ref):
    tx, accounts = ref["tx"], ref["accounts"]
    limit = accounts.set_index("account_id")["overdraft_limit"]
    for side in ("src", "dst"):
        rows = tx[tx[f"{side}_account"].notna()]
        floor = -limit.reindex(rows[f"{side}_account"].astype(np.int64)).to_numpy()
        assert (rows[f"{side}_balance_after"].to_numpy() >= floor - 1e-9).all()
    debits = tx[tx["src_account"].notna()]
    declined = debits[debits["status"] == "declined"]
    floor = -limit.reindex(declined["src_account"].astype(np.int64)).to_numpy()
    unaffordable = (declined["src_balance_before"] - declined["amount"]).to_numpy() < floor
    at_atm = ((declined["type"] == "CASH_OUT") & (declined["channel"] == "atm")).to_numpy()
    assert unaffordable[~at_atm].all()  # ATM refusals may also be the daily limit's
    assert unaffordable.sum() > 100


def test_reference_balances_chain_and_money_is_conserved(ref):
    """Each account's balance runs on from row to row, from opening to closing balance."""
    tx, accounts = ref["tx"], ref["accounts"]
    sides = []
    for side in ("src", "dst"):
        part = tx.loc[tx[f"{side}_account"].notna(), ["transaction_id", f"{side}_account",
                      f"{side}_balance_before", f"{side}_balance_after"]]  # fmt: skip
        part.columns = ["transaction_id", "account", "before", "after"]
        sides.append(part)
    legs = pd.concat(sides).sort_values(["account", "transaction_id"], kind="stable")
    legs["account"] = legs["account"].astype(np.int64)
    opening = accounts.set_index("account_id")["opening_balance"]
    closing = accounts.set_index("account_id")["closing_balance"]
    expected_before = legs.groupby("account")["after"].shift(1)
    first = expected_before.isna()
    expected_before[first] = opening.reindex(legs.loc[first, "account"]).to_numpy()
    assert ((legs["before"] - expected_before).abs() < 0.005).all()
    last = legs.groupby("account")["after"].last()
    assert ((closing.reindex(last.index) - last).abs() < 0.005).all()
    summary = ref["summary"]
    assert summary["money.closing_cents"] == (
        summary["money.opening_cents"] + summary["money.external_in_cents"]
        - summary["money.external_out_cents"]
    )  # fmt: skip
    assert summary["money.closing_cents"] == round(accounts["closing_balance"].sum() * 100)


# -- the engine contract ---------------------------------------------------------------------


def _inputs(overrides):
    config = get_scenario("bank").resolve_config(overrides=overrides)
    seed = config["run"]["seed"]
    merchants, _ = build_merchants(config, seed)
    index = MerchantIndex.build(merchants["category"], merchants["region"])
    state, _, _, _ = build_customers(config, seed, 0, merchants, index)
    return kernel_inputs(config, state, merchants, index), config, stream(seed, 0, "behaviour")


def test_run_reference_contract():
    overrides = [
        "population.n_customers=150", "run.shard_size=150", "run.days=10", "run.chunk_days=3",
        "fraud.card_testing=20.0", "laundering.cycle=20.0",
    ]  # fmt: skip
    inputs, config, rng = _inputs(overrides)
    chunks = list(run_reference(inputs, config, rng))
    kernel_chunks = [(out.copy(), n, b.copy(), c.copy())
                     for out, n, b, c in run_kernel(*_inputs(overrides))]  # fmt: skip
    assert len(chunks) == len(kernel_chunks) == 4
    previous = np.zeros(len(inputs.crime.p_case), dtype=np.int64)
    case_ids = []
    for (out, n, balance, n_cases), (_, _, k_balance, k_cases) in zip(
        chunks, kernel_chunks, strict=True
    ):
        assert out.dtype == np.int64 and out.shape[0] == K.N_OUT and out.shape[1] >= n > 0
        assert balance.dtype == k_balance.dtype and balance.shape == k_balance.shape
        assert n_cases.dtype == k_cases.dtype and n_cases.shape == k_cases.shape
        assert (n_cases >= previous).all()
        previous = n_cases
        case_ids.append(out[K.O_CASE, :n])
        assert (np.diff(out[K.O_T, :n]) >= 0).all()
    ids = np.unique(np.concatenate(case_ids))
    ids = ids[ids >= 0]
    assert len(ids) > 0 and ids.max() < previous.sum()


def test_model_is_mesa_and_deterministic():
    inputs, config, _ = _inputs(["population.n_customers=120", "run.shard_size=120",
                                 "run.days=5"])  # fmt: skip
    results = []
    for _ in range(2):
        rng = np.random.default_rng(7)
        model = BankModel(inputs, config, rng)
        assert isinstance(model, mesa.Model) and model.rng is rng  # draws from our generator
        assert [a.row for a in model.agents] == list(range(120))
        assert all(isinstance(a, Customer) for a in model.agents)
        for _ in range(5):
            model.step()
        assert model.steps == 5
        results.append((model.take_output()[0], model.balances()))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
