/* Jupiter Perps' costs as public code computes them: position fee with price impact, borrow accrual and
 * settlement, and the liquidation test. The program itself is closed source; each formula names the public code it
 * follows (../shared/reference/jupiter-perps-fees.md collects them):
 *   JF = julianfssen/jupiter-perps-anchor-idl-parsing @5cd0daa1 src/examples/ (linked from Jupiter's docs)
 *   SW = sonarwatch/portfolio @1a2b9ac4 packages/plugins/src/plugins/jupiter/exchange/helpersPerps.ts
 *   SS = jup-ag/space-station @428c8504 guides/8-perpetual-exchange/
 * All amounts are USD x 1e6 unless named otherwise; rates are 1e9 = 100 %. */
#pragma once
#include "layout.h"

#define BPS_POWER 10000ULL
#define RATE_POWER 1000000000ULL
#define IMPACT_WINDOW_SEC 60

typedef struct {
  uint64_t position_fee; /* base + price impact, what the position pays */
  uint64_t impact_fee;   /* the price-impact part of it */
} TradeFee;

/* The linear impact in whole bps, rounded up: divCeil(amount * 1e4, tradeImpactFeeScalar). JF price-impact-fee.ts
 * getLinearPriceImpactFeeBps, SW getImpactFeeBps; a real DecreasePositionEvent charges exactly this (1 bps on
 * $3,285.36, tx 3MnCnWjL in rpcpool/yellowstone-vixen tests/proc-macro/fixtures). */
static bool linear_impact_bps(const uint8_t *custody, uint64_t amount, uint64_t *bps) {
  uint64_t scalar = rd64(custody + CUSTODY_TRADE_IMPACT_FEE_SCALAR);
  *bps = 0;
  return scalar == 0 || mul_div_ceil(amount, BPS_POWER, scalar, bps);
}

/* priceImpactBuffer: a signed open-interest flow per second over the last 60 s. Records +amount (increase) or
 * -amount (decrease) in this second's bucket, clears the buckets of the seconds skipped since the last update (all
 * of them after a minute or more), and returns |sum|. The same steps as JF price-impact-fee.ts
 * calculateDeltaImbalance, which previews them; here they are also stored, as the program must to have the window. */
static uint64_t record_open_interest(uint8_t *custody, int64_t now, uint64_t amount, bool increase) {
  uint8_t *buckets = custody + CUSTODY_IMPACT_OPEN_INTEREST;
  int64_t last = (int64_t)rd64(custody + CUSTODY_IMPACT_LAST_UPDATED);
  int64_t signed_amount = increase ? (int64_t)amount : -(int64_t)amount;
  uint64_t idx = (uint64_t)now % IMPACT_WINDOW_SEC, last_idx = (uint64_t)last % IMPACT_WINDOW_SEC;
  if (last <= 0 || now - last >= IMPACT_WINDOW_SEC) {
    sol_memset_(buckets, 0, IMPACT_WINDOW_SEC * 8);
    wr64(buckets + idx * 8, (uint64_t)signed_amount);
  } else {
    int64_t current = idx == last_idx ? (int64_t)rd64(buckets + idx * 8) : 0;
    wr64(buckets + idx * 8, (uint64_t)(current + signed_amount));
    for (uint64_t i = (last_idx + 1) % IMPACT_WINDOW_SEC; idx != last_idx && i != idx; i = (i + 1) % IMPACT_WINDOW_SEC) wr64(buckets + i * 8, 0);
  }
  wr64(custody + CUSTODY_IMPACT_LAST_UPDATED, (uint64_t)now);
  int64_t sum = 0;
  for (uint64_t i = 0; i < IMPACT_WINDOW_SEC; i++) sum += (int64_t)rd64(buckets + i * 8);
  return sum < 0 ? (uint64_t)-sum : (uint64_t)sum;
}

#define F32_ONE 0x3f800000U

/* Position fee for a trade of `amount` (sizeUsdDelta; the full size on a close), JF price-impact-fee.ts
 * getAdditivePriceImpactFeeBps:
 *   linear = divCeil(amount*1e4, scalar); total = base + linear
 *   positionFee = divCeil(amount * total, 1e4); impact = divCeil(amount * linear, 1e4)
 * and when priceImpactBuffer.feeFactor != 0 and the 60-s imbalance exceeds deltaImbalanceThresholdDecimal:
 *   add = divCeil(ceil((imbalance/threshold)^exponent), feeFactor); capped = min(total + add, maxFeeBps)
 *   positionFee = divCeil(amount * capped, 1e4); impact = positionFee - floor(amount * base / 1e4)
 * The buffer is updated on every trade. Only exponent 1.0 (mainnet's, and the fixtures') is supported: the SBF
 * target has no floating point, so any other value fails with InvalidCustodyConfig. A zero threshold disables the
 * imbalance part (the stable custodies have one, and no positions trade against them). */
static uint64_t trade_fee(uint8_t *custody, uint64_t base_bps, uint64_t amount, bool increase, int64_t now, TradeFee *out) {
  out->position_fee = 0;
  out->impact_fee = 0;
  if (amount == 0) return 0;
  uint64_t linear, base_fee;
  if (!linear_impact_bps(custody, amount, &linear) || !mul_div_ceil(amount, base_bps + linear, BPS_POWER, &out->position_fee) ||
      !mul_div_ceil(amount, linear, BPS_POWER, &out->impact_fee)) {
    FAIL(E_MATH_OVERFLOW, "MathOverflow");
  }
  uint64_t imbalance = record_open_interest(custody, now, amount, increase);
  uint64_t factor = rd64(custody + CUSTODY_IMPACT_FEE_FACTOR), threshold = rd64(custody + CUSTODY_IMPACT_THRESHOLD);
  if (factor == 0 || threshold == 0 || imbalance <= threshold) return 0;
  if (rd32(custody + CUSTODY_IMPACT_EXPONENT) != F32_ONE) FAIL(E_INVALID_CUSTODY_CONFIG, "InvalidCustodyConfig");
  uint64_t ratio = imbalance / threshold + (imbalance % threshold != 0);
  uint64_t add = ratio / factor + (ratio % factor != 0);
  uint64_t total = base_bps + linear + add, cap = rd64(custody + CUSTODY_IMPACT_MAX_FEE_BPS);
  if (total > cap) total = cap;
  if (!mul_div_ceil(amount, total, BPS_POWER, &out->position_fee) || !mul_div(amount, base_bps, BPS_POWER, &base_fee)) FAIL(E_MATH_OVERFLOW, "MathOverflow");
  out->impact_fee = out->position_fee > base_fee ? out->position_fee - base_fee : 0;
  return 0;
}

/* ---- borrow ---- */

/* A u128 field that the stand-in keeps below 2^64 (rates start at 1e9 and grow by a few 1e9 a year). */
static bool rd128_small(const uint8_t *p, uint64_t *v) {
  *v = rd64(p);
  return rd64(p + 8) == 0;
}
static void wr128_small(uint8_t *p, uint64_t v) {
  wr64(p, v);
  wr64(p + 8, 0);
}

/* Hourly borrow rate (1e9 = 100 %/hour) on the custody's utilisation, JF get-borrow-fee-and-funding-rate.ts
 * getHourlyBorrowRate (SW the same without debt):
 *   debt = divCeil(max(debt - borrowLendInterestsAccured, 0), 1e9); owned = assets.owned + debt; locked = assets.locked + debt
 *   hourlyFundingDbps != 0 (legacy linear): hourly = divCeil(locked * hourlyFundingDbps * 1e9 / 1e5, owned)
 *   jump rate: util = floor(locked * 1e9 / owned)
 *     util <= target: yearlyBps = divCeil((targetRate - minRate) * util, target) + minRate
 *     else:           yearlyBps = divCeil((maxRate - targetRate) * (util - target), 1e9 - target) + targetRate
 *     hourly = floor(floor(yearlyBps * 1e9 / 1e4) / 8760)
 * With nothing owned or locked the utilisation is 0: the jump curve then charges minRateBps, the linear mode 0 (JF). */
static uint64_t hourly_borrow_rate(const uint8_t *cd, uint64_t *hourly) {
  uint64_t debt_raw, accrued, debt = 0;
  if (!rd128_small(cd + CUSTODY_DEBT, &debt_raw) || !rd128_small(cd + CUSTODY_BORROW_LEND_INTERESTS_ACCURED, &accrued)) FAIL(E_MATH_OVERFLOW, "MathOverflow");
  if (debt_raw > accrued) debt = (debt_raw - accrued) / RATE_POWER + ((debt_raw - accrued) % RATE_POWER != 0);
  uint64_t owned = rd64(cd + CUSTODY_ASSETS_OWNED) + debt, locked = rd64(cd + CUSTODY_ASSETS_LOCKED) + debt;
  bool in_use = owned > 0 && locked > 0;
  *hourly = 0;
  uint64_t dbps = rd64(cd + CUSTODY_HOURLY_FUNDING_DBPS);
  if (dbps != 0) {
    if (in_use && !mul_div_ceil(locked, dbps * RATE_POWER / 100000, owned, hourly)) FAIL(E_MATH_OVERFLOW, "MathOverflow");
    return 0;
  }
  uint64_t util = 0, yearly_bps;
  uint64_t min_rate = rd64(cd + CUSTODY_JUMP_MIN_RATE_BPS), max_rate = rd64(cd + CUSTODY_JUMP_MAX_RATE_BPS);
  uint64_t target_rate = rd64(cd + CUSTODY_JUMP_TARGET_RATE_BPS), target_util = rd64(cd + CUSTODY_JUMP_TARGET_UTILIZATION);
  if (in_use && !mul_div(locked, RATE_POWER, owned, &util)) FAIL(E_MATH_OVERFLOW, "MathOverflow");
  if (util <= target_util) {
    uint64_t slope = target_rate > min_rate ? target_rate - min_rate : 0;
    yearly_bps = 0;
    if (util > 0 && !mul_div_ceil(slope, util, target_util, &yearly_bps)) FAIL(E_INVALID_CUSTODY_CONFIG, "InvalidCustodyConfig");
    yearly_bps += min_rate;
  } else {
    uint64_t slope = max_rate > target_rate ? max_rate - target_rate : 0;
    if (target_util >= RATE_POWER || !mul_div_ceil(slope, util - target_util, RATE_POWER - target_util, &yearly_bps)) FAIL(E_INVALID_CUSTODY_CONFIG, "InvalidCustodyConfig");
    yearly_bps += target_rate;
  }
  *hourly = yearly_bps * RATE_POWER / BPS_POWER / 8760;
  return 0;
}

/* Advance the custody's fundingRateState to now, on the utilisation before this instruction's changes, JF
 * getCumulativeInterest: cumulativeInterestRate += divCeil(hourly * (now - lastUpdate), 3600) when time passed
 * and the custody owns tokens (simple, not compounded). SS: the stored counter moves whenever the custody is
 * touched; here every fill and liquidation touches its custodies. */
static uint64_t accrue_borrow(uint8_t *cd, int64_t now) {
  int64_t last = (int64_t)rd64(cd + CUSTODY_FUNDING_LAST_UPDATE);
  if (now <= last) return 0;
  uint64_t cumulative, hourly, add = 0;
  if (!rd128_small(cd + CUSTODY_CUMULATIVE_INTEREST_RATE, &cumulative)) FAIL(E_MATH_OVERFLOW, "MathOverflow");
  TRY(hourly_borrow_rate(cd, &hourly));
  if (rd64(cd + CUSTODY_ASSETS_OWNED) > 0 && !mul_div_ceil(hourly, (uint64_t)(now - last), 3600, &add)) FAIL(E_MATH_OVERFLOW, "MathOverflow");
  wr128_small(cd + CUSTODY_CUMULATIVE_INTEREST_RATE, cumulative + add);
  wr64(cd + CUSTODY_FUNDING_LAST_UPDATE, (uint64_t)now);
  return 0;
}

/* The position's accrued borrow on its collateral custody (SS 3-onchain-accounts.md; JF getBorrowFee, which
 * rounds up): divCeil((cumulativeInterestRate - cumulativeInterestSnapshot) * sizeUsd, 1e9), on the full size. */
static uint64_t position_borrow(const uint8_t *pd, const uint8_t *collateral_cd, uint64_t *borrow) {
  uint64_t cumulative, snapshot, size = rd64(pd + POSITION_SIZE_USD);
  *borrow = 0;
  if (!rd128_small(collateral_cd + CUSTODY_CUMULATIVE_INTEREST_RATE, &cumulative) ||
      !rd128_small(pd + POSITION_CUMULATIVE_INTEREST_SNAPSHOT, &snapshot)) {
    FAIL(E_MATH_OVERFLOW, "MathOverflow");
  }
  if (size == 0 || cumulative <= snapshot) return 0;
  if (!mul_div_ceil(cumulative - snapshot, size, RATE_POWER, borrow)) FAIL(E_MATH_OVERFLOW, "MathOverflow");
  return 0;
}

/* ---- liquidation ---- */

typedef struct {
  uint64_t usd;
  bool profit;
} Pnl;

/* PnL of `size` opened at `entry` and valued at `price`: size * |price - entry| / entry, floored, a profit when the
 * price moved the position's way (JF get-position-pnl.ts; a real DecreasePositionEvent's pnlDelta matches). */
static uint64_t position_pnl(uint64_t size, uint64_t entry, uint64_t price, uint8_t side, Pnl *out) {
  uint64_t move = price > entry ? price - entry : entry - price;
  out->profit = side == SIDE_LONG ? price > entry : price < entry;
  out->usd = 0;
  if (size == 0 || move == 0) return 0;
  if (!mul_div(size, move, entry, &out->usd)) FAIL(E_MATH_OVERFLOW, "MathOverflow");
  return 0;
}

/* The closing fee the liquidation test counts, JF get-liquidation-price.ts (SW the same):
 * floor(size * (decreasePositionBps + divCeil(size * 1e4, scalar)) / 1e4); no imbalance part. */
static uint64_t liquidation_close_fee(const uint8_t *custody, uint64_t size, TradeFee *fee) {
  uint64_t linear;
  if (!linear_impact_bps(custody, size, &linear) || !mul_div(size, rd64(custody + CUSTODY_DECREASE_POSITION_BPS) + linear, BPS_POWER, &fee->position_fee) ||
      !mul_div(size, linear, BPS_POWER, &fee->impact_fee)) {
    FAIL(E_MATH_OVERFLOW, "MathOverflow");
  }
  return 0;
}

/* What the liquidation test weighs. */
typedef struct {
  uint64_t size, collateral, close_fee, borrow;
  Pnl pnl;
} Margin;

/* A position is liquidatable when collateral +/- PnL - close fee - borrow < size * 1e4 / maxLeverage, at the
 * oracle price (JF get-liquidation-price.ts and SW getLiquidationPrice solve this for the price; SS "less than 0.2%
 * of the position size" at maxLeverage 500x). Strict `<`: at equality the margin is exactly covered [?]. */
static uint64_t below_maintenance(const uint8_t *custody, const Margin *m, bool *below) {
  uint64_t margin;
  if (!mul_div(m->size, BPS_POWER, rd64(custody + CUSTODY_MAX_LEVERAGE), &margin)) FAIL(E_INVALID_CUSTODY_CONFIG, "InvalidCustodyConfig");
  int64_t equity = (int64_t)m->collateral + (m->pnl.profit ? (int64_t)m->pnl.usd : -(int64_t)m->pnl.usd) - (int64_t)m->close_fee - (int64_t)m->borrow;
  *below = equity < (int64_t)margin;
  return 0;
}
