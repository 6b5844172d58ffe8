"""Numba step kernels of the bank scenario over columnar state.

Array layout
------------
Money is int64 cents; times are int64 seconds since the run's first midnight. Customers
are addressed by their local row in the shard (0..n-1); -1 means "outside the bank".

``cand`` : int64 (capacity, N_CAND) — candidate transactions not yet settled, one per row,
    columns ``C_*``. ``C_AMOUNT`` holds cents, or in millionths the fraction of the source's
    positive balance (``MODE_BALANCE_FRACTION``: a saver's sweep) or of its available funds,
    overdraft included (``MODE_AVAILABLE_FRACTION``: a criminal's drain), resolved when the
    row settles.
``out`` : int64 (N_OUT, capacity) — settled transactions, one per column (column-major so each
    output field is a contiguous row), fields ``O_*``. Balances of an external side are
    undefined and masked on output.

A day runs in two kernels: :func:`generate_day` appends every customer's and every crime
case's candidates (cases may reach into later days), then :func:`settle` takes the
candidates due before the day ends, sorts them by time (ties by creation order), and books
them one by one: a debit that would take the source below its overdraft limit is declined
and moves nothing.

Randomness: every customer-day draws from its own xoshiro256** state
(:mod:`simulations.bits`), reseeded at the start of the customer's turn by SplitMix64 from
the shard's behaviour ``key``, the day and the customer's row (uniforms, Box-Muller normals,
Poisson counts by :func:`poisson`). Crime draws from a separate stream: a
``numpy.random.Generator`` (``rng``: case counts, ring sizes, repeats) and a xoshiro state
(``bits``) split off the shard's behaviour stream before anything else. A customer's
ordinary draws therefore do not depend on other customers' or on the crime's, so two runs
that differ only in a fraud or laundering rate share their random numbers customer by
customer (common random numbers); ordinary rows still differ where a case changes a
balance (the spending feedback, declines) or a crime-touched account's payments reach
others.
"""

from __future__ import annotations

from collections import namedtuple

import numba as nb
import numpy as np

from simulations.bits import below, normal, poisson, seed_bits, splitmix64, uniform

__all__ = [
    "Customers", "Behaviour", "Crime", "generate_day", "settle", "new_candidates",
    "new_output", "N_CAND", "N_OUT", "MODE_FIXED", "MODE_BALANCE_FRACTION",
    "MODE_AVAILABLE_FRACTION", "normal", "poisson", "seed_bits",
]  # fmt: skip

C_T, C_TYPE, C_CHAN, C_SRC, C_DST, C_MERCH, C_AMOUNT, C_MODE, C_FTYPE, C_CASE = range(10)
N_CAND = 10
(O_T, O_TYPE, O_CHAN, O_STATUS, O_AMOUNT, O_SRC, O_DST, O_MERCH, O_SRC_BEFORE, O_SRC_AFTER,
 O_DST_BEFORE, O_DST_AFTER, O_FTYPE, O_CASE) = range(14)  # fmt: skip
N_OUT = 14
MODE_FIXED, MODE_BALANCE_FRACTION, MODE_AVAILABLE_FRACTION = 0, 1, 2
FEEDBACK_RANGE = (0.25, 4.0)
"""Bounds of the buffer-stock spending multiplier (see ``behaviour.SPENDING_FEEDBACK``)."""
_MILLION = 1_000_000
_MIN_FRACTION_CENTS = 100  # a fraction-of-balance payment is at least one dollar
ORDINARY_TIME_AFTER = 3600
"""A mimicking case's row due this many seconds or more after the previous one happens at
an ordinary customer's time of day for such a row (shorter gaps keep a burst together)."""
ATM_NOTE_CENTS = 2_000
"""ATMs dispense $20 notes: every ATM withdrawal is a multiple of this."""
OPENING_HOURS = (9, 17)
"""Branches are open from 9:00 to 17:00, Monday to Saturday: branch rows of crime cases due
outside these hours wait for the next opening, as a customer would."""

CODE_NAMES = (
    "SALARY", "BILL", "PAYMENT", "CASH_OUT", "CASH_IN", "TRANSFER",
    "direct_credit", "direct_debit", "card_present", "online", "atm", "branch", "mobile",
    "overnight", "cash", "evening", "opening_hours", "daytime",
)  # fmt: skip
"""What each entry of ``Behaviour.codes`` holds the code of: transaction types, channels,
then schedules (bills run overnight, ATMs by the cash profile, branches in opening hours,
transfers in the evening, business and shopping in the daytime)."""
(SALARY, BILL, PAYMENT, CASH_OUT, CASH_IN, TRANSFER, DIRECT_CREDIT, DIRECT_DEBIT, CARD_PRESENT,
 ONLINE, ATM, BRANCH, MOBILE, BILL_HOURS, CASH_HOURS, TRANSFER_HOURS, BRANCH_HOURS,
 DAY_HOURS) = range(18)  # fmt: skip

# Entries of ``Behaviour.rates``: probabilities per customer-day, then shares and parameters.
(P_CASH_OUT, P_CASH_IN, P_TRANSFER, IN_REGION, P_EXT_OUT, P_EXT_IN, P_SWEEP, P_MICRO, P_SPREE,
 P_TAKINGS, P_CLIENT, LARGE_SHARE, FEEDBACK, SWEEP_LO, SWEEP_HI, SUPPLIER_INSIDE, P_PASS,
 PASS_LO, PASS_HI, PASS_INSIDE, N_RATES) = range(21)  # fmt: skip
# Rows of ``Behaviour.flows`` (log median cents, sigma): the order of ``behaviour.FLOWS``.
(F_DEPOSIT, F_TRANSFER, F_LARGE, F_EXTERNAL, F_MICRO, F_SPREE, F_TAKINGS, F_CLIENT,
 F_SUPPLIER, F_PASS) = range(10)  # fmt: skip

# Role and amount-rule codes: indices into rules.typology.ROLES / AMOUNT_RULES.
(R_EXTERNAL, R_VICTIM, R_HUB, R_MEMBER, R_NEXT, R_FIRST, R_MERCHANT, R_MERCHANT_HIGH,
 R_MERCHANT_SMALL) = range(9)  # fmt: skip
A_LOGNORMAL, A_UNIFORM, A_BALANCE, A_THRESHOLD, A_RECEIVED, A_SPLIT = range(6)
MAX_RING = 64
_KEY_STEP = np.uint64(0x632BE59BD9B4E019)  # odd: customers' keys never share a SplitMix run

Customers = namedtuple(
    "Customers",
    "card_rate log_spend pay_day pay_second income_cents bill_day bill_cents bill_merchant region "
    "target_cents scale_cents supplier_per_day businesses mules business_mules individual_mules "
    "victims",
)
"""Per-customer arrays of one shard (see ``scenarios.bank.population``): ``log_spend`` shifts
the log of card amounts to the customer's budget; ``target_cents`` (the mean balance over a
pay cycle the customer aims at) and ``scale_cents`` (monthly turnover; infinite for mules,
whose spending crime money does not change) steer the spending feedback;
``supplier_per_day`` is 0 except for business customers, whose local rows ``businesses``
lists; ``mules`` (split into ``business_mules`` and ``individual_mules``) and ``victims``
are local rows of mule and ordinary accounts."""

Behaviour = namedtuple(
    "Behaviour",
    "codes rates flows bursts cat_cdf cat_guide cat_mu cat_sigma cat_online cat_schedule "
    "schedule_cdf schedule_guide schedule_weekday card_weekday cash_cents cash_cdf cash_guide "
    "bill_variable small_categories spree_categories merchant_order merchant_offsets n_regions",
)
"""Normal-behaviour tables: ``codes`` int64, one per :data:`CODE_NAMES`; ``rates`` float64,
one per ``P_*``/``*`` index above; ``flows`` (9, 2) log median cents and sigma per ``F_*``;
``bursts`` int64 = micro-burst (min, max count, min, max gap s), shopping trip (the same).
Each ``*_cdf`` comes with its guide table (``rules.schedules.guide_table``)."""

Crime = namedtuple(
    "Crime",
    "steps bounds start_cdf start_guide p_case threshold_cents high_categories mimicry "
    "business_share first_weekday",
)
"""Compiled typologies (``rules.typology.CompiledTypologies``), case probability per
customer-day of each, reporting threshold in cents, high-value category codes, each
typology's mimicry (0..1: the share of its cases that pass for ordinary activity, see
:func:`_case`), the share of its first step's type of ordinary rows that business
customers make (how often a mimicking case's mules are businesses) and the weekday of
day 0."""


@nb.njit(cache=True)
def new_candidates(capacity):
    return np.empty((max(capacity, 16), N_CAND), dtype=np.int64)


@nb.njit(cache=True)
def new_output(capacity):
    return np.empty((N_OUT, max(capacity, 16)), dtype=np.int64)


@nb.njit(cache=True)
def _push(cand, m, t, kind, channel, src, dst, merchant, amount, mode, ftype, case):
    if m == cand.shape[0]:
        bigger = np.empty((2 * m, N_CAND), dtype=np.int64)
        bigger[:m] = cand
        cand = bigger
    row = cand[m]
    row[C_T], row[C_TYPE], row[C_CHAN], row[C_SRC], row[C_DST] = t, kind, channel, src, dst
    row[C_MERCH], row[C_AMOUNT], row[C_MODE], row[C_FTYPE], row[C_CASE] = (
        merchant, amount, mode, ftype, case,
    )  # fmt: skip
    return cand, m + 1


@nb.njit(cache=True)
def _draw(cdf, guide, bits):
    """Index drawn from ``cdf`` (last value 1) using its guide table (usually no search)."""
    u = uniform(bits)
    k = guide[np.int64(u * guide.shape[0])]
    while k < cdf.shape[0] - 1 and cdf[k] <= u:
        k += 1
    return k


@nb.njit(cache=True)
def _seconds(cdf, guide, bits):
    return _draw(cdf, guide, bits) * 3600 + below(bits, 3600)


@nb.njit(cache=True)
def _merchant(category, region, beh, bits):
    """A merchant row of ``category``, in ``region`` with the in-region share if any exist."""
    cell = category * beh.n_regions + region
    lo, hi = beh.merchant_offsets[cell], beh.merchant_offsets[cell + 1]
    if hi == lo or uniform(bits) >= beh.rates[3]:
        lo = beh.merchant_offsets[category * beh.n_regions]
        hi = beh.merchant_offsets[(category + 1) * beh.n_regions]
    return beh.merchant_order[lo + below(bits, hi - lo)]


@nb.njit(cache=True)
def _lognormal(beh, flow, bits):
    """Cents drawn from the log-normal of ``flow`` (a row of ``beh.flows``)."""
    return np.int64(np.exp(beh.flows[flow, 0] + beh.flows[flow, 1] * normal(bits)))


@nb.njit(cache=True)
def _at(beh, schedule, bits):
    """Seconds after midnight drawn from schedule code ``schedule``."""
    return _seconds(beh.schedule_cdf[schedule], beh.schedule_guide[schedule], bits)


@nb.njit(cache=True)
def pay_phase(dom, dim, pay_day):
    """Where a customer is in the pay cycle, from 0.5 on pay day down to about -0.5 the day
    before the next: the balance sits this many monthly incomes above its cycle mean.
    Works on scalars and arrays."""
    return 0.5 - ((dom - np.minimum(pay_day, dim)) % dim) / dim


@nb.njit(cache=True)
def spending_multiplier(balance, target, scale, gain):
    """Buffer-stock feedback on discretionary spending: below 1 under the target balance,
    above 1 over it (``behaviour.SPENDING_FEEDBACK``)."""
    m = np.exp(gain * (balance - target) / max(scale, 1.0))
    return min(max(m, FEEDBACK_RANGE[0]), FEEDBACK_RANGE[1])


@nb.njit(cache=True)
def _other(i, n, bits):
    """Any customer row but ``i``."""
    other = below(bits, n - 1)
    return other + (other >= i)


@nb.njit(cache=True)
def _customers_day(day, weekday, dom, dim, cust, beh, balance, key, cand, m):
    """Append every customer's ordinary transactions of day ``day``, customer ``i`` drawing
    from its own xoshiro state seeded from (``key``, ``day``, ``i``).

    One call per day, looping inside: a call per customer would copy the namedtuples'
    array structs (and their reference counts) every time, costing more than the work."""
    c, r = beh.codes, beh.rates
    n = cust.card_rate.shape[0]
    cash = c[CASH_HOURS]
    t0 = day * 86400
    day_key = splitmix64(key ^ splitmix64(np.uint64(day)))
    bits = np.empty(4, dtype=np.uint64)
    for i in range(n):
        seed_bits(bits, day_key + np.uint64(i) * _KEY_STEP)
        expected = cust.target_cents[i] + cust.income_cents[i] * pay_phase(dom, dim,
                                                                           cust.pay_day[i])
        spend = spending_multiplier(balance[i], expected, cust.scale_cents[i], r[FEEDBACK])
        if dom == min(cust.pay_day[i], dim):
            cand, m = _push(cand, m, t0 + cust.pay_second[i], c[SALARY], c[DIRECT_CREDIT], -1,
                            i, -1, cust.income_cents[i], MODE_FIXED, 0, -1)  # fmt: skip
        for slot in range(cust.bill_day.shape[1]):
            day = cust.bill_day[i, slot]
            if day > 0 and min(day, dim) == dom:
                amount = cust.bill_cents[i, slot]
                if beh.bill_variable[slot]:
                    amount = np.int64(amount * (0.85 + 0.3 * uniform(bits)))
                cand, m = _push(cand, m, t0 + _at(beh, c[BILL_HOURS], bits), c[BILL],
                                c[DIRECT_DEBIT], i, -1, cust.bill_merchant[i, slot], amount,
                                MODE_FIXED, 0, -1)  # fmt: skip
        rate = cust.card_rate[i] * beh.card_weekday[weekday] * spend
        n_cards = poisson(bits, rate)
        for _ in range(n_cards):
            cat = _draw(beh.cat_cdf, beh.cat_guide, bits)
            t = t0 + _at(beh, beh.cat_schedule[cat], bits)
            merchant = _merchant(cat, cust.region[i], beh, bits)
            log_amount = (
                beh.cat_mu[cat] + cust.log_spend[i] + beh.cat_sigma[cat] * normal(bits)
            )
            amount = max(np.int64(50), np.int64(np.exp(log_amount)))
            channel = c[ONLINE] if uniform(bits) < beh.cat_online[cat] else c[CARD_PRESENT]
            cand, m = _push(
                cand, m, t, c[PAYMENT], channel, i, -1, merchant, amount, MODE_FIXED, 0, -1
            )
        if uniform(bits) < r[P_MICRO]:  # a burst of in-app payments or transit fares
            cat = beh.small_categories[below(bits, beh.small_categories.shape[0])]
            merchant = _merchant(cat, cust.region[i], beh, bits)
            channel = c[ONLINE] if uniform(bits) < beh.cat_online[cat] else c[CARD_PRESENT]
            t = t0 + _at(beh, c[TRANSFER_HOURS], bits)
            lo, hi = beh.bursts[0], beh.bursts[1]
            for _ in range(lo + below(bits, hi - lo + 1)):
                amount = max(np.int64(50), _lognormal(beh, F_MICRO, bits))
                cand, m = _push(cand, m, t, c[PAYMENT], channel, i, -1, merchant, amount,
                                MODE_FIXED, 0, -1)  # fmt: skip
                t += beh.bursts[2] + below(bits, beh.bursts[3] - beh.bursts[2] + 1)
        if uniform(bits) < r[P_SPREE] * spend:  # a shopping trip: several stores in a row
            t = t0 + _at(beh, c[DAY_HOURS], bits)
            lo, hi = beh.bursts[4], beh.bursts[5]
            for _ in range(lo + below(bits, hi - lo + 1)):
                cat = beh.spree_categories[below(bits, beh.spree_categories.shape[0])]
                merchant = _merchant(cat, cust.region[i], beh, bits)
                amount = max(np.int64(50), np.int64(
                    np.exp(beh.flows[F_SPREE, 0] + cust.log_spend[i]
                           + beh.flows[F_SPREE, 1] * normal(bits))))  # fmt: skip
                cand, m = _push(cand, m, t, c[PAYMENT], c[CARD_PRESENT], i, -1, merchant, amount,
                                MODE_FIXED, 0, -1)  # fmt: skip
                t += beh.bursts[6] + below(bits, beh.bursts[7] - beh.bursts[6] + 1)
        if uniform(bits) < r[P_CASH_OUT] * beh.schedule_weekday[cash, weekday] * spend:
            amount = beh.cash_cents[_draw(beh.cash_cdf, beh.cash_guide, bits)]
            cand, m = _push(cand, m, t0 + _at(beh, cash, bits), c[CASH_OUT], c[ATM], i, -1, -1,
                            amount, MODE_FIXED, 0, -1)  # fmt: skip
        if uniform(bits) < r[P_CASH_IN]:
            cand, m = _cash_deposit(t0, weekday, i, _lognormal(beh, F_DEPOSIT, bits), F_DEPOSIT,
                                    beh, bits, cand, m)  # fmt: skip
        if n > 1 and uniform(bits) < r[P_TRANSFER]:
            flow = F_LARGE if uniform(bits) < r[LARGE_SHARE] else F_TRANSFER
            amount = max(np.int64(100), _lognormal(beh, flow, bits))
            cand, m = _push(cand, m, t0 + _at(beh, c[TRANSFER_HOURS], bits), c[TRANSFER],
                            _app(beh, bits), i, _other(i, n, bits), -1, amount, MODE_FIXED, 0,
                            -1)  # fmt: skip
        if uniform(bits) < r[P_EXT_OUT] * spend:
            amount = max(np.int64(100), _lognormal(beh, F_EXTERNAL, bits))
            cand, m = _push(cand, m, t0 + _at(beh, c[TRANSFER_HOURS], bits), c[TRANSFER],
                            _app(beh, bits), i, -1, -1, amount, MODE_FIXED, 0, -1)  # fmt: skip
        if uniform(bits) < r[P_EXT_IN]:
            amount = max(np.int64(100), _lognormal(beh, F_EXTERNAL, bits))
            cand, m = _push(cand, m, t0 + _at(beh, c[TRANSFER_HOURS], bits), c[TRANSFER],
                            c[ONLINE], -1, i, -1, amount, MODE_FIXED, 0, -1)  # fmt: skip
        if uniform(bits) < r[P_SWEEP]:  # savings moved to an account at another bank
            share = r[SWEEP_LO] + (r[SWEEP_HI] - r[SWEEP_LO]) * uniform(bits)
            cand, m = _push(cand, m, t0 + _at(beh, c[TRANSFER_HOURS], bits), c[TRANSFER],
                            _app(beh, bits), i, -1, -1, np.int64(share * _MILLION),
                            MODE_BALANCE_FRACTION, 0, -1)  # fmt: skip
        if uniform(bits) < r[P_PASS]:
            cand, m = _pass_through(t0, weekday, i, n, beh, bits, cand, m)
        if cust.supplier_per_day[i] > 0:
            cand, m = _business_day(t0, weekday, i, spend, cust, beh, bits, cand, m)
    return cand, m


@nb.njit(cache=True)
def _pass_through(t0, weekday, i, n, beh, bits, cand, m):
    """Cash paid in (mostly at a branch) and 85-99% of it transferred on one to four days
    later, to another customer or another bank."""
    c, r = beh.codes, beh.rates
    amount = _lognormal(beh, F_PASS, bits)
    cand, m = _cash_deposit(t0, weekday, i, amount, F_PASS, beh, bits, cand, m)
    later = t0 + (1 + below(bits, 4)) * 86400 + _at(beh, c[TRANSFER_HOURS], bits)
    share = r[PASS_LO] + (r[PASS_HI] - r[PASS_LO]) * uniform(bits)
    payee = _other(i, n, bits) if n > 1 and uniform(bits) < r[PASS_INSIDE] else -1
    return _push(cand, m, later, c[TRANSFER], _app(beh, bits), i, payee, -1,
                 np.int64(share * amount), MODE_FIXED, 0, -1)


@nb.njit(cache=True)
def _app(beh, bits):
    """Channel of a customer's own transfer: the mobile app or online banking."""
    return beh.codes[MOBILE] if uniform(bits) < 0.7 else beh.codes[ONLINE]


@nb.njit(cache=True)
def _cash_deposit(t0, weekday, i, amount, flow, beh, bits, cand, m):
    """A cash deposit of ``flow`` into customer ``i``: at a branch in opening hours (with the
    flow's :func:`branch_share`, never on Sunday), else at an ATM by the cash profile."""
    c = beh.codes
    if uniform(bits) < branch_share(flow) and beh.schedule_weekday[c[BRANCH_HOURS], weekday] > 0:
        channel, t = c[BRANCH], t0 + _at(beh, c[BRANCH_HOURS], bits)
    else:
        channel, t = c[ATM], t0 + _at(beh, c[CASH_HOURS], bits)
    return _push(cand, m, t, c[CASH_IN], channel, -1, i, -1, amount, MODE_FIXED, 0, -1)


@nb.njit(cache=True)
def _business_day(t0, weekday, i, spend, cust, beh, bits, cand, m):
    """A business customer's day: cash takings, client payments in, supplier payments out
    (a share of them to another business of the bank)."""
    c, r = beh.codes, beh.rates
    if uniform(bits) < r[P_TAKINGS] * beh.schedule_weekday[c[CASH_HOURS], weekday]:
        amount = _lognormal(beh, F_TAKINGS, bits)
        cand, m = _cash_deposit(t0, weekday, i, amount, F_TAKINGS, beh, bits, cand, m)
    if uniform(bits) < r[P_CLIENT]:
        cand, m = _push(cand, m, t0 + _at(beh, c[DAY_HOURS], bits), c[TRANSFER], c[ONLINE], -1,
                        i, -1, _lognormal(beh, F_CLIENT, bits), MODE_FIXED, 0, -1)  # fmt: skip
    if uniform(bits) < cust.supplier_per_day[i] * spend:
        payee = -1  # another business of the bank, or one outside
        n = cust.businesses.shape[0]
        if n > 1 and uniform(bits) < r[SUPPLIER_INSIDE]:
            payee = cust.businesses[below(bits, n)]
            payee = cust.businesses[below(bits, n)] if payee == i else payee
            payee = -1 if payee == i else payee
        amount = _lognormal(beh, F_SUPPLIER, bits)
        cand, m = _push(cand, m, t0 + _at(beh, c[DAY_HOURS], bits), c[TRANSFER], c[ONLINE], i,
                        payee, -1, amount, MODE_FIXED, 0, -1)  # fmt: skip
    return cand, m


@nb.njit(cache=True)
def _account(role, j, ring, ring_size, victim, hub):
    if role == R_VICTIM:
        return victim
    if role == R_HUB:
        return hub
    if role == R_MEMBER:
        return ring[j]
    if role == R_NEXT:
        return ring[(j + 1) % ring_size]
    if role == R_FIRST:
        return ring[0]
    return -1


@nb.njit(cache=True)
def _slot(role, j, ring_size):
    """Index into the case's 'received' memory: 0 victim, 1 hub, 2+k ring member k."""
    if role == R_VICTIM:
        return 0
    if role == R_HUB:
        return 1
    if role == R_MEMBER:
        return 2 + j
    if role == R_NEXT:
        return 2 + (j + 1) % ring_size
    return 2


@nb.njit(cache=True)
def _mule(p_business, cust, bits):
    """A mule: a business account with probability ``p_business`` (when there is one)."""
    pool = cust.mules
    if p_business > 0:
        business = uniform(bits) < p_business
        if business and cust.business_mules.shape[0] > 0:
            pool = cust.business_mules
        elif not business and cust.individual_mules.shape[0] > 0:
            pool = cust.individual_mules
    return pool[below(bits, pool.shape[0])]


@nb.njit(cache=True)
def _draw_ring(ring, size, hub, p_business, cust, bits):
    """Fill ``ring[:size]`` with distinct mules other than ``hub`` (see :func:`_mule`);
    return ``size``."""
    filled = 0
    while filled < size:
        candidate = _mule(p_business, cust, bits)
        fresh = candidate != hub
        for q in range(filled):
            fresh = fresh and ring[q] != candidate
        if fresh:
            ring[filled] = candidate
            filled += 1
    return size


@nb.njit(cache=True)
def ordinary_schedule(channel, codes):
    """Schedule code by which ordinary customers use ``channel``."""
    if channel == codes[ATM]:
        return codes[CASH_HOURS]
    if channel == codes[BRANCH]:
        return codes[BRANCH_HOURS]
    if channel == codes[ONLINE] or channel == codes[MOBILE]:
        return codes[TRANSFER_HOURS]
    return codes[DAY_HOURS]


@nb.njit(cache=True)
def opening(t, channel, codes, first_weekday):
    """``t``, or a time within the branch's next opening hours when a branch row falls
    outside :data:`OPENING_HOURS` or on a Sunday (spread over the hours by ``t`` itself, so
    that rows do not pile up at opening time)."""
    if channel != codes[BRANCH]:
        return t
    lo, hi = OPENING_HOURS
    open_s = (hi - lo) * 3600
    while True:
        day, second = t // 86400, t % 86400
        if (first_weekday + day) % 7 == 6 or second >= hi * 3600:
            t = (day + 1) * 86400 + lo * 3600 + t % open_s
        elif second < lo * 3600:
            t = day * 86400 + lo * 3600 + t % open_s
        else:
            return t


@nb.njit(cache=True)
def _ordinary_time(clock, gap, first_row, kind, cat, channel, beh, first_weekday, bits):
    """When a mimicking case's row happens and through which channel: at an ordinary
    customer's time of day for such a row, on the day ``gap`` seconds after ``clock`` (the
    case's own day for its first row) or the next if that time has passed, and at an ATM
    when branches are closed."""
    c = beh.codes
    day = clock // 86400 if first_row else (clock + gap) // 86400
    schedule = beh.cat_schedule[cat] if kind == c[PAYMENT] else ordinary_schedule(channel, c)
    seconds = _at(beh, schedule, bits)
    if not first_row and day * 86400 + seconds <= clock:
        day += 1
    if channel == c[BRANCH] and (first_weekday + day) % 7 == 6:
        channel = c[ATM]
        seconds = _at(beh, c[CASH_HOURS], bits)
    return opening(day * 86400 + seconds, channel, c, first_weekday), channel


@nb.njit(cache=True)
def _case_category(dst_role, mimics, beh, crime, bits):
    """The merchant category a step pays (any in a mimicking case, rather than a high-value
    or a small-payment one), or -1."""
    if dst_role == R_MERCHANT or (mimics and dst_role >= R_MERCHANT):
        return _draw(beh.cat_cdf, beh.cat_guide, bits)
    if dst_role == R_MERCHANT_HIGH:
        return crime.high_categories[below(bits, crime.high_categories.shape[0])]
    if dst_role == R_MERCHANT_SMALL:
        return beh.small_categories[below(bits, beh.small_categories.shape[0])]
    return -1


@nb.njit(cache=True)
def _ordinary_payee(src, dst, p_business, cust, beh, bits):
    """Who a mimicking case's transfer from ``src`` goes to: inside the bank (``dst``, or
    another mule when the step pays outside) or outside (-1) in the proportions of the
    payer's ordinary transfers."""
    r = beh.rates
    if cust.supplier_per_day[src] > 0:
        inside = r[SUPPLIER_INSIDE]
    else:
        inside = r[P_TRANSFER] + r[P_PASS] * r[PASS_INSIDE]
        inside /= inside + r[P_EXT_OUT] + r[P_SWEEP] + r[P_PASS] * (1 - r[PASS_INSIDE])
    if uniform(bits) >= inside:
        return -1
    while dst < 0 or dst == src:
        dst = _mule(p_business, cust, bits)
    return dst


@nb.njit(cache=True)
def ordinary_flow(kind, src, dst, cust, beh, bits):
    """The ordinary flow (``F_*``) a row of type ``kind`` between ``src`` and ``dst`` would
    belong to, or -1 for card payments and ATM withdrawals: cash paid in is a business's
    takings, else a deposit or cash to pass on (by their rates); a transfer is a client
    payment into a business, a supplier payment out of one, a transfer with another bank,
    or one between customers (large with the large-transfer share)."""
    c, r = beh.codes, beh.rates
    if kind == c[CASH_IN]:
        if cust.supplier_per_day[dst] > 0:
            return F_TAKINGS
        return F_PASS if uniform(bits) * (r[P_CASH_IN] + r[P_PASS]) < r[P_PASS] else F_DEPOSIT
    if kind != c[TRANSFER]:
        return -1
    if src < 0:
        return F_CLIENT if cust.supplier_per_day[dst] > 0 else F_EXTERNAL
    if cust.supplier_per_day[src] > 0:
        return F_SUPPLIER
    if dst < 0:
        return F_EXTERNAL
    return F_LARGE if uniform(bits) < r[LARGE_SHARE] else F_TRANSFER


@nb.njit(cache=True)
def ordinary_channel(kind, src, flow, cat, channel, beh, bits):
    """The channel an ordinary customer uses for a row of this flow or merchant category
    (``channel`` where there is no choice): card payments are online in the category's
    share, cash is paid in at a branch or an ATM in the flow's proportions, and a customer's
    own transfers are made in the app or online banking."""
    c = beh.codes
    if kind == c[PAYMENT]:
        return c[ONLINE] if uniform(bits) < beh.cat_online[cat] else c[CARD_PRESENT]
    if kind == c[CASH_IN]:
        return c[BRANCH] if uniform(bits) < branch_share(flow) else c[ATM]
    if kind == c[TRANSFER] and src >= 0 and flow != F_SUPPLIER:
        return _app(beh, bits)
    return channel


@nb.njit(cache=True)
def branch_share(flow):
    """Share of a cash flow paid in at a branch (the rest at an ATM)."""
    if flow == F_TAKINGS:
        return 0.7
    if flow == F_PASS:
        return 0.8
    return 0.5


@nb.njit(cache=True)
def _ordinary_amount(kind, flow, src, cat, cust, beh, crime, rule, bits):
    """Cents an ordinary customer would move in a row of type ``kind`` and ``flow`` (a
    mimicking case borrows it): the payer's own spend in the merchant category; a standard
    ATM amount; else the flow's amount (drawn again until below the reporting threshold when
    the step keeps below it)."""
    c = beh.codes
    if kind == c[PAYMENT]:
        sigma = beh.cat_sigma[cat]
        log_amount = beh.cat_mu[cat] + cust.log_spend[src] + sigma * normal(bits)
        return max(np.int64(50), np.int64(np.exp(log_amount)))
    if kind == c[CASH_OUT]:
        return beh.cash_cents[_draw(beh.cash_cdf, beh.cash_guide, bits)]
    amount = max(np.int64(100), _lognormal(beh, flow, bits))
    while rule == A_THRESHOLD and amount >= crime.threshold_cents:  # ordinary, given below it
        amount = max(np.int64(100), _lognormal(beh, flow, bits))
    return amount


@nb.njit(cache=True)
def _case(k, case, t0, cust, beh, crime, rng, bits, cand, m):
    """Append every transaction of one case of typology ``k`` starting on day ``t0``.

    With the typology's mimicry a case passes for ordinary activity: mules that are
    businesses as often as businesses make its first kind of row, the steps' ``mimic_*``
    pacing at ordinary times of day, merchants of any category, transfers inside or outside
    the bank in the payer's ordinary proportions, and in each row the channel and amount of
    the ordinary flow it resembles wherever the amount is not passed on from earlier in the
    case. A textbook drain takes a share of the funds available, overdraft included."""
    first, end = crime.bounds[k, 0], crime.bounds[k, 1]
    ring_lo, ring_hi = crime.bounds[k, 2], crime.bounds[k, 3]
    codes = beh.codes
    mimics = uniform(bits) < crime.mimicry[k]
    pace = 12 if mimics else 7  # delay and repeat columns of the compiled steps
    mules, victims = cust.mules, cust.victims
    victim = victims[below(bits, victims.shape[0])]
    p_business = crime.business_share[k] if mimics else 0.0
    hub = _mule(p_business, cust, bits)
    ring = np.empty(MAX_RING, dtype=np.int64)
    ring_size = 0
    if ring_hi > 0:
        wanted = min(rng.integers(ring_lo, ring_hi + 1), mules.shape[0] - 1, MAX_RING)
        ring_size = _draw_ring(ring, wanted, hub, p_business, cust, bits)
    received = np.full(2 + MAX_RING, -1, dtype=np.int64)
    clock = t0 if mimics else t0 + _seconds(crime.start_cdf[k], crime.start_guide[k], bits)
    first_row = True
    for s in range(first, end):
        step = crime.steps[s]
        src_role, dst_role, rule = np.int64(step[0]), np.int64(step[1]), np.int64(step[4])
        kind, channel = np.int64(step[2]), np.int64(step[3])
        delay_lo, delay_hi = step[pace], step[pace + 1]
        count = ring_size
        if step[11] == 0:  # not once per ring member
            count = rng.integers(np.int64(step[pace + 2]), np.int64(step[pace + 3]) + 1)
        for j in range(count):
            src = _account(src_role, j, ring, ring_size, victim, hub)
            dst = _account(dst_role, j, ring, ring_size, victim, hub)
            if mimics and kind == codes[TRANSFER] and src >= 0:
                dst = _ordinary_payee(src, dst, p_business, cust, beh, bits)
            cat = _case_category(dst_role, mimics, beh, crime, bits)
            merchant = _merchant(cat, cust.region[src], beh, bits) if cat >= 0 else -1
            flow, row_channel = -1, channel
            if mimics:
                flow = ordinary_flow(kind, src, dst, cust, beh, bits)
                row_channel = ordinary_channel(kind, src, flow, cat, channel, beh, bits)
            gap = np.int64(delay_lo + (delay_hi - delay_lo) * uniform(bits))
            if mimics and (first_row or gap >= ORDINARY_TIME_AFTER):
                clock, row_channel = _ordinary_time(clock, gap, first_row, kind, cat, row_channel,
                                                    beh, crime.first_weekday, bits)  # fmt: skip
            else:
                clock = opening(clock + gap, row_channel, codes, crime.first_weekday)
            first_row = False
            share = step[5] + (step[6] - step[5]) * uniform(bits)
            mode = MODE_FIXED
            passed_on = rule >= A_RECEIVED and received[_slot(src_role, j, ring_size)] >= 0
            if mimics and not passed_on:
                amount = _ordinary_amount(kind, flow, src, cat, cust, beh, crime, rule, bits)
            elif rule == A_LOGNORMAL:
                amount = np.int64(step[5] * 100.0 * np.exp(step[6] * rng.standard_normal()))
            elif rule == A_UNIFORM:
                amount = np.int64(share * 100.0)
            elif rule == A_THRESHOLD:
                amount = np.int64(share * crime.threshold_cents)
            elif rule == A_BALANCE:
                amount, mode = np.int64(share * _MILLION), MODE_AVAILABLE_FRACTION
            else:
                amount = np.int64(share * received[_slot(src_role, j, ring_size)])
                if rule == A_SPLIT:
                    amount //= max(ring_size, 1)
            amount = max(amount, np.int64(1))
            if dst >= 0 and mode == MODE_FIXED and R_VICTIM <= dst_role <= R_FIRST:
                received[_slot(dst_role, j, ring_size)] = amount  # (not a mule paid instead)
            cand, m = _push(cand, m, clock, kind, row_channel, src, dst, merchant, amount, mode,
                            k + 1, case)  # fmt: skip
    return cand, m


@nb.njit(cache=True)
def generate_day(day, weekday, dom, dim, cust, beh, crime, balance, key, rng, bits, cand, m,
                 n_cases):
    """Append the candidates of simulated day ``day`` (0-based) for every customer and case.

    ``key`` (uint64) keys the customers' own streams; ``rng`` and ``bits`` are the crime
    stream, used for cases only. ``n_cases`` (int64, one per typology) counts cases started
    so far in this shard and is updated in place; case ids are ``sum over typologies`` so
    far, so they stay unique.
    """
    t0 = day * 86400
    cand, m = _customers_day(day, weekday, dom, dim, cust, beh, balance, key, cand, m)
    if cust.mules.shape[0] < 2 or cust.victims.shape[0] < 1:
        return cand, m
    n = cust.card_rate.shape[0]
    for k in range(crime.p_case.shape[0]):
        for _ in range(rng.binomial(n, crime.p_case[k])):
            case = n_cases.sum()
            n_cases[k] += 1
            cand, m = _case(k, case, t0, cust, beh, crime, rng, bits, cand, m)
    return cand, m


@nb.njit(cache=True)
def _due_in_order(cand, m, t_end):
    """Rows of ``cand[:m]`` due before ``t_end``, by time then creation order.

    Every due row lies in the last day before ``t_end`` (earlier ones were settled), so a
    stable counting sort over its 86,400 seconds orders them in linear time.
    """
    day_start = t_end - 86400
    counts = np.zeros(86401, dtype=np.int64)
    for r in range(m):
        t = cand[r, C_T]
        if t < day_start:
            raise ValueError("a candidate is due before the day being settled")
        if t < t_end:
            counts[t - day_start + 1] += 1
    for k in range(1, 86401):
        counts[k] += counts[k - 1]
    due = np.empty(counts[86400], dtype=np.int64)
    for r in range(m):
        t = cand[r, C_T]
        if t < t_end:
            due[counts[t - day_start]] = r
            counts[t - day_start] += 1
    return due


@nb.njit(cache=True)
def _book(cand, due, balance, overdraft, atm, out, n_out):
    """Book the rows ``due`` of ``cand`` in order into ``out`` from column ``n_out`` on.

    ``atm`` = (CASH_OUT code, atm channel code, per-account daily limit in cents, cents
    withdrawn today per account, updated here)."""
    cash_out, atm_channel, atm_limit, atm_used = atm
    for r in due:
        row = cand[r]
        src, dst, amount = row[C_SRC], row[C_DST], row[C_AMOUNT]
        if row[C_MODE] != MODE_FIXED:
            funds = max(balance[src], 0)
            if row[C_MODE] == MODE_AVAILABLE_FRACTION:
                funds = balance[src] + overdraft[src]
            amount = max(funds * amount // _MILLION, np.int64(_MIN_FRACTION_CENTS))
        approved = src < 0 or balance[src] - amount >= -overdraft[src]
        if src >= 0 and row[C_TYPE] == cash_out and row[C_CHAN] == atm_channel:
            # whoever withdraws: whole notes, within what the day's limit leaves
            left = atm_limit[src] - atm_used[src]
            amount = max(min(amount, left) // ATM_NOTE_CENTS, 1) * ATM_NOTE_CENTS
            approved = amount <= left and balance[src] - amount >= -overdraft[src]
            if approved:
                atm_used[src] += amount
        col = out[:, n_out]
        col[O_T], col[O_TYPE], col[O_CHAN] = row[C_T], row[C_TYPE], row[C_CHAN]
        col[O_STATUS], col[O_AMOUNT] = 0 if approved else 1, amount
        col[O_SRC], col[O_DST], col[O_MERCH] = src, dst, row[C_MERCH]
        col[O_FTYPE], col[O_CASE] = row[C_FTYPE], row[C_CASE]
        if src >= 0:
            col[O_SRC_BEFORE] = balance[src]
            if approved:
                balance[src] -= amount
            col[O_SRC_AFTER] = balance[src]
        if dst >= 0:
            col[O_DST_BEFORE] = balance[dst]
            if approved:
                balance[dst] += amount
            col[O_DST_AFTER] = balance[dst]
        n_out += 1
    return n_out


@nb.njit(cache=True)
def settle(cand, m, t_end, balance, overdraft, atm, out, n_out):
    """Book every candidate due before ``t_end`` (one day) in time order; keep the rest
    pending.

    ``balance`` (int64 cents) is updated in place; ``atm`` is as in :func:`_book`, its
    withdrawn-today counts are reset first. Returns the (possibly grown) output
    table, its new row count, and the number of candidates still pending (now at the
    front of ``cand``, in creation order).
    """
    due = _due_in_order(cand, m, t_end)
    if n_out + due.shape[0] > out.shape[1]:
        bigger = np.empty((N_OUT, max(2 * out.shape[1], n_out + due.shape[0])), dtype=np.int64)
        bigger[:, :n_out] = out[:, :n_out]
        out = bigger
    atm[3][:] = 0
    n_out = _book(cand, due, balance, overdraft, atm, out, n_out)
    kept = 0
    for r in range(m):
        if cand[r, C_T] >= t_end:
            cand[kept] = cand[r]
            kept += 1
    return out, n_out, kept
