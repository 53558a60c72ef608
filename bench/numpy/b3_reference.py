#!/usr/bin/env python3
"""
A vectorised numpy reference of the backtest simulator's B3 run, for `npm run bench:backtest` to time the
TypeScript engine against (issue 18: the full B3 run in <= 1/4 of this script's wall time on the same machine).
A benchmark dependency only: nothing in the keeper imports or ships it.

What it reproduces (keeper/sim/engine.ts semantics, hedging-math.md section 5 B3):
  * grid: steps = round(days*1440/stepMinutes), dt = stepMinutes*60 s, years of 365 days.
  * exact log-GBM, S_{i+1} = S_i exp((mu - sigma^2/2) dt + sigma sqrt(dt) Z), Z from numpy's PCG64 Generator
    (so results agree with the engine statistically, not bit for bit).
  * the book's legs valued Black-76 with r = 0 at the hedge vol (each leg's implied vol unless hedgeVol is set);
    q* = targetNetDelta - hedgeRatio * (options delta + staticTokens).
  * initialHedge "target" (default): every policy first trades to q*_0 at step 0, paying its fee; "policy" starts at
    q = 0 and lets the policy decide (the engine before issue 18). A change worth under 1e-6 USD is not a trade.
  * clock (trade to q* when its interval has passed since the last trade, or there was none; the interval in whole
    grid steps, intervalSteps or an intervalSec that is a whole number of steps, as keeper/sim/scenario.ts), fixed
    threshold (trade to q* when |q - q*| > h), Whalley-Wilmott (H = cbrt(1.5 lambda S Gamma^2 / gamma), trade to the
    nearest band edge) and Zakamouline 2006 (keeper/strategy/decision-lanes.ts: centre at the delta with every vol scaled by
    sqrt(1 +- K), half-width H0 + H1, nearest edge), lambda = max(increaseBps, decreaseBps)/1e4.
  * Jupiter's fees in integers per request: longs and shorts are separate positions, so growing |q| pays
    increaseBps, shrinking it decreaseBps, and crossing zero pays both; fee = ceil(round(size*S*1e6)*bps/1e4) USDx1e6.
    Borrow (borrowPercentPerHour) on |q| S every step; the hedge is closed at the last price, with its fee.
  * net = book payoff - premium + hedge P&L - fees - borrow; trades include the initial hedge.
It refuses what B3 does not use (other price models, JLP, impact fee, tx cost, latency, trade limits, collateral) and
any field it does not know, instead of computing something else; a field left out takes keeper/sim/scenario.ts's
default (stepMinutes 5, ...), as the TS side fills it.

How it is vectorised: all paths of a chunk at once, one Python iteration per time step. --chunk is 5,000 paths by
default: big enough that numpy's per-call overhead is small, small enough that a step's arrays stay in cache (on a
2-core EPYC, 5,000-10,000 ran fastest; 2,500 took 1.3x and 20,000 1.1x as long). Every policy's hedge is a row of one
(policies x paths) array, rows grouped by kind so each kind's band is computed on a slice; about one cell in ten
trades at a step, so the fees are computed on the flat indices of those cells only. The hedge's P&L is kept as a cash
account (cash -= change * S at each trade, + q S_N at the end), which equals sum q_i (S_{i+1} - S_i). glibc is told
to keep freed memory (keep_freed_memory), or the step's temporaries cost page faults every step.
numpy has no erf: the normal CDF is W. J. Cody's rational Chebyshev erfc (Math. Comp. 23, 1969), the coefficients of
keeper/exposure/normal.ts, with exp(-y^2) taken in one piece: against Python's math.erfc on [-40, 40] the largest
relative error of Phi is 3.5e-13 (2.8e-14 within |x| < 10).

Run:
  python3 bench/numpy/b3_reference.py [SCENARIO.yaml] [--paths N] [--initial-hedge target|policy] [--json]
  ... --scenario-json - < scenario.json       (the bench passes the TS-parsed scenario this way; no PyYAML needed)
A YAML scenario needs PyYAML; without a scenario it reads config/scenarios/b3-jupiter-gamma-scalping.yaml.
Progress goes to stderr every few seconds; the table (or with --json one JSON object) to stdout.
"""

import argparse
import ctypes
import json
import math
import os
import sys
import time

import numpy as np

YEAR_SEC = 365 * 24 * 3600
MIN_TRADE_USD = 1e-6
B3_FILE = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "config", "scenarios", "b3-jupiter-gamma-scalping.yaml"))

# W. J. Cody's erfc coefficients: |x| <= 0.46875 (A, B), <= 4 (C, D), beyond (P, Q).
CODY_A = (3.1611237438705656, 113.864154151050156, 377.485237685302021, 3209.37758913846947, 0.185777706184603153)
CODY_B = (23.6012909523441209, 244.024637934444173, 1282.61652607737228, 2844.23683343917062)
CODY_C = (0.564188496988670089, 8.88314979438837594, 66.1191906371416295, 298.635138197400131, 881.95222124176909,
          1712.04761263407058, 2051.07837782607147, 1230.33935479799725, 2.15311535474403846e-8)
CODY_D = (15.7449261107098347, 117.693950891312499, 537.181101862009858, 1621.38957456669019, 3290.79923573345963,
          4362.61909014324716, 3439.36767414372164, 1230.33935480374942)
CODY_P = (0.305326634961232344, 0.360344899949804439, 0.125781726111229246, 0.0160837851487422766,
          6.58749161529837803e-4, 0.0163153871373020978)
CODY_Q = (2.56852019228982242, 1.87295284992346047, 0.527905102951428412, 0.0605183413124413191, 0.00233520497626869185)
INV_SQRT_PI = 0.56418958354775628695
INV_SQRT_2PI = 0.39894228040143267794


def _rational(z, num_coef, den_coef):
    """(((a_n z + a_0) z + a_1) z ... + a_last) / ((z + b_0) z ... + b_last), Cody's nesting, in place."""
    num = num_coef[-1] * z
    den = z.copy()
    for a, b in zip(num_coef[:-2], den_coef[:-1]):
        num += a
        num *= z
        den += b
        den *= z
    num += num_coef[-2]
    den += den_coef[-1]
    num /= den
    return num


def _erfc_nonneg(y):
    """erfc(y) for y >= 0 (an array), Cody's three intervals, each evaluated on its own elements only."""
    out = np.empty_like(y)
    small = y <= 0.46875
    large = y > 4.0
    mid = ~(small | large)
    if small.any():
        ys = y[small]
        out[small] = 1.0 - ys * _rational(ys * ys, CODY_A, CODY_B)
    if mid.any():
        ym = y[mid]
        out[mid] = np.exp(-ym * ym) * _rational(ym, CODY_C, CODY_D)
    if large.any():
        yl = y[large]
        z = 1.0 / (yl * yl)
        out[large] = np.exp(-yl * yl) * (INV_SQRT_PI - z * _rational(z, CODY_P, CODY_Q)) / yl
    return out


def norm_cdf(d):
    """Phi(d) = erfc(-d/sqrt 2)/2; the upper tail as 1 - erfc(|.|)/2 only where Phi > 1/2, so small values keep their digits."""
    z = d * -math.sqrt(0.5)
    c = 0.5 * _erfc_nonneg(np.abs(z))
    return np.where(z >= 0, c, 1.0 - c)


def norm_pdf(d):
    return INV_SQRT_2PI * np.exp(-0.5 * d * d)


def keep_freed_memory():
    """
    glibc gives freed heap back to the OS once 128 KiB are free at its top, so the megabytes of temporaries a step
    allocates and frees are faulted back in on every step: measured 2.6x the wall time (most of it system time) at
    4,000-path chunks. Keeping up to 256 MiB and serving allocations under 32 MiB from the heap is what
    MALLOC_TRIM_THRESHOLD_/MALLOC_MMAP_THRESHOLD_ would set; not glibc (macOS, musl): nothing to do.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-1, 256 << 20)  # M_TRIM_THRESHOLD
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


class ScenarioError(Exception):
    pass


def load_scenario(args):
    if args.scenario_json is not None:
        text = sys.stdin.read() if args.scenario_json == "-" else open(args.scenario_json, encoding="utf8").read()
        return json.loads(text)
    file = args.scenario or B3_FILE
    if file.lower().endswith(".json"):
        with open(file, encoding="utf8") as f:
            return json.load(f)
    try:
        import yaml  # optional: only for reading a YAML file directly
    except ImportError:
        raise ScenarioError(f"reading {file} needs PyYAML, which is not installed: pip install pyyaml, or pass the scenario as JSON with --scenario-json FILE (or - for stdin)")
    with open(file, encoding="utf8") as f:
        return yaml.safe_load(f)


def policy_label(p):
    if p.get("name"):
        return p["name"]
    kind = p["kind"]
    if kind == "clock":
        if p.get("intervalSteps") is not None:
            n = p["intervalSteps"]
            return f"clock {n} step{'' if n == 1 else 's'}"
        sec = p["intervalSec"]
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if sec % size == 0:
                return f"clock {sec // size:g}{unit}"
        return f"clock {sec:g}s"
    if kind == "fixed":
        return f"fixed |dev|>{p['thresholdTokens']:g}"
    return f"{'WW' if kind == 'whalley-wilmott' else 'Zak'} γ={p['riskAversion']:g}"


# keeper/sim/scenario.ts's fields and the defaults it fills; a user's YAML may leave any defaulted one out.
DEFAULTS = {"stepMinutes": 5, "paths": 20000, "seed": 1, "hedgeRatio": 1.0, "targetNetDelta": 0.0, "initialHedge": "target"}
REQUIRED = ("spot", "days", "model", "book", "policies")
# Read by nothing here, and changing no path's P&L: labels, the certainty equivalent's gamma, --sweep's grid.
IGNORED = ("name", "description", "utilityRiskAversion", "sweep")
FIELDS = {
    "scenario": set(DEFAULTS) | set(REQUIRED) | set(IGNORED) | {"hedgeVol", "costs", "trade", "targetLeverage", "collateral"},
    "model": {"kind", "vol", "drift"},
    "book": {"options", "staticTokens", "jlp"},
    "leg": {"kind", "strike", "expiryDays", "quantity", "impliedVol"},
    "costs": {"increaseBps", "decreaseBps", "impactFeeScalar", "borrowPercentPerHour", "txCostUsd", "latencySec"},
    "trade": {"minTradeTokens", "maxTradeTokens", "cooldownSec"},
}
POLICY_FIELDS = {"clock": {"intervalSec", "intervalSteps"}, "fixed": {"thresholdTokens"}, "whalley-wilmott": {"riskAversion"}, "zakamouline": {"riskAversion"}}


def with_defaults(s):
    """The scenario with keeper/sim/scenario.ts's defaults where it leaves a field out (the TS bench passes them filled)."""
    return {**DEFAULTS, **s}


def clock_steps(p, dt_sec):
    """
    A clock's interval in whole grid steps, as keeper/sim/scenario.ts clockIntervalSteps: intervalSteps, or an
    intervalSec within 1e-9 (relative) of a whole number of steps; None when it is neither.
    """
    if p.get("intervalSteps") is not None:
        n = p["intervalSteps"]
        return n if isinstance(n, int) and not isinstance(n, bool) and n >= 1 else None
    sec = p.get("intervalSec")
    if not isinstance(sec, (int, float)) or sec <= 0:
        return None
    k = round(sec / dt_sec)
    return k if k >= 1 and abs(k * dt_sec - sec) <= 1e-9 * sec else None


def unknown(kind, obj, where):
    """Fields of `obj` this reference does not know: it would silently leave them out of what it simulates."""
    if not isinstance(obj, dict):
        return [f"{where.rstrip('.') or '(top level)'}: {json.dumps(obj)} is not a mapping"]
    return [f"{where}{k}: not a field it knows" for k in sorted(set(obj) - FIELDS[kind])]


def check_supported(s):
    """
    The features this reference implements, on a scenario after with_defaults; anything else is refused with what
    to change, not simulated as something else.
    """
    problems = unknown("scenario", s, "") + [f"{k}: required" for k in REQUIRED if k not in s]
    problems += [f"{k}: {json.dumps(s[k])} is not a mapping" for k in ("model", "book", "costs", "trade") if k in s and not isinstance(s[k], dict)]
    policies = s.get("policies", [None])
    if not isinstance(policies, list) or not policies or not all(isinstance(p, dict) for p in policies):
        problems.append("policies: list at least one policy, each a mapping with its kind")
    if problems:
        raise ScenarioError("not a scenario the numpy reference can read: " + "; ".join(problems) + " (see config/scenarios/README.md)")
    model = s["model"]
    problems += unknown("model", model, "model.")
    if model.get("kind") != "gbm":
        problems.append(f"model.kind {model.get('kind')}: only gbm")
    book = s["book"]
    problems += unknown("book", book, "book.")
    for j, leg in enumerate(book.get("options", [])):
        problems += unknown("leg", leg, f"book.options.{j}.")
    costs = s.get("costs", {})
    problems += unknown("costs", costs, "costs.")
    for key in ("impactFeeScalar", "txCostUsd", "latencySec"):
        if costs.get(key, 0) != 0:
            problems.append(f"costs.{key} {costs[key]}: only 0")
    trade = s.get("trade", {})
    problems += unknown("trade", trade, "trade.")
    if trade.get("minTradeTokens", 0) != 0 or trade.get("cooldownSec", 0) != 0 or trade.get("maxTradeTokens") is not None:
        problems.append(f"trade {trade}: no minimum, cooldown or maximum")
    for key in ("targetLeverage", "collateral"):
        if s.get(key) is not None:
            problems.append(f"{key}: collateral is not modelled")
    if book.get("jlp") is not None:
        problems.append("book.jlp: JLP flows are not modelled")
    if s["initialHedge"] not in ("target", "policy"):
        problems.append(f"initialHedge {s['initialHedge']}: target or policy")
    dt_sec = s["stepMinutes"] * 60
    for j, p in enumerate(s["policies"]):
        kind = p.get("kind")
        if kind not in POLICY_FIELDS:
            problems.append(f"policies.{j}: policy kind {kind}")
            continue
        problems += [f"policies.{j}.{k}: not a field of a {kind} policy" for k in sorted(set(p) - POLICY_FIELDS[kind] - {"kind", "name"})]
        if kind == "clock" and (p.get("intervalSec") is None) == (p.get("intervalSteps") is None):
            problems.append(f"policies.{j}: a clock needs exactly one of intervalSec and intervalSteps; got {json.dumps(p)}")
        elif kind == "clock" and clock_steps(p, dt_sec) is None:
            problems.append(f"policies.{j}: a clock's interval must be intervalSteps, a whole number >= 1, or intervalSec, a whole number of the grid's {dt_sec:g} s steps; got {json.dumps(p)}")
        elif kind != "clock" and not all(k in p for k in POLICY_FIELDS[kind]):
            problems.append(f"policies.{j}: a {kind} policy needs {', '.join(sorted(POLICY_FIELDS[kind]))}")
    if problems:
        raise ScenarioError("the numpy reference does not implement: " + "; ".join(problems) + " (it reproduces B3-like scenarios only)")


class Book:
    """The option legs grouped by (strike, expiry, vol): a call and a put of one group share d1."""

    def __init__(self, s, dt_sec):
        hedge_vol = s.get("hedgeVol")
        groups = {}
        for leg in s["book"].get("options", []):
            expiry = leg["expiryDays"] * 86400
            key = (leg["strike"], expiry, leg["impliedVol"])
            g = groups.setdefault(key, {"call": 0.0, "put": 0.0})
            g[leg["kind"]] += leg["quantity"]
        # strike, expirySec, hedge vol, premium vol, call qty, put qty
        self.groups = [(k, e, hedge_vol or v, v, g["call"], g["put"]) for (k, e, v), g in groups.items()]
        self.dt_sec = dt_sec

    def live(self, step):
        now = step * self.dt_sec
        return [(k, e, v, cq, pq, (e - now) / YEAR_SEC) for (k, e, v, _, cq, pq) in self.groups if e > now]

    def greeks(self, step, x, spot):
        """Delta and gamma per path, and the |Gamma|-weighted years and vol (scalars when one group is live)."""
        live = self.live(step)
        delta = np.zeros_like(x)
        gamma = np.zeros_like(x)
        weight = years = vol = None
        for k, _, v, cq, pq, tau in live:
            vst = v * math.sqrt(tau)
            d1 = (x - math.log(k) + 0.5 * v * v * tau) / vst
            delta += (cq + pq) * norm_cdf(d1) - pq
            unit = norm_pdf(d1) / (spot * vst)
            gamma += (cq + pq) * unit
            if len(live) > 1:
                w = (abs(cq) + abs(pq)) * unit
                weight = w if weight is None else weight + w
                years = w * tau if years is None else years + w * tau
                vol = w * v if vol is None else vol + w * v
        if len(live) == 1:
            return delta, gamma, live[0][5], live[0][2]
        if not live:
            return delta, gamma, 0.0, 0.0
        safe = np.where(weight > 0, weight, 1.0)
        return delta, gamma, years / safe, vol / safe

    def delta_scaled(self, step, x, scale):
        """Options delta with every leg's vol times `scale` (per path); a zero vol gives the intrinsic delta."""
        delta = np.zeros_like(x)
        for k, _, v, cq, pq, tau in self.live(step):
            vs = v * scale
            moneyness = x - math.log(k)
            with np.errstate(divide="ignore", invalid="ignore"):
                d1 = (moneyness + 0.5 * vs * vs * tau) / (vs * math.sqrt(tau))
            d1 = np.where(vs > 0, d1, np.where(moneyness > 0, np.inf, -np.inf))
            delta += (cq + pq) * norm_cdf(d1) - pq
        return delta

    def premium(self, spot):
        total = 0.0
        for k, e, _, v, cq, pq in self.groups:
            call, put = black76(np.array([spot]), k, e / YEAR_SEC, v)
            total += float(cq * call[0] + pq * put[0])
        return total


def black76(f, k, years, vol):
    """Call and put values with r = 0, per element of the array f."""
    vst = vol * math.sqrt(years)
    d1 = (np.log(f / k) + 0.5 * vol * vol * years) / vst
    call = f * norm_cdf(d1) - k * norm_cdf(d1 - vst)
    return call, call - (f - k)


def fee_usd(size, spot, bps):
    """Jupiter's position fee on `size` tokens at `spot`, in integers of USDx1e6 (exact in float64 at these sizes)."""
    if bps == 0:
        return np.zeros_like(size)
    return np.ceil(np.rint(size * spot * 1e6) * bps / 1e4) / 1e6


def change_fee(q_from, q_to, spot, inc_bps, dec_bps):
    """Longs and shorts are separate positions: a change that crosses zero closes |q_from| and opens |q_to|."""
    a_from, a_to = np.abs(q_from), np.abs(q_to)
    cross = q_from * q_to < 0
    closed = np.where(cross, a_from, np.maximum(a_from - a_to, 0.0))
    opened = np.where(cross, a_to, np.maximum(a_to - a_from, 0.0))
    return fee_usd(closed, spot, dec_bps) + fee_usd(opened, spot, inc_bps)


def run_chunk(s, policies, seed_key, count, progress):
    steps = round(s["days"] * 1440 / s["stepMinutes"])
    dt_sec = s["stepMinutes"] * 60
    dt = dt_sec / YEAR_SEC
    model = s["model"]
    sigma, mu = model["vol"], model.get("drift", 0.0)
    costs = s.get("costs", {})
    inc_bps, dec_bps = costs.get("increaseBps", 6), costs.get("decreaseBps", 6)
    lam = max(inc_bps, dec_bps) / 1e4
    borrow_per_year = costs.get("borrowPercentPerHour", 0.0) / 100 * 24 * 365
    ratio = s["hedgeRatio"]
    target = s["targetNetDelta"]
    static = s["book"].get("staticTokens", 0.0)
    initial_target = s["initialHedge"] == "target"
    book = Book(s, dt_sec)
    rng = np.random.default_rng(seed_key)

    # Rows grouped by kind: clock, fixed, WW, Zak; `order` maps them back to the scenario's order.
    kinds = ("clock", "fixed", "whalley-wilmott", "zakamouline")
    order = sorted(range(len(policies)), key=lambda j: kinds.index(policies[j]["kind"]))
    sorted_pol = [policies[j] for j in order]
    n_pol = len(sorted_pol)
    bounds = np.cumsum([0] + [sum(p["kind"] == k for p in sorted_pol) for k in kinds])
    clock, fixed, ww, zak = (slice(bounds[j], bounds[j + 1]) for j in range(4))
    band = slice(bounds[2], bounds[4])  # trade to the nearest edge, not the centre
    interval = np.array([clock_steps(p, dt_sec) for p in sorted_pol[clock]], dtype=float)[:, None]
    fixed_h = np.array([p["thresholdTokens"] for p in sorted_pol[fixed]])[:, None]
    ww_factor = np.array([p["riskAversion"] ** (-1 / 3) for p in sorted_pol[ww]])[:, None]
    zak_gamma = [p["riskAversion"] for p in sorted_pol[zak]]

    q = np.zeros((n_pol, count))
    last_trade = np.full((bounds[1], count), -np.inf)  # clock rows only
    cash = np.zeros((n_pol, count))
    fees = np.zeros((n_pol, count))
    notional_sum = np.zeros((n_pol, count))  # sum over steps of |q| S, for borrow
    trades = np.zeros((n_pol, count))
    centre = np.empty((n_pol, count))
    half = np.zeros((n_pol, count))
    half[fixed] = fixed_h
    dev = np.empty((n_pol, count))
    tmp = np.empty((n_pol, count))
    trigger = np.empty((n_pol, count), dtype=bool)
    since_trade = np.empty_like(last_trade)
    q_flat, cash_flat, fees_flat, trades_flat = q.ravel(), cash.ravel(), fees.ravel(), trades.ravel()
    centre_flat, half_flat, dev_flat, last_flat = centre.ravel(), half.ravel(), dev.ravel(), last_trade.ravel()
    clock_cells = bounds[1] * count  # flat cells below this are clock rows
    band_cells = bounds[2] * count  # and from this one on, band policies (WW, Zak)

    def trade(cells, to, spot, step):
        """Moves the flat cells to `to` at their path's price, unless the change is worth under MIN_TRADE_USD."""
        old = q_flat[cells]
        px = spot[cells % count]
        keep = np.abs(to - old) * px >= MIN_TRADE_USD
        cells, to, old, px = cells[keep], to[keep], old[keep], px[keep]
        fees_flat[cells] += change_fee(old, to, px, inc_bps, dec_bps)
        cash_flat[cells] -= (to - old) * px
        trades_flat[cells] += 1
        q_flat[cells] = to
        last_flat[cells[cells < clock_cells]] = step

    x = np.full(count, math.log(s["spot"]))
    drift = (mu - 0.5 * sigma * sigma) * dt
    vol_step = sigma * math.sqrt(dt)
    expiry_spot = {}  # step -> prices at a leg's expiry inside the horizon
    expiry_steps = {math.ceil(e / dt_sec - 1e-9) for (_, e, _, _, _, _) in book.groups}
    all_cells = np.arange(n_pol * count)
    shown = time.monotonic()
    for i in range(steps):
        spot = np.exp(x)
        if i in expiry_steps:
            expiry_spot[i] = spot
        delta, gamma, years, vol = book.greeks(i, x, spot)
        q_star = target - ratio * (delta + static)
        gamma *= ratio
        centre[:] = q_star
        if i == 0 and initial_target:
            trade(all_cells, centre_flat.copy(), spot, 0)

        if ww.start < ww.stop:
            np.multiply(np.cbrt(1.5 * lam * spot * gamma * gamma), ww_factor, out=half[ww])
        for r, g in enumerate(zak_gamma):
            row = zak.start + r
            abs_gamma = np.abs(gamma)
            ok = (abs_gamma > 0) & (np.asarray(years) > 0) & (np.asarray(vol) > 0)
            with np.errstate(divide="ignore", invalid="ignore"):
                k = -4.76 * lam ** 0.78 * years ** -0.02 * (1 / vol) ** 0.25 * (g * spot * spot * abs_gamma) ** 0.15
                h0 = lam / (g * spot * vol * vol * years)
                h1 = 1.12 * lam ** 0.31 * years ** 0.05 * (1 / vol) ** 0.25 * np.sqrt(abs_gamma / g)
            scale = np.sqrt(np.maximum(0.0, np.where(gamma > 0, 1 + k, 1 - k)))
            shifted = target - ratio * (book.delta_scaled(i, x, np.where(ok, scale, 1.0)) + static)
            centre[row] = np.where(ok, shifted, q_star)
            half[row] = np.where(ok, h0 + h1, 0.0)

        np.subtract(q, centre, out=dev)
        np.abs(dev, out=tmp)
        np.greater(tmp, half, out=trigger)
        np.subtract(i, last_trade, out=since_trade)
        np.greater_equal(since_trade, interval, out=trigger[clock])
        cells = np.flatnonzero(trigger)
        if cells.size:
            to = centre_flat[cells]
            edge = cells >= band_cells
            to[edge] += np.copysign(half_flat[cells[edge]], dev_flat[cells[edge]])
            trade(cells, to, spot, i)

        np.abs(q, out=tmp)
        tmp *= spot
        notional_sum += tmp
        x += drift + vol_step * rng.standard_normal(count)
        if progress and time.monotonic() - shown > 5:
            shown = time.monotonic()
            progress(i + 1, steps)

    spot_end = np.exp(x)
    fees += change_fee(q, np.zeros_like(q), spot_end, inc_bps, dec_bps)
    hedge_pnl = cash + q * spot_end
    book_pnl = static * (spot_end - s["spot"]) - book.premium(s["spot"])
    for k_, e, _, v, cq, pq in book.groups:
        expiry_step = math.ceil(e / dt_sec - 1e-9)
        if expiry_step <= steps:
            at = expiry_spot.get(expiry_step, spot_end)
            book_pnl = book_pnl + cq * np.maximum(at - k_, 0.0) + pq * np.maximum(k_ - at, 0.0)
        else:
            call, put = black76(spot_end, k_, (e - steps * dt_sec) / YEAR_SEC, v)
            book_pnl = book_pnl + cq * call + pq * put
    borrow = borrow_per_year * dt * notional_sum
    inverse = np.argsort(order)
    return {
        "gross": (book_pnl + hedge_pnl)[inverse],
        "fees": fees[inverse],
        "borrow": borrow[inverse],
        "trades": trades[inverse],
    }, steps


def summarize(parts, policies, paths):
    out = []
    merged = {key: np.concatenate([p[key] for p in parts], axis=1) for key in parts[0]}
    for j, p in enumerate(policies):
        gross, fees, borrow, trades = (merged[k][j] for k in ("gross", "fees", "borrow", "trades"))
        net = gross - fees - borrow
        std = float(net.std(ddof=1)) if paths > 1 else 0.0
        out.append({
            "name": policy_label(p),
            "netMean": float(net.mean()),
            "netStd": std,
            "netSe": std / math.sqrt(paths),
            "grossMean": float(gross.mean()),
            "feesUsd": float(fees.mean()),
            "borrowUsd": float(borrow.mean()),
            "costUsd": float((fees + borrow).mean()),
            "trades": float(trades.mean()),
        })
    return out


def format_table(rows):
    cols = [("net mean", "netMean", 3), ("net std", "netStd", 3), ("s.e.", "netSe", 3), ("gross", "grossMean", 3),
            ("cost", "costUsd", 3), ("fees", "feesUsd", 3), ("borrow", "borrowUsd", 3), ("trades", "trades", 0)]
    width = max(8, *(len(r["name"]) for r in rows))
    cells = [[f"{r[key]:.{digits}f}" for _, key, digits in cols] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, (h, _, _) in enumerate(cols)]
    line = lambda name, row: "  ".join([name.ljust(width)] + [v.rjust(w) for v, w in zip(row, widths)])
    return "\n".join([line("policy", [h for h, _, _ in cols])] + [line(r["name"], c) for r, c in zip(rows, cells)])


def main():
    ap = argparse.ArgumentParser(description="Vectorised numpy reference of the B3 backtest (see the header).")
    ap.add_argument("scenario", nargs="?", help="scenario YAML (needs PyYAML) or JSON; default: the repository's B3")
    ap.add_argument("--scenario-json", metavar="FILE", help="the scenario as JSON, - for stdin (what the TS bench passes)")
    ap.add_argument("--paths", type=int, help="override the scenario's path count")
    ap.add_argument("--initial-hedge", choices=("target", "policy"), help="override the scenario's initialHedge")
    ap.add_argument("--chunk", type=int, default=5000, help="paths simulated at once (default 5000: on a 2-core EPYC 5,000-10,000 ran fastest, 2,500 took 1.3x and 20,000 1.1x as long)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = ap.parse_args()
    try:
        s = load_scenario(args)
        if not isinstance(s, dict):
            raise ScenarioError(f"expected a mapping of scenario fields, got {json.dumps(s)}")
        s = with_defaults(s)
        if args.initial_hedge:
            s["initialHedge"] = args.initial_hedge
        check_supported(s)
    except (ScenarioError, OSError, ValueError) as e:
        print(f"b3_reference.py: {e}", file=sys.stderr)
        sys.exit(2)
    keep_freed_memory()
    paths = args.paths or s["paths"]
    policies = s["policies"]
    seed = s["seed"]
    started = time.perf_counter()
    parts = []
    steps = 0
    for c, first in enumerate(range(0, paths, args.chunk)):
        count = min(args.chunk, paths - first)
        note = lambda done, total, first=first, count=count: print(f"numpy B3: paths {first}-{first + count - 1} of {paths}: step {done}/{total}", file=sys.stderr, flush=True)
        part, steps = run_chunk(s, policies, [seed, c], count, note)
        parts.append(part)
    wall = time.perf_counter() - started
    rows = summarize(parts, policies, paths)
    if args.json:
        print(json.dumps({"paths": paths, "steps": steps, "initialHedge": s["initialHedge"], "wallSec": wall,
                          "numpy": np.__version__, "chunk": min(args.chunk, paths), "policies": rows}))
        return
    print(format_table(rows))
    print(f"\n{paths} paths x {steps} steps x {len(policies)} policies, initialHedge {s['initialHedge']}, "
          f"numpy {np.__version__}, chunks of {min(args.chunk, paths)}: {wall:.1f} s wall")


if __name__ == "__main__":
    main()
