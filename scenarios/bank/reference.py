"""Mesa reference model of the bank scenario: the kernels' behaviour in plain Python.

The Numba kernels (:mod:`scenarios.bank.kernels`) are fast but hard to read. This module
simulates the same thing one object at a time so the rules can be read and checked:

* each customer is a :class:`Customer` agent that plans its ordinary day (salary, bills, card
  payments, cash, transfers) with the same tables and distributions as ``_customer_day``;
* :class:`BankModel` starts crime cases by interpreting the compiled typology table the way
  ``_case`` does (participants, ring, case clock, amount rules, the "received" memory);
* the model then settles the transactions due before the day ends in time order, ties in
  creation order, declining a debit that would take its source below minus its overdraft
  limit, exactly as ``settle`` books them.

Random draws come from the shard's generator in a different order than in the kernels, so
the two engines agree in distribution, not row for row; the deterministic parts (salaries,
bill dates and payees) are identical. :func:`run_reference` has the contract of
:func:`scenarios.bank.simulate.run_kernel`.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator
from dataclasses import dataclass, field

import mesa
import numpy as np

from rules.typology import AMOUNT_RULES, ROLES, STEP_FIELDS
from scenarios.bank import kernels as K
from scenarios.bank.simulate import ShardInputs, calendar_days

__all__ = ["Pending", "Customer", "Case", "BankModel", "run_reference"]

DAY = 86_400
MILLION = K._MILLION  # balance fractions travel as millionths
MIN_FRACTION_CENTS = K._MIN_FRACTION_CENTS  # a fraction-of-balance payment is at least $1

CompiledStep = namedtuple("CompiledStep", STEP_FIELDS)
"""One row of the compiled typology table, with codes for roles and amount rule."""


@dataclass(slots=True)
class Pending:
    """A transaction waiting to be settled.

    ``amount`` is in cents, or for ``MODE_BALANCE_FRACTION`` the share of the source's
    positive balance in millionths, turned into cents when the transaction settles.
    """

    t: int
    kind: int
    channel: int
    src: int  # customer row, -1 outside the bank
    dst: int
    merchant: int = -1
    amount: int = 0
    mode: int = K.MODE_FIXED
    ftype: int = 0  # typology code k + 1, 0 for ordinary transactions
    case: int = -1


Codes = namedtuple("Codes", K.CODE_NAMES)
"""Type, channel and schedule codes by name (decoded from ``Behaviour.codes``)."""


class Customer(mesa.Agent):
    """A bank customer with one current account (a row of the shard's population)."""

    def __init__(self, model: BankModel, row: int):
        super().__init__(model)
        c = model.inputs.customers
        self.row = row
        self.card_rate = float(c.card_rate[row])
        self.log_spend = float(c.log_spend[row])
        self.pay_day = int(c.pay_day[row])
        self.pay_second = int(c.pay_second[row])
        self.income_cents = int(c.income_cents[row])
        self.bills = [  # (day of month, cents, merchant row, amount varies) per bill slot
            (int(day), int(cents), int(merchant), bool(variable))
            for day, cents, merchant, variable in zip(
                c.bill_day[row], c.bill_cents[row], c.bill_merchant[row],
                model.inputs.behaviour.bill_variable, strict=True,
            )
            if day > 0
        ]  # fmt: skip
        self.region = int(c.region[row])
        self.balance = int(model.inputs.opening_cents[row])
        self.overdraft = int(model.inputs.overdraft_cents[row])
        self.atm_limit = int(model.inputs.atm_limit_cents[row])
        self.atm_used = 0  # cents withdrawn at ATMs today
        self.target = float(c.target_cents[row])
        self.scale = float(c.scale_cents[row])
        self.supplier_per_day = float(c.supplier_per_day[row])

    # -- the ordinary day -------------------------------------------------------------------

    def plan_day(self, day: int) -> None:
        """Post this customer's ordinary transactions of simulated day ``day``."""
        weekday, dom, dim = self.model.calendar[day]
        t0 = day * DAY
        spend = self.spending(dom, dim)
        self.salary(t0, dom, dim)
        self.pay_bills(t0, dom, dim)
        self.card_payments(t0, weekday, spend)
        self.micro_burst(t0)
        self.shopping_trip(t0, spend)
        self.cash_withdrawal(t0, weekday, spend)
        self.cash_deposit(t0, weekday)
        self.transfer(t0)
        self.external_transfers(t0, spend)
        self.savings_sweep(t0)
        self.pass_cash_on(t0, weekday)
        if self.supplier_per_day > 0:
            self.business(t0, weekday, spend)

    def spending(self, dom: int, dim: int) -> float:
        """Buffer-stock feedback: spend less under the balance aimed at for this point of
        the pay cycle, more over it."""
        gain = self.model.behaviour.rates[K.FEEDBACK]
        expected = self.target + self.income_cents * K.pay_phase(dom, dim, self.pay_day)
        m = np.exp(gain * (self.balance - expected) / max(self.scale, 1.0))
        return float(np.clip(m, *K.FEEDBACK_RANGE))

    def salary(self, t0: int, dom: int, dim: int) -> None:
        """Income arrives on pay day (the month's last day in short months), early morning."""
        if dom == min(self.pay_day, dim):
            m, code = self.model, self.model.codes
            m.post(Pending(t0 + self.pay_second, code.SALARY, code.direct_credit, -1, self.row,
                           amount=self.income_cents))  # fmt: skip

    def pay_bills(self, t0: int, dom: int, dim: int) -> None:
        """Direct debits on their day of month, overnight; variable bills vary by +-15%."""
        m, code = self.model, self.model.codes
        for bill_day, cents, merchant, variable in self.bills:
            if min(bill_day, dim) != dom:
                continue
            if variable:
                cents = int(cents * m.rng.uniform(0.85, 1.15))
            t = t0 + m.seconds(m.behaviour.schedule_cdf[code.overnight])
            m.post(Pending(t, code.BILL, code.direct_debit, self.row, -1, merchant, cents))

    def card_payments(self, t0: int, weekday: int, spend: float) -> None:
        """A Poisson number of card payments, each in a category drawn by its share."""
        m, beh, code = self.model, self.model.behaviour, self.model.codes
        for _ in range(m.rng.poisson(self.card_rate * beh.card_weekday[weekday] * spend)):
            cat = m.pick(beh.cat_cdf)
            t = t0 + m.seconds(beh.schedule_cdf[beh.cat_schedule[cat]])
            merchant = m.merchant(cat, self.region)
            mu = beh.cat_mu[cat] + self.log_spend
            amount = max(50, int(m.rng.lognormal(mu, beh.cat_sigma[cat])))
            online = m.rng.random() < beh.cat_online[cat]
            channel = code.online if online else code.card_present
            m.post(Pending(t, code.PAYMENT, channel, self.row, -1, merchant, amount))

    def micro_burst(self, t0: int) -> None:
        """Now and then a burst of small payments at one app store or transit operator."""
        m, beh, code = self.model, self.model.behaviour, self.model.codes
        if m.rng.random() >= beh.rates[K.P_MICRO]:
            return
        cat = int(m.rng.choice(beh.small_categories))
        merchant = m.merchant(cat, self.region)
        channel = code.online if m.rng.random() < beh.cat_online[cat] else code.card_present
        t = t0 + m.seconds(beh.schedule_cdf[code.evening])
        lo, hi, gap_lo, gap_hi = (int(v) for v in beh.bursts[:4])
        for _ in range(int(m.rng.integers(lo, hi + 1))):
            m.post(Pending(t, code.PAYMENT, channel, self.row, -1, merchant,
                           max(50, m.flow_amount(K.F_MICRO))))  # fmt: skip
            t += int(m.rng.integers(gap_lo, gap_hi + 1))

    def shopping_trip(self, t0: int, spend: float) -> None:
        """Now and then several card payments in high-value stores within a few hours."""
        m, beh, code = self.model, self.model.behaviour, self.model.codes
        if m.rng.random() >= beh.rates[K.P_SPREE] * spend:
            return
        t = t0 + m.seconds(beh.schedule_cdf[code.daytime])
        lo, hi, gap_lo, gap_hi = (int(v) for v in beh.bursts[4:])
        for _ in range(int(m.rng.integers(lo, hi + 1))):
            merchant = m.merchant(int(m.rng.choice(beh.spree_categories)), self.region)
            amount = max(50, m.flow_amount(K.F_SPREE, shift=self.log_spend))
            m.post(Pending(t, code.PAYMENT, code.card_present, self.row, -1, merchant, amount))
            t += int(m.rng.integers(gap_lo, gap_hi + 1))

    def cash_withdrawal(self, t0: int, weekday: int, spend: float) -> None:
        """At most one ATM withdrawal a day, of a standard amount (the ATM's rails cut it
        to the daily limit when it settles)."""
        m, beh, code = self.model, self.model.behaviour, self.model.codes
        p = beh.rates[K.P_CASH_OUT] * beh.schedule_weekday[code.cash, weekday] * spend
        if m.rng.random() < p:
            amount = int(beh.cash_cents[m.pick(beh.cash_cdf)])
            t = t0 + m.seconds(beh.schedule_cdf[code.cash])
            m.post(Pending(t, code.CASH_OUT, code.atm, self.row, -1, amount=amount))

    def cash_deposit(self, t0: int, weekday: int) -> None:
        """At most one cash deposit a day (median $200), at a branch or an ATM."""
        m = self.model
        if m.rng.random() < m.behaviour.rates[K.P_CASH_IN]:
            self.deposit_cash(t0, weekday, m.flow_amount(K.F_DEPOSIT), K.F_DEPOSIT)

    def deposit_cash(self, t0: int, weekday: int, amount: int, flow: int) -> None:
        """Cash in at a branch in opening hours (never on Sunday), else at an ATM."""
        m, beh, code = self.model, self.model.behaviour, self.model.codes
        open_today = beh.schedule_weekday[code.opening_hours, weekday] > 0
        if m.rng.random() < K.branch_share(flow) and open_today:
            channel, t = code.branch, t0 + m.seconds(beh.schedule_cdf[code.opening_hours])
        else:
            channel, t = code.atm, t0 + m.seconds(beh.schedule_cdf[code.cash])
        m.post(Pending(t, code.CASH_IN, channel, -1, self.row, amount=amount))

    def transfer(self, t0: int) -> None:
        """At most one transfer a day to any other customer of the shard (median $80; a few
        are large, median $2,000)."""
        m, beh, code = self.model, self.model.behaviour, self.model.codes
        if len(m.customers) > 1 and m.rng.random() < beh.rates[K.P_TRANSFER]:
            large = m.rng.random() < beh.rates[K.LARGE_SHARE]
            amount = max(100, m.flow_amount(K.F_LARGE if large else K.F_TRANSFER))
            t = t0 + m.seconds(beh.schedule_cdf[code.evening])
            m.post(Pending(t, code.TRANSFER, m.app(), self.row, m.other(self.row), amount=amount))

    def external_transfers(self, t0: int, spend: float) -> None:
        """Money sent to and received from accounts at other banks (median $250)."""
        m, beh, code = self.model, self.model.behaviour, self.model.codes
        if m.rng.random() < beh.rates[K.P_EXT_OUT] * spend:
            t = t0 + m.seconds(beh.schedule_cdf[code.evening])
            m.post(Pending(t, code.TRANSFER, m.app(), self.row, -1,
                           amount=max(100, m.flow_amount(K.F_EXTERNAL))))  # fmt: skip
        if m.rng.random() < beh.rates[K.P_EXT_IN]:
            t = t0 + m.seconds(beh.schedule_cdf[code.evening])
            m.post(Pending(t, code.TRANSFER, code.online, -1, self.row,
                           amount=max(100, m.flow_amount(K.F_EXTERNAL))))  # fmt: skip

    def savings_sweep(self, t0: int) -> None:
        """Now and then a share of the balance moves to savings at another bank."""
        m, beh, code = self.model, self.model.behaviour, self.model.codes
        if m.rng.random() < beh.rates[K.P_SWEEP]:
            share = m.rng.uniform(beh.rates[K.SWEEP_LO], beh.rates[K.SWEEP_HI])
            t = t0 + m.seconds(beh.schedule_cdf[code.evening])
            m.post(Pending(t, code.TRANSFER, m.app(), self.row, -1, amount=int(share * MILLION),
                           mode=K.MODE_BALANCE_FRACTION))  # fmt: skip

    def pass_cash_on(self, t0: int, weekday: int) -> None:
        """Now and then cash paid in (mostly at a branch) of which 85-99% is transferred on
        one to four days later, to another customer or another bank."""
        m, beh, code = self.model, self.model.behaviour, self.model.codes
        if m.rng.random() >= beh.rates[K.P_PASS]:
            return
        amount = m.flow_amount(K.F_PASS)
        self.deposit_cash(t0, weekday, amount, K.F_PASS)
        later = t0 + int(m.rng.integers(1, 5)) * DAY + m.seconds(beh.schedule_cdf[code.evening])
        share = m.rng.uniform(beh.rates[K.PASS_LO], beh.rates[K.PASS_HI])
        inside = len(m.customers) > 1 and m.rng.random() < beh.rates[K.PASS_INSIDE]
        m.post(Pending(later, code.TRANSFER, m.app(), self.row,
                       m.other(self.row) if inside else -1, amount=int(share * amount)))

    def business(self, t0: int, weekday: int, spend: float) -> None:
        """A small business's day: cash takings, client payments in, supplier payments out
        (some to other businesses of the bank)."""
        m, beh, code = self.model, self.model.behaviour, self.model.codes
        if m.rng.random() < beh.rates[K.P_TAKINGS] * beh.schedule_weekday[code.cash, weekday]:
            self.deposit_cash(t0, weekday, m.flow_amount(K.F_TAKINGS), K.F_TAKINGS)
        if m.rng.random() < beh.rates[K.P_CLIENT]:
            t = t0 + m.seconds(beh.schedule_cdf[code.daytime])
            m.post(Pending(t, code.TRANSFER, code.online, -1, self.row,
                           amount=m.flow_amount(K.F_CLIENT)))  # fmt: skip
        if m.rng.random() < self.supplier_per_day * spend:
            businesses = m.inputs.customers.businesses
            payee = -1  # another business of the bank (two tries to avoid itself), or outside
            if len(businesses) > 1 and m.rng.random() < beh.rates[K.SUPPLIER_INSIDE]:
                for _ in range(2):
                    payee = int(m.rng.choice(businesses))
                    if payee != self.row:
                        break
                payee = -1 if payee == self.row else payee
            t = t0 + m.seconds(beh.schedule_cdf[code.daytime])
            m.post(Pending(t, code.TRANSFER, code.online, self.row, payee,
                           amount=m.flow_amount(K.F_SUPPLIER)))  # fmt: skip


@dataclass
class Case:
    """One running crime case: its participants and what each has received so far.

    The victim is an ordinary customer; the hub and the ring members are distinct mule
    accounts, so "what the source last received in this case" is kept per account.
    """

    typology: int
    case_id: int
    victim: int
    hub: int
    ring: list[int]
    clock: int
    mimics: bool = False  # passes for ordinary activity (see BankModel.new_case)
    p_business: float = 0.0  # how often its mules are businesses (see BankModel.mule)
    received: dict[int, int] = field(default_factory=dict)

    def account(self, role: str, j: int) -> int:
        """The customer row playing ``role`` in the ``j``-th occurrence of a step."""
        if role == "victim":
            return self.victim
        if role == "hub":
            return self.hub
        if role == "member":
            return self.ring[j]
        if role == "next_member":
            return self.ring[(j + 1) % len(self.ring)]
        if role == "first_member":
            return self.ring[0]
        return -1  # external, or a merchant (chosen separately)


class BankModel(mesa.Model):
    """One shard of the bank: customers, crime cases, and the day's settlement."""

    def __init__(self, inputs: ShardInputs, config: dict, rng: np.random.Generator):
        super().__init__(rng=rng)  # Mesa draws from our generator (model.rng)
        self.inputs = inputs
        self.behaviour = inputs.behaviour
        self.crime = inputs.crime
        self.codes = Codes(*(int(c) for c in inputs.behaviour.codes))
        run = config["run"]
        self.calendar = [tuple(int(v) for v in row)
                         for row in calendar_days(run["start_date"], run["days"])]  # fmt: skip
        self.customers = [Customer(self, row) for row in range(len(inputs.opening_cents))]
        self.mules = inputs.customers.mules
        self.business_mules = inputs.customers.business_mules
        self.individual_mules = inputs.customers.individual_mules
        self.victims = inputs.customers.victims
        self.steps_of = [  # per typology, its compiled steps in order
            [CompiledStep(*row) for row in self.crime.steps[first:end]]
            for first, end in self.crime.bounds[:, :2]
        ]
        self.n_cases = np.zeros(len(self.crime.p_case), dtype=np.int64)
        self.day = 0
        self.pending: list[Pending] = []  # in creation order
        self.booked: list[list[int]] = []  # output rows (kernels' O_* fields) of this chunk

    # -- shared sampling helpers ----------------------------------------------------------

    def post(self, tx: Pending) -> None:
        self.pending.append(tx)

    def pick(self, cdf: np.ndarray) -> int:
        """An index drawn from a discrete distribution given by its CDF."""
        return int(np.searchsorted(cdf, self.rng.random(), side="right"))

    def seconds(self, hour_cdf: np.ndarray) -> int:
        """Seconds after midnight: an hour from ``hour_cdf``, then uniform within it."""
        hour = min(self.pick(hour_cdf), 23)
        return hour * 3600 + int(self.rng.integers(0, 3600))

    def flow_amount(self, flow: int, shift: float = 0.0) -> int:
        """Cents from the log-normal of ordinary flow ``flow`` (``kernels.F_*``), its log
        shifted by ``shift``."""
        log_median, sigma = self.behaviour.flows[flow]
        return int(self.rng.lognormal(log_median + shift, sigma))

    def app(self) -> int:
        """Channel of a customer's own transfer: the mobile app (70%) or online banking."""
        return self.codes.mobile if self.rng.random() < 0.7 else self.codes.online

    def other(self, row: int) -> int:
        """Any customer row but ``row``."""
        other = int(self.rng.integers(0, len(self.customers) - 1))
        return other + (other >= row)

    def merchant(self, category: int, region: int) -> int:
        """A merchant of ``category``: in ``region`` with the in-region share, else anywhere."""
        beh = self.behaviour
        offsets, per_category = beh.merchant_offsets, beh.n_regions
        cell = category * per_category + region
        lo, hi = offsets[cell], offsets[cell + 1]
        if hi == lo or self.rng.random() >= beh.rates[3]:
            lo, hi = offsets[category * per_category], offsets[(category + 1) * per_category]
        return int(beh.merchant_order[lo + self.rng.integers(0, hi - lo)])

    # -- one day --------------------------------------------------------------------------

    def step(self) -> None:
        """Simulate one day: customers plan, crime cases start, due transactions settle."""
        day = self.day
        self.agents.do("plan_day", day)  # agents in creation (row) order, not shuffled
        self.start_cases(day)
        self.settle((day + 1) * DAY)
        self.day += 1

    # -- crime ------------------------------------------------------------------------------

    def start_cases(self, day: int) -> None:
        """Each customer-day starts a case of typology k with probability ``p_case[k]``."""
        if len(self.mules) < 2 or len(self.victims) < 1:
            return
        for k, p in enumerate(self.crime.p_case):
            for _ in range(self.rng.binomial(len(self.customers), p)):
                case_id = int(self.n_cases.sum())  # cases started so far: unique in the shard
                self.n_cases[k] += 1
                self.run_case(self.new_case(k, case_id, day * DAY))

    def new_case(self, k: int, case_id: int, t0: int) -> Case:
        """Pick whether the case mimics ordinary activity (with the typology's mimicry), a
        victim, a hub and, if the typology uses one, a ring of other mules (businesses as
        often as businesses make the first step's kind of row, when mimicking); then the
        start time (the typology's; a mimicking case's first row picks its own)."""
        mimics = bool(self.rng.random() < self.crime.mimicry[k])
        victim = int(self.rng.choice(self.victims))
        p_business = float(self.crime.business_share[k]) if mimics else 0.0
        hub = self.mule(p_business)
        ring: list[int] = []
        ring_lo, ring_hi = int(self.crime.bounds[k, 2]), int(self.crime.bounds[k, 3])
        if ring_hi > 0:
            wanted = int(self.rng.integers(ring_lo, ring_hi + 1))
            size = min(wanted, len(self.mules) - 1, K.MAX_RING)
            while len(ring) < size:
                candidate = self.mule(p_business)
                if candidate != hub and candidate not in ring:
                    ring.append(candidate)
        clock = t0 if mimics else t0 + self.seconds(self.crime.start_cdf[k])
        return Case(k, case_id, victim, hub, ring, clock, mimics, p_business)

    def mule(self, p_business: float) -> int:
        """A mule: a business account with probability ``p_business`` (when there is one)."""
        pool = self.mules
        if p_business > 0:
            business = self.rng.random() < p_business
            if business and len(self.business_mules):
                pool = self.business_mules
            elif not business and len(self.individual_mules):
                pool = self.individual_mules
        return int(self.rng.choice(pool))

    def run_case(self, case: Case) -> None:
        """Walk the typology's steps; each occurrence advances the clock (to the branch's
        opening hours for branch rows) and posts a row. A mimicking case paces itself by
        the steps' ``mimic_*`` delays and repeats, and each of its rows takes the payee,
        channel, time of day and amount of the ordinary flow it resembles."""
        first_row = True
        for step in self.steps_of[case.typology]:
            src_role, dst_role = ROLES[int(step.src)], ROLES[int(step.dst)]
            kind, channel = int(step.type), int(step.channel)
            if case.mimics:
                delay, repeat = ((step.mimic_delay_lo, step.mimic_delay_hi),
                                 (step.mimic_repeat_lo, step.mimic_repeat_hi))  # fmt: skip
            else:
                delay, repeat = (step.delay_lo, step.delay_hi), (step.repeat_lo, step.repeat_hi)
            if step.per_member:
                count = len(case.ring)
            else:
                count = int(self.rng.integers(int(repeat[0]), int(repeat[1]) + 1))
            for j in range(count):
                src, dst = case.account(src_role, j), case.account(dst_role, j)
                if case.mimics and kind == self.codes.TRANSFER and src >= 0:
                    dst = self.ordinary_payee(src, dst, case.p_business)
                category = self.case_category(dst_role, case.mimics)
                merchant = -1 if category < 0 else self.merchant(category,
                                                                 self.customers[src].region)
                flow, row_channel = -1, channel
                if case.mimics:
                    flow = self.ordinary_flow(kind, src, dst)
                    row_channel = self.ordinary_channel(kind, src, flow, category, channel)
                gap = int(self.rng.uniform(*delay))
                if case.mimics and (first_row or gap >= K.ORDINARY_TIME_AFTER):
                    case.clock, row_channel = self.ordinary_time(case.clock, gap, first_row, kind,
                                                                 category, row_channel)
                else:
                    case.clock = int(K.opening(case.clock + gap, row_channel, self.behaviour.codes,
                                               self.crime.first_weekday))  # fmt: skip
                first_row = False
                amount, mode = self.case_amount(step, case, src, category, flow)
                if dst >= 0 and mode == K.MODE_FIXED and dst == case.account(dst_role, j):
                    case.received[dst] = amount  # (not a mule paid instead of an outsider)
                self.post(Pending(case.clock, kind, row_channel, src, dst, merchant, amount, mode,
                                  case.typology + 1, case.case_id))  # fmt: skip

    def ordinary_payee(self, src: int, dst: int, p_business: float) -> int:
        """Who a mimicking case's transfer from ``src`` goes to: inside the bank (``dst``,
        or another mule when the step pays outside) or outside (-1) in the proportions of
        the payer's ordinary transfers."""
        r = self.behaviour.rates
        if self.customers[src].supplier_per_day > 0:
            inside = r[K.SUPPLIER_INSIDE]
        else:
            inside = r[K.P_TRANSFER] + r[K.P_PASS] * r[K.PASS_INSIDE]
            inside /= inside + r[K.P_EXT_OUT] + r[K.P_SWEEP] + r[K.P_PASS] * (1 - r[K.PASS_INSIDE])
        if self.rng.random() >= inside:
            return -1
        while dst < 0 or dst == src:
            dst = self.mule(p_business)
        return dst

    def ordinary_flow(self, kind: int, src: int, dst: int) -> int:
        """The ordinary flow (``kernels.F_*``) a row of this type between ``src`` and
        ``dst`` would belong to, or -1 (see ``kernels.ordinary_flow``)."""
        code, r = self.codes, self.behaviour.rates
        business = [a >= 0 and self.customers[a].supplier_per_day > 0 for a in (src, dst)]
        if kind == code.CASH_IN:
            if business[1]:
                return K.F_TAKINGS
            p_pass = r[K.P_PASS] / (r[K.P_CASH_IN] + r[K.P_PASS])
            return K.F_PASS if self.rng.random() < p_pass else K.F_DEPOSIT
        if kind != code.TRANSFER:
            return -1
        if src < 0:
            return K.F_CLIENT if business[1] else K.F_EXTERNAL
        if business[0]:
            return K.F_SUPPLIER
        if dst < 0:
            return K.F_EXTERNAL
        return K.F_LARGE if self.rng.random() < r[K.LARGE_SHARE] else K.F_TRANSFER

    def ordinary_channel(self, kind: int, src: int, flow: int, category: int,
                         channel: int) -> int:  # fmt: skip
        """The channel an ordinary customer uses for such a row (``channel`` where there is
        no choice; see ``kernels.ordinary_channel``)."""
        code = self.codes
        if kind == code.PAYMENT:
            online = self.rng.random() < self.behaviour.cat_online[category]
            return code.online if online else code.card_present
        if kind == code.CASH_IN:
            return code.branch if self.rng.random() < K.branch_share(flow) else code.atm
        if kind == code.TRANSFER and src >= 0 and flow != K.F_SUPPLIER:
            return self.app()
        return channel

    def ordinary_time(self, clock: int, gap: int, first_row: bool, kind: int, category: int,
                      channel: int) -> tuple[int, int]:  # fmt: skip
        """When a mimicking case's row happens and through which channel: at an ordinary
        time of day for such a row, on the day ``gap`` seconds after ``clock`` (the case's
        own day for its first row) or the next if that time has passed, at an ATM when
        branches are closed."""
        beh, code = self.behaviour, self.codes
        day = clock // DAY if first_row else (clock + gap) // DAY
        schedule = (beh.cat_schedule[category] if kind == code.PAYMENT
                    else K.ordinary_schedule(channel, beh.codes))  # fmt: skip
        seconds = self.seconds(beh.schedule_cdf[schedule])
        if not first_row and day * DAY + seconds <= clock:
            day += 1
        if channel == code.branch and (self.crime.first_weekday + day) % 7 == 6:
            channel = code.atm
            seconds = self.seconds(beh.schedule_cdf[beh.codes[K.CASH_HOURS]])
        t = K.opening(day * DAY + seconds, channel, beh.codes, self.crime.first_weekday)
        return int(t), channel

    def case_category(self, dst_role: str, mimics: bool) -> int:
        """The merchant category a step pays (any in a mimicking case, rather than a
        high-value or a small-payment one), or -1."""
        if dst_role == "merchant" or (mimics and dst_role.startswith("merchant")):
            return self.pick(self.behaviour.cat_cdf)
        if dst_role == "merchant_high":
            return int(self.rng.choice(self.crime.high_categories))
        if dst_role == "merchant_small":
            return int(self.rng.choice(self.behaviour.small_categories))
        return -1

    def case_amount(self, step: CompiledStep, case: Case, src: int, category: int,
                    flow: int) -> tuple[int, int]:  # fmt: skip
        """Amount (cents, at least 1; or millionths of balance) and mode of one occurrence.
        In a mimicking case, an amount not passed on from earlier in the case is the
        ordinary flow's."""
        rule, a, b = AMOUNT_RULES[int(step.rule)], step.a, step.b
        mode = K.MODE_FIXED
        passed_on = rule.startswith("received") and src in case.received
        if case.mimics and not passed_on:
            amount = self.ordinary_amount(int(step.type), flow, src, category, rule)
        elif rule == "lognormal":  # median a, log-sd b, currency units
            amount = int(self.rng.lognormal(np.log(a * 100.0), b))
        elif rule == "uniform":
            amount = int(self.rng.uniform(a, b) * 100.0)
        elif rule == "balance_fraction":  # resolved when it settles
            amount, mode = int(self.rng.uniform(a, b) * MILLION), K.MODE_AVAILABLE_FRACTION
        elif rule == "threshold_fraction":
            amount = int(self.rng.uniform(a, b) * int(self.crime.threshold_cents))
        else:  # received_fraction, received_split
            amount = int(self.rng.uniform(a, b) * case.received[src])
            if rule == "received_split":
                amount //= max(len(case.ring), 1)
        return max(amount, 1), mode

    def ordinary_amount(self, kind: int, flow: int, src: int, category: int, rule: str) -> int:
        """Cents an ordinary customer moves in such a row: the payer's own spend in the
        category; a standard ATM amount; else the flow's (drawn again until below the
        reporting threshold for a threshold rule)."""
        beh, code = self.behaviour, self.codes
        if kind == code.PAYMENT:
            shift = self.customers[src].log_spend
            mu = beh.cat_mu[category] + shift
            return max(50, int(self.rng.lognormal(mu, beh.cat_sigma[category])))
        if kind == code.CASH_OUT:
            return int(beh.cash_cents[self.pick(beh.cash_cdf)])
        amount = max(100, self.flow_amount(flow))
        while rule == "threshold_fraction" and amount >= int(self.crime.threshold_cents):
            amount = max(100, self.flow_amount(flow))
        return amount

    # -- settlement ---------------------------------------------------------------------------

    def settle(self, t_end: int) -> None:
        """Book the transactions due before ``t_end`` in time order (ties: creation order)."""
        due = [tx for tx in self.pending if tx.t < t_end]
        self.pending = [tx for tx in self.pending if tx.t >= t_end]
        for customer in self.customers:
            customer.atm_used = 0
        for tx in sorted(due, key=lambda tx: tx.t):  # sorted() is stable
            self.book(tx)

    def book(self, tx: Pending) -> None:
        """Move the money if the source can afford it, and record the row either way."""
        src = self.customers[tx.src] if tx.src >= 0 else None
        dst = self.customers[tx.dst] if tx.dst >= 0 else None
        amount = tx.amount
        if tx.mode != K.MODE_FIXED:
            funds = max(src.balance, 0)
            if tx.mode == K.MODE_AVAILABLE_FRACTION:
                funds = src.balance + src.overdraft
            amount = max(funds * amount // MILLION, MIN_FRACTION_CENTS)
        approved = src is None or src.balance - amount >= -src.overdraft
        if src is not None and (tx.kind, tx.channel) == (self.codes.CASH_OUT, self.codes.atm):
            # the ATM's rails, whoever withdraws: whole $20 notes within the daily limit
            left = src.atm_limit - src.atm_used
            notes = max(min(amount, left) // K.ATM_NOTE_CENTS, 1)
            amount = notes * K.ATM_NOTE_CENTS
            approved = amount <= left and src.balance - amount >= -src.overdraft
            src.atm_used += amount if approved else 0
        row = [0] * K.N_OUT  # balances of a side outside the bank stay 0 (masked on output)
        row[K.O_T], row[K.O_TYPE], row[K.O_CHAN] = tx.t, tx.kind, tx.channel
        row[K.O_STATUS], row[K.O_AMOUNT] = (0 if approved else 1), amount
        row[K.O_SRC], row[K.O_DST], row[K.O_MERCH] = tx.src, tx.dst, tx.merchant
        row[K.O_FTYPE], row[K.O_CASE] = tx.ftype, tx.case
        if src is not None:
            row[K.O_SRC_BEFORE] = src.balance
            if approved:
                src.balance -= amount
            row[K.O_SRC_AFTER] = src.balance
        if dst is not None:
            row[K.O_DST_BEFORE] = dst.balance
            if approved:
                dst.balance += amount
            row[K.O_DST_AFTER] = dst.balance
        self.booked.append(row)

    # -- output -------------------------------------------------------------------------------

    def take_output(self) -> tuple[np.ndarray, int]:
        """The rows booked since the last call, as the kernels' (N_OUT, n) int64 table."""
        out = np.array(self.booked, dtype=np.int64).reshape(-1, K.N_OUT).T.copy()
        self.booked = []
        return out, out.shape[1]

    def balances(self) -> np.ndarray:
        return np.array([c.balance for c in self.customers], dtype=np.int64)


def run_reference(
    inputs: ShardInputs, config: dict, rng: np.random.Generator
) -> Iterator[tuple[np.ndarray, int, np.ndarray, np.ndarray]]:
    """Simulate the shard with the Mesa model, one chunk of days at a time.

    Same contract as :func:`scenarios.bank.simulate.run_kernel`: yields the chunk's output
    table (kernel ``O_*`` layout) and row count, the balances (cents) and the cases started
    so far per typology.
    """
    run = config["run"]
    model = BankModel(inputs, config, rng)
    for first in range(0, run["days"], run["chunk_days"]):
        for _ in range(first, min(first + run["chunk_days"], run["days"])):
            model.step()
        out, n_out = model.take_output()
        yield out, n_out, model.balances(), model.n_cases.copy()
