"""Numba step kernels of the bank scenario over columnar state.

Array layout
------------
Money is int64 cents; times are int64 seconds since the run's first midnight. Customers
are addressed by their local row in the shard (0..n-1); -1 means "outside the bank".

``cand`` : int64 (capacity, N_CAND) — candidate transactions not yet settled, one per row,
    columns ``C_*``. ``C_AMOUNT`` holds cents, or for ``MODE_BALANCE_FRACTION`` the fraction
    of the source's positive balance in millionths, resolved when the row settles.
``out`` : int64 (N_OUT, capacity) — settled transactions, one per column (column-major so each
    output field is a contiguous row), fields ``O_*``. Balances of an external side are
    undefined and masked on output.

A day runs in two kernels: :func:`generate_day` appends every customer's and every crime
case's candidates (cases may reach into later days), then :func:`settle` takes the
candidates due before the day ends, sorts them by time (ties by creation order), and books
them one by one: a debit that would take the source below its overdraft limit is declined
and moves nothing. All randomness comes from the shard's ``numpy.random.Generator``
(``rng``: binomial, normal and large-mean Poisson draws) and the xoshiro state seeded from
it (``bits``: uniforms and small Poisson counts, the bulk of the draws; see
:mod:`simulations.bits`).
"""

from __future__ import annotations

from collections import namedtuple

import numba as nb
import numpy as np

from simulations.bits import POISSON_SMALL_MAX, below, poisson_small, uniform

__all__ = [
    "Customers", "Behaviour", "Crime", "generate_day", "settle", "new_candidates",
    "new_output", "N_CAND", "N_OUT", "MODE_FIXED", "MODE_BALANCE_FRACTION",
]  # fmt: skip

C_T, C_TYPE, C_CHAN, C_SRC, C_DST, C_MERCH, C_AMOUNT, C_MODE, C_FTYPE, C_CASE = range(10)
N_CAND = 10
(O_T, O_TYPE, O_CHAN, O_STATUS, O_AMOUNT, O_SRC, O_DST, O_MERCH, O_SRC_BEFORE, O_SRC_AFTER,
 O_DST_BEFORE, O_DST_AFTER, O_FTYPE, O_CASE) = range(14)  # fmt: skip
N_OUT = 14
MODE_FIXED, MODE_BALANCE_FRACTION = 0, 1
OVERDRAWN_RESTRAINT = 0.5
"""Card-payment and cash-withdrawal rate multiplier for a customer who starts the day
overdrawn: people who see a negative balance cut discretionary spending, which keeps
balances (and decline rates) stationary over long runs."""
_MILLION = 1_000_000
_MIN_FRACTION_CENTS = 100  # a fraction-of-balance payment is at least one dollar

CODE_NAMES = (
    "SALARY", "BILL", "PAYMENT", "CASH_OUT", "CASH_IN", "TRANSFER",
    "direct_credit", "direct_debit", "card_present", "online", "atm", "branch", "mobile",
    "overnight", "cash", "evening",
)  # fmt: skip
"""What each entry of ``Behaviour.codes`` holds the code of: transaction types, channels,
then schedules (bills run overnight, cash by the cash profile, transfers in the evening)."""
(SALARY, BILL, PAYMENT, CASH_OUT, CASH_IN, TRANSFER, DIRECT_CREDIT, DIRECT_DEBIT, CARD_PRESENT,
 ONLINE, ATM, BRANCH, MOBILE, BILL_HOURS, CASH_HOURS, TRANSFER_HOURS) = range(16)  # fmt: skip

# Role and amount-rule codes: indices into rules.typology.ROLES / AMOUNT_RULES.
R_EXTERNAL, R_VICTIM, R_HUB, R_MEMBER, R_NEXT, R_FIRST, R_MERCHANT, R_MERCHANT_HIGH = range(8)
A_LOGNORMAL, A_UNIFORM, A_BALANCE, A_THRESHOLD, A_RECEIVED, A_SPLIT = range(6)
MAX_RING = 64

Customers = namedtuple(
    "Customers",
    "card_rate log_spend pay_day pay_second income_cents bill_day bill_cents bill_merchant region "
    "mules victims",
)
"""Per-customer arrays of one shard (see ``scenarios.bank.population``): ``log_spend`` shifts
the log of card amounts with income; ``mules`` and ``victims`` are local rows of mule and
ordinary accounts."""

Behaviour = namedtuple(
    "Behaviour",
    "codes rates cat_cdf cat_guide cat_mu cat_sigma cat_online cat_schedule schedule_cdf "
    "schedule_guide schedule_weekday card_weekday cash_cents cash_cdf cash_guide bill_variable "
    "merchant_order merchant_offsets n_regions",
)
"""Normal-behaviour tables: ``codes`` int64, one per :data:`CODE_NAMES`; ``rates`` float64
= [P(cash out), P(cash in), P(transfer)] per customer-day, in-region share. Each ``*_cdf``
comes with its guide table (``rules.schedules.guide_table``)."""

Crime = namedtuple(
    "Crime", "steps bounds start_cdf start_guide p_case threshold_cents high_categories"
)
"""Compiled typologies (``rules.typology.CompiledTypologies``), case probability per
customer-day of each, reporting threshold in cents, and high-value category codes."""


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
def _customers_day(t0, weekday, dom, dim, cust, beh, balance, rng, bits, cand, m):
    """Append every customer's ordinary transactions of the day starting at ``t0``.

    One call per day, looping inside: a call per customer would copy the namedtuples'
    array structs (and their reference counts) every time, costing more than the work."""
    c = beh.codes
    n = cust.card_rate.shape[0]
    for i in range(n):
        restraint = OVERDRAWN_RESTRAINT if balance[i] < 0 else 1.0
        if dom == min(cust.pay_day[i], dim):
            cand, m = _push(cand, m, t0 + cust.pay_second[i], c[SALARY], c[DIRECT_CREDIT], -1,
                            i, -1, cust.income_cents[i], MODE_FIXED, 0, -1)  # fmt: skip
        for slot in range(cust.bill_day.shape[1]):
            day = cust.bill_day[i, slot]
            if day > 0 and min(day, dim) == dom:
                amount = cust.bill_cents[i, slot]
                if beh.bill_variable[slot]:
                    amount = np.int64(amount * (0.85 + 0.3 * uniform(bits)))
                t = t0 + _seconds(
                    beh.schedule_cdf[c[BILL_HOURS]], beh.schedule_guide[c[BILL_HOURS]], bits
                )
                cand, m = _push(cand, m, t, c[BILL], c[DIRECT_DEBIT], i, -1,
                                cust.bill_merchant[i, slot], amount, MODE_FIXED, 0, -1)  # fmt: skip
        rate = cust.card_rate[i] * beh.card_weekday[weekday] * restraint
        n_cards = poisson_small(bits, rate) if rate <= POISSON_SMALL_MAX else rng.poisson(rate)
        for _ in range(n_cards):
            cat = _draw(beh.cat_cdf, beh.cat_guide, bits)
            t = t0 + _seconds(
                beh.schedule_cdf[beh.cat_schedule[cat]],
                beh.schedule_guide[beh.cat_schedule[cat]],
                bits,
            )
            merchant = _merchant(cat, cust.region[i], beh, bits)
            log_amount = (
                beh.cat_mu[cat] + cust.log_spend[i] + beh.cat_sigma[cat] * rng.standard_normal()
            )
            amount = max(np.int64(50), np.int64(np.exp(log_amount)))
            channel = c[ONLINE] if uniform(bits) < beh.cat_online[cat] else c[CARD_PRESENT]
            cand, m = _push(
                cand, m, t, c[PAYMENT], channel, i, -1, merchant, amount, MODE_FIXED, 0, -1
            )
        cash = c[CASH_HOURS]
        if uniform(bits) < beh.rates[0] * beh.schedule_weekday[cash, weekday] * restraint:
            amount = beh.cash_cents[_draw(beh.cash_cdf, beh.cash_guide, bits)]
            t = t0 + _seconds(beh.schedule_cdf[cash], beh.schedule_guide[cash], bits)
            cand, m = _push(cand, m, t, c[CASH_OUT], c[ATM], i, -1, -1, amount, MODE_FIXED, 0, -1)
        if uniform(bits) < beh.rates[1]:
            amount = np.int64(20_000.0 * np.exp(0.8 * rng.standard_normal()))
            channel = c[BRANCH] if uniform(bits) < 0.5 else c[ATM]
            t = t0 + _seconds(beh.schedule_cdf[cash], beh.schedule_guide[cash], bits)
            cand, m = _push(cand, m, t, c[CASH_IN], channel, -1, i, -1, amount, MODE_FIXED, 0, -1)
        if n > 1 and uniform(bits) < beh.rates[2]:
            other = below(bits, n - 1)
            other += other >= i  # any customer but i
            amount = max(np.int64(100), np.int64(8_000.0 * np.exp(rng.standard_normal())))
            channel = c[MOBILE] if uniform(bits) < 0.7 else c[ONLINE]
            t = t0 + _seconds(
                beh.schedule_cdf[c[TRANSFER_HOURS]], beh.schedule_guide[c[TRANSFER_HOURS]], bits
            )
            cand, m = _push(
                cand, m, t, c[TRANSFER], channel, i, other, -1, amount, MODE_FIXED, 0, -1
            )
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
def _draw_ring(ring, size, hub, mules, bits):
    """Fill ``ring[:size]`` with distinct mules other than ``hub``; return ``size``."""
    filled = 0
    while filled < size:
        candidate = mules[below(bits, mules.shape[0])]
        fresh = candidate != hub
        for q in range(filled):
            fresh = fresh and ring[q] != candidate
        if fresh:
            ring[filled] = candidate
            filled += 1
    return size


@nb.njit(cache=True)
def _case(k, case, t0, cust, beh, crime, rng, bits, cand, m):
    """Append every transaction of one case of typology ``k`` starting on day ``t0``."""
    first, end = crime.bounds[k, 0], crime.bounds[k, 1]
    ring_lo, ring_hi = crime.bounds[k, 2], crime.bounds[k, 3]
    mules, victims = cust.mules, cust.victims
    victim = victims[below(bits, victims.shape[0])]
    hub = mules[below(bits, mules.shape[0])]
    ring = np.empty(MAX_RING, dtype=np.int64)
    ring_size = 0
    if ring_hi > 0:
        wanted = min(rng.integers(ring_lo, ring_hi + 1), mules.shape[0] - 1, MAX_RING)
        ring_size = _draw_ring(ring, wanted, hub, mules, bits)
    received = np.full(2 + MAX_RING, -1, dtype=np.int64)
    clock = t0 + _seconds(crime.start_cdf[k], crime.start_guide[k], bits)
    for s in range(first, end):
        step = crime.steps[s]
        src_role, dst_role, rule = np.int64(step[0]), np.int64(step[1]), np.int64(step[4])
        per_member = step[11] > 0
        count = ring_size if per_member else rng.integers(np.int64(step[9]), np.int64(step[10]) + 1)
        for j in range(count):
            clock += np.int64(step[7] + (step[8] - step[7]) * uniform(bits))
            src = _account(src_role, j, ring, ring_size, victim, hub)
            dst = _account(dst_role, j, ring, ring_size, victim, hub)
            merchant = -1
            if dst_role == R_MERCHANT:
                cat = _draw(beh.cat_cdf, beh.cat_guide, bits)
                merchant = _merchant(cat, cust.region[src], beh, bits)
            elif dst_role == R_MERCHANT_HIGH:
                cat = crime.high_categories[below(bits, crime.high_categories.shape[0])]
                merchant = _merchant(cat, cust.region[src], beh, bits)
            share = step[5] + (step[6] - step[5]) * uniform(bits)
            mode = MODE_FIXED
            if rule == A_LOGNORMAL:
                amount = np.int64(step[5] * 100.0 * np.exp(step[6] * rng.standard_normal()))
            elif rule == A_UNIFORM:
                amount = np.int64(share * 100.0)
            elif rule == A_BALANCE:
                amount, mode = np.int64(share * _MILLION), MODE_BALANCE_FRACTION
            elif rule == A_THRESHOLD:
                amount = np.int64(share * crime.threshold_cents)
            else:
                amount = np.int64(share * received[_slot(src_role, j, ring_size)])
                if rule == A_SPLIT:
                    amount //= max(ring_size, 1)
            amount = max(amount, np.int64(1))
            if dst >= 0 and mode == MODE_FIXED:
                received[_slot(dst_role, j, ring_size)] = amount
            cand, m = _push(cand, m, clock, np.int64(step[2]), np.int64(step[3]), src, dst,
                            merchant, amount, mode, k + 1, case)  # fmt: skip
    return cand, m


@nb.njit(cache=True)
def generate_day(day, weekday, dom, dim, cust, beh, crime, balance, rng, bits, cand, m, n_cases):
    """Append the candidates of simulated day ``day`` (0-based) for every customer and case.

    ``n_cases`` (int64, one per typology) counts cases started so far in this shard and is
    updated in place; case ids are ``sum over typologies`` so far, so they stay unique.
    """
    t0 = day * 86400
    cand, m = _customers_day(t0, weekday, dom, dim, cust, beh, balance, rng, bits, cand, m)
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
def _book(cand, due, balance, overdraft, out, n_out):
    """Book the rows ``due`` of ``cand`` in order into ``out`` from column ``n_out`` on."""
    for r in due:
        row = cand[r]
        src, dst, amount = row[C_SRC], row[C_DST], row[C_AMOUNT]
        if row[C_MODE] == MODE_BALANCE_FRACTION:
            amount = max(balance[src], 0) * amount // _MILLION
            amount = max(amount, np.int64(_MIN_FRACTION_CENTS))
        approved = src < 0 or balance[src] - amount >= -overdraft[src]
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
def settle(cand, m, t_end, balance, overdraft, out, n_out):
    """Book every candidate due before ``t_end`` in time order; keep the rest pending.

    ``balance`` (int64 cents) is updated in place. Returns the (possibly grown) output
    table, its new row count, and the number of candidates still pending (now at the
    front of ``cand``, in creation order).
    """
    due = _due_in_order(cand, m, t_end)
    if n_out + due.shape[0] > out.shape[1]:
        bigger = np.empty((N_OUT, max(2 * out.shape[1], n_out + due.shape[0])), dtype=np.int64)
        bigger[:, :n_out] = out[:, :n_out]
        out = bigger
    n_out = _book(cand, due, balance, overdraft, out, n_out)
    kept = 0
    for r in range(m):
        if cand[r, C_T] >= t_end:
            cand[kept] = cand[r]
            kept += 1
    return out, n_out, kept
