/* Stand-in for the Jupiter Perpetuals program on localnet: the instructions a hedging keeper uses, with the real
 * program's discriminators, account lists, PDAs, account layouts and error codes. Fills are executed by the
 * localnet fill keeper (localnet/fill-keeper) at the custody's oracle price, as Jupiter's keepers do on mainnet.
 *
 * Where it used to differ from public code (../shared/reference/jupiter-perps-fees.md, "Differences"), settled:
 *  1, 2. Linear impact in whole bps rounded up, one divCeil over base + impact (fees.h trade_fee; JF, and a real
 *        DecreasePositionEvent charges exactly that).
 *  3.    The imbalance part over priceImpactBuffer's 60-s window with the maxFeeBps cap (fees.h; JF).
 *  5, 7. Borrow accrues at every touch and each fill settles it out of collateral and resets the snapshot (SS); the
 *        amount is the event's fundingFeeUsd.
 *  6.    Utilisation (locked + debt) / (owned + debt), and fills keep assets.locked (fees.h, lock_size below).
 *  8.    The open-time leverage rule is the liquidation test (check_margin_after_fill): public code publishes only
 *        that one; liquidateFullPosition4 applies it at the oracle price.
 *  10.   Without the keeper a request closes only once expired, and never under disableClosePositionRequest
 *        (close_request). */
#include "cpi.h"
#include "layout.h"

#define FAIL(code, name)                    \
  do {                                      \
    sol_log("AnchorError: Error Code: " name); \
    return (code);                          \
  } while (0)
#define TRY(expr)             \
  do {                        \
    uint64_t _e = (expr);     \
    if (_e != 0) return _e;   \
  } while (0)

#include "events.h"
#include "fees.h"

typedef struct {
  SolAccountInfo *ka;
  uint64_t n;
  const uint8_t *data;
  uint64_t data_len;
  const SolPubkey *program_id;
  int64_t now;
} Ctx;

/* ---- account checks ---- */

static bool owned_by(const SolAccountInfo *a, const uint8_t program[32]) { return key_eq(a->owner, program); }
static bool owned_by_self(const Ctx *c, const SolAccountInfo *a) { return key_eq(a->owner, c->program_id->x); }
static bool same_key(const SolAccountInfo *a, const SolAccountInfo *b) { return key_eq(a->key, b->key->x); }
static bool is_program_placeholder(const Ctx *c, const SolAccountInfo *a) { return key_eq(a->key, c->program_id->x); }

/* A program-owned account of at least `min_len` bytes whose data starts with the discriminator. */
static bool is_account(const Ctx *c, const SolAccountInfo *a, const uint8_t disc[8], uint64_t min_len) {
  if (!owned_by_self(c, a) || a->data_len < min_len) return false;
  for (int i = 0; i < 8; i++)
    if (a->data[i] != disc[i]) return false;
  return true;
}

static uint64_t find_pda(const SolSignerSeed *seeds, int n, const Ctx *c, const SolAccountInfo *expected, uint8_t *bump) {
  SolPubkey derived;
  if (sol_try_find_program_address(seeds, n, c->program_id, &derived, bump) != 0) FAIL(E_MATH_OVERFLOW, "InvalidSeeds");
  if (!key_eq(expected->key, derived.x)) FAIL(E_CONSTRAINT_SEEDS, "ConstraintSeeds");
  return 0;
}

/* ---- pool and custody ---- */

/* Pool fields after the variable-length name and custody list. */
static uint64_t pool_fees_offset(const SolAccountInfo *pool) {
  uint64_t at = POOL_NAME;
  at += 4 + rd32(pool->data + at);
  at += 4 + 32 * (uint64_t)rd32(pool->data + at);
  return at + POOL_FEES_FROM_LIST_END;
}

static int64_t pool_max_request_execution_sec(const SolAccountInfo *pool) {
  uint64_t at = pool_fees_offset(pool) + POOL_MAX_REQUEST_EXECUTION_SEC_FROM_FEES;
  if (at + 8 > pool->data_len) return 0;
  return (int64_t)rd64(pool->data + at);
}

static bool pool_disable_close_position_request(const SolAccountInfo *pool) {
  uint64_t at = pool_fees_offset(pool) + POOL_MAX_REQUEST_EXECUTION_SEC_FROM_FEES + POOL_DISABLE_CLOSE_FROM_MAX_REQUEST_SEC;
  return at < pool->data_len && pool->data[at] != 0;
}

/* fees{swapMultiplier, stableSwapMultiplier, addRemoveLiquidityBps, swapBps, ...}: the pool's base swap fee. */
static uint64_t pool_swap_bps(const SolAccountInfo *pool) {
  uint64_t at = pool_fees_offset(pool) + 24;
  return at + 8 > pool->data_len ? 0 : rd64(pool->data + at);
}

/* Admin pauses: an action needs its permission in both Perpetuals and the market's custody (6027 otherwise). */
static uint64_t check_permission(const Ctx *c, const SolAccountInfo *perpetuals, const uint8_t *custody, uint64_t permission) {
  if (!is_account(c, perpetuals, PERPETUALS_DISCRIMINATOR, PERPETUALS_PERMISSIONS + 7)) FAIL(E_ACCOUNT_OWNED_BY_WRONG_PROGRAM, "AccountOwnedByWrongProgram");
  if (!perpetuals->data[PERPETUALS_PERMISSIONS + permission] || !custody[CUSTODY_PERMISSIONS + permission]) FAIL(E_INSTRUCTION_NOT_ALLOWED, "InstructionNotAllowed");
  return 0;
}

static uint64_t check_custody(const Ctx *c, const SolAccountInfo *custody, const SolAccountInfo *pool) {
  if (!is_account(c, custody, CUSTODY_DISCRIMINATOR, CUSTODY_MIN_SIZE)) FAIL(E_ACCOUNT_OWNED_BY_WRONG_PROGRAM, "AccountOwnedByWrongProgram");
  if (!key_eq(pool->key, custody->data + CUSTODY_POOL)) FAIL(E_ADDRESS_MISMATCH, "AddressMismatch");
  return 0;
}

/* The custody's price in USD x 1e6: the Doves aggregate if fresh, else Pyth if fresh (Jupiter's order). */
static uint64_t oracle_price(const Ctx *c, const SolAccountInfo *custody, const SolAccountInfo *doves,
                             const SolAccountInfo *pyth, uint64_t *price_usd6) {
  const uint8_t *cd = custody->data;
  if (!key_eq(doves->key, cd + CUSTODY_DOVES_AG_ORACLE) || !key_eq(pyth->key, cd + CUSTODY_PYTH_ORACLE)) {
    FAIL(E_INVALID_ORACLE_ACCOUNT, "InvalidOracleAccount");
  }
  int64_t max_age = (int64_t)rd32(cd + CUSTODY_MAX_PRICE_AGE_SEC);
  if (owned_by(doves, DOVES_PROGRAM_ID) && doves->data_len >= DOVES_AG_SIZE) {
    int64_t ts = (int64_t)rd64(doves->data + DOVES_AG_TIMESTAMP);
    uint64_t raw = rd64(doves->data + DOVES_AG_PRICE);
    if (c->now - ts <= max_age && raw > 0) {
      if (!scale_usd6(raw, (int8_t)doves->data[DOVES_AG_EXPO], price_usd6) || *price_usd6 == 0) FAIL(E_INVALID_ORACLE_PRICE, "InvalidOraclePrice");
      return 0;
    }
  }
  if (owned_by(pyth, PYTH_RECEIVER_PROGRAM_ID) && pyth->data_len > 100) {
    /* verification_level: Partial { num_signatures } takes 2 bytes, Full 1. */
    uint64_t at = PYTH_VERIFICATION_LEVEL + (pyth->data[PYTH_VERIFICATION_LEVEL] == 0 ? 2 : 1) + 32;
    int64_t raw = (int64_t)rd64(pyth->data + at);
    int32_t expo = (int32_t)rd32(pyth->data + at + 16);
    int64_t published = (int64_t)rd64(pyth->data + at + 20);
    if (c->now - published <= max_age) {
      if (raw <= 0 || !scale_usd6((uint64_t)raw, expo, price_usd6) || *price_usd6 == 0) FAIL(E_INVALID_ORACLE_PRICE, "InvalidOraclePrice");
      return 0;
    }
  }
  FAIL(E_STALE_ORACLE_PRICE, "StaleOraclePrice");
}

/* Token amount worth `usd6` at `price_usd6` for a mint with `decimals`, and back. */
static uint64_t usd_to_tokens(uint64_t usd6, uint64_t price_usd6, uint8_t decimals, uint64_t *tokens) {
  uint64_t scale;
  if (!pow10(decimals, &scale) || !mul_div(usd6, scale, price_usd6, tokens)) FAIL(E_MATH_OVERFLOW, "MathOverflow");
  return 0;
}
static uint64_t tokens_to_usd(uint64_t tokens, uint64_t price_usd6, uint8_t decimals, uint64_t *usd6) {
  uint64_t scale;
  if (!pow10(decimals, &scale) || !mul_div(tokens, price_usd6, scale, usd6)) FAIL(E_MATH_OVERFLOW, "MathOverflow");
  return 0;
}

/* ---- position request encoding ---- */

typedef struct {
  uint64_t price_slippage;
  bool has_slippage;
  uint64_t minimum_out;
  bool has_minimum_out;
  bool entire_position;
  uint64_t entire_at, executed_at, referral_at;
  uint64_t counter;
  uint8_t bump;
} RequestTail;

static uint64_t skip_option(const uint8_t *d, uint64_t at, uint64_t size) { return d[at] ? at + 1 + size : at + 1; }

static bool read_request_tail(const SolAccountInfo *req, RequestTail *t) {
  const uint8_t *d = req->data;
  uint64_t at = REQUEST_OPTIONS;
  t->has_slippage = d[at] == 1;
  if (t->has_slippage) t->price_slippage = rd64(d + at + 1);
  at = skip_option(d, at, 8);     /* priceSlippage */
  t->has_minimum_out = d[at] == 1;
  if (t->has_minimum_out) t->minimum_out = rd64(d + at + 1);
  at = skip_option(d, at, 8);     /* jupiterMinimumOut */
  at = skip_option(d, at, 8);     /* preSwapAmount */
  at = skip_option(d, at, 8);     /* triggerPrice */
  at = skip_option(d, at, 1);     /* triggerAboveThreshold */
  t->entire_position = d[at] == 1 && d[at + 1] == 1;
  t->entire_at = at;
  at = skip_option(d, at, 1);     /* entirePosition */
  t->executed_at = at;
  at += 1;
  t->counter = rd64(d + at);
  t->bump = d[at + 8];
  t->referral_at = at + 9;
  return at + 9 + 33 <= req->data_len;
}

/* Seeds ["position_request", position, counter, [change], [bump]] in caller-provided storage. */
static void request_seeds(const uint8_t *position, const uint8_t counter_le[8], const uint8_t *change, const uint8_t *bump,
                          SolSignerSeed seeds[5]) {
  seeds[0].addr = (const uint8_t *)"position_request";
  seeds[0].len = 16;
  seeds[1].addr = position;
  seeds[1].len = 32;
  seeds[2].addr = counter_le;
  seeds[2].len = 8;
  seeds[3].addr = change;
  seeds[3].len = 1;
  seeds[4].addr = bump;
  seeds[4].len = 1;
}

typedef struct {
  uint64_t size_usd_delta;
  uint64_t collateral_delta;
  uint8_t side;
  uint64_t price_slippage;
  bool has_minimum_out;
  uint64_t minimum_out;
  uint8_t entire_position; /* 0 None, 1 Some(false), 2 Some(true) */
  uint64_t counter;
  uint8_t change;
} NewRequest;

/* Create the PositionRequest PDA and its token account, and write the request. Both create instructions list
 * owner, pool, position, positionRequest, positionRequestAta, custody, mint, referral, tokenProgram and
 * systemProgram at the same indexes. */
static uint64_t open_request(Ctx *c, const NewRequest *r) {
  SolAccountInfo *k = c->ka;
  SolAccountInfo *owner = &k[0], *pool = &k[3], *position = &k[4], *request = &k[5], *request_ata = &k[6], *custody = &k[7];
  SolAccountInfo *mint = &k[9], *referral = &k[10], *token_program = &k[11], *system_program = &k[13];
  uint8_t counter_le[8], change = r->change, bump;
  wr64(counter_le, r->counter);
  SolSignerSeed seeds[5];
  request_seeds(position->key->x, counter_le, &change, &bump, seeds);
  TRY(find_pda(seeds, 4, c, request, &bump));
  SolSignerSeeds signer = {seeds, 5};
  TRY(create_pda_account(owner, request, REQUEST_SIZE, c->program_id, &signer));
  TRY(create_ata(owner, request_ata, request, mint, system_program, token_program));

  uint8_t *d = request->data;
  for (int i = 0; i < 8; i++) d[i] = POSITION_REQUEST_DISCRIMINATOR[i];
  sol_memcpy_(d + REQUEST_OWNER, owner->key, 32);
  sol_memcpy_(d + REQUEST_POOL, pool->key, 32);
  sol_memcpy_(d + REQUEST_CUSTODY, custody->key, 32);
  sol_memcpy_(d + REQUEST_POSITION, position->key, 32);
  sol_memcpy_(d + REQUEST_MINT, mint->key, 32);
  wr64(d + REQUEST_OPEN_TIME, (uint64_t)c->now);
  wr64(d + REQUEST_UPDATE_TIME, (uint64_t)c->now);
  wr64(d + REQUEST_SIZE_USD_DELTA, r->size_usd_delta);
  wr64(d + REQUEST_COLLATERAL_DELTA, r->collateral_delta);
  d[REQUEST_CHANGE] = r->change;
  d[REQUEST_TYPE] = 0; /* Market */
  d[REQUEST_SIDE] = r->side;
  uint64_t at = REQUEST_OPTIONS;
  d[at++] = 1;
  wr64(d + at, r->price_slippage);
  at += 8;
  d[at++] = r->has_minimum_out;
  if (r->has_minimum_out) {
    wr64(d + at, r->minimum_out);
    at += 8;
  }
  d[at++] = 0; /* preSwapAmount */
  d[at++] = 0; /* triggerPrice */
  d[at++] = 0; /* triggerAboveThreshold */
  d[at++] = r->entire_position != 0;
  if (r->entire_position) d[at++] = r->entire_position == 2;
  d[at++] = 0; /* executed */
  wr64(d + at, r->counter);
  at += 8;
  d[at++] = bump;
  bool has_referral = !is_program_placeholder(c, referral);
  d[at++] = has_referral;
  if (has_referral) sol_memcpy_(d + at, referral->key, 32);
  return 0;
}

/* ---- instructions ---- */

/* createIncreasePositionMarketRequest: owner, fundingAccount, perpetuals, pool, position, positionRequest,
 * positionRequestAta, custody, collateralCustody, inputMint, referral, tokenProgram, associatedTokenProgram,
 * systemProgram, eventAuthority, program. */
static uint64_t create_increase_request(Ctx *c) {
  if (c->n < 16) FAIL(E_ACCOUNT_NOT_ENOUGH_KEYS, "AccountNotEnoughKeys");
  SolAccountInfo *k = c->ka;
  SolAccountInfo *owner = &k[0], *funding = &k[1], *pool = &k[3], *position = &k[4], *request_ata = &k[6];
  SolAccountInfo *custody = &k[7], *collateral = &k[8], *mint = &k[9];
  if (!owner->is_signer) FAIL(E_ACCOUNT_NOT_SIGNER, "AccountNotSigner");
  if (c->data_len < 8 + 8 + 8 + 1 + 8 + 1 + 8) FAIL(E_INVALID_ARGUMENT, "InvalidArgument");
  const uint8_t *p = c->data + 8;
  NewRequest r;
  r.size_usd_delta = rd64(p);
  r.collateral_delta = rd64(p + 8);
  r.side = p[16];
  r.price_slippage = rd64(p + 17);
  r.has_minimum_out = p[25] == 1;
  uint64_t at = 26;
  if (r.has_minimum_out) {
    r.minimum_out = rd64(p + at);
    at += 8;
  }
  if (8 + at + 8 > c->data_len) FAIL(E_INVALID_ARGUMENT, "InvalidArgument");
  r.counter = rd64(p + at);
  r.entire_position = 0;
  r.change = CHANGE_INCREASE;
  if (r.side != SIDE_LONG && r.side != SIDE_SHORT) FAIL(E_INVALID_ARGUMENT, "InvalidArgument");
  if (!is_account(c, pool, POOL_DISCRIMINATOR, 8)) FAIL(E_ACCOUNT_OWNED_BY_WRONG_PROGRAM, "AccountOwnedByWrongProgram");
  TRY(check_custody(c, custody, pool));
  TRY(check_custody(c, collateral, pool));
  /* Longs are collateralised in the traded token, shorts in a stable. */
  if (r.side == SIDE_LONG && !same_key(custody, collateral)) FAIL(E_INVALID_COLLATERAL_ACCOUNT, "InvalidCollateralAccount");
  if (r.side == SIDE_SHORT && !collateral->data[CUSTODY_IS_STABLE]) FAIL(E_INVALID_COLLATERAL_ACCOUNT, "InvalidCollateralAccount");
  /* Collateral in another mint must be swapped at the fill, so the request has to bound the swap's output. */
  if (!key_eq(mint->key, collateral->data + CUSTODY_MINT) && !r.has_minimum_out) FAIL(E_JUPITER_PROGRAM_MISMATCH, "JupiterProgramMismatch");
  if (r.collateral_delta == 0 && r.size_usd_delta == 0) FAIL(E_INVALID_COLLATERAL_AMOUNT, "InvalidCollateralAmount");

  uint8_t side = r.side, bump;
  SolSignerSeed seeds[7] = {{(const uint8_t *)"position", 8}, {owner->key->x, 32}, {pool->key->x, 32},
                            {custody->key->x, 32},          {collateral->key->x, 32}, {&side, 1}, {&bump, 1}};
  TRY(find_pda(seeds, 6, c, position, &bump));
  if (*position->lamports == 0) {
    SolSignerSeeds signer = {seeds, 7};
    TRY(create_pda_account(owner, position, POSITION_SIZE, c->program_id, &signer));
    uint8_t *d = position->data;
    for (int i = 0; i < 8; i++) d[i] = POSITION_DISCRIMINATOR[i];
    sol_memcpy_(d + POSITION_OWNER, owner->key, 32);
    sol_memcpy_(d + POSITION_POOL, pool->key, 32);
    sol_memcpy_(d + POSITION_CUSTODY, custody->key, 32);
    sol_memcpy_(d + POSITION_COLLATERAL_CUSTODY, collateral->key, 32);
    wr64(d + POSITION_OPEN_TIME, (uint64_t)c->now);
    wr64(d + POSITION_UPDATE_TIME, (uint64_t)c->now);
    d[POSITION_SIDE] = side;
    d[POSITION_BUMP] = bump;
  } else if (!is_account(c, position, POSITION_DISCRIMINATOR, POSITION_FIELDS_SIZE)) {
    FAIL(E_ACCOUNT_OWNED_BY_WRONG_PROGRAM, "AccountOwnedByWrongProgram");
  }
  TRY(open_request(c, &r));
  return token_transfer(funding, request_ata, owner, r.collateral_delta, NULL);
}

/* createDecreasePositionMarketRequest: owner, receivingAccount, perpetuals, pool, position, positionRequest,
 * positionRequestAta, custody, collateralCustody, desiredMint, referral, tokenProgram, associatedTokenProgram,
 * systemProgram, eventAuthority, program. */
static uint64_t create_decrease_request(Ctx *c) {
  if (c->n < 16) FAIL(E_ACCOUNT_NOT_ENOUGH_KEYS, "AccountNotEnoughKeys");
  SolAccountInfo *k = c->ka;
  SolAccountInfo *owner = &k[0], *pool = &k[3], *position = &k[4], *custody = &k[7], *collateral = &k[8], *mint = &k[9];
  if (!owner->is_signer) FAIL(E_ACCOUNT_NOT_SIGNER, "AccountNotSigner");
  if (c->data_len < 8 + 8 + 8 + 8 + 1 + 1 + 8) FAIL(E_INVALID_ARGUMENT, "InvalidArgument");
  const uint8_t *p = c->data + 8;
  NewRequest r;
  r.collateral_delta = rd64(p);
  r.size_usd_delta = rd64(p + 8);
  r.price_slippage = rd64(p + 16);
  r.has_minimum_out = p[24] == 1;
  uint64_t at = 25;
  if (r.has_minimum_out) {
    r.minimum_out = rd64(p + at);
    at += 8;
  }
  r.entire_position = p[at] == 1 ? (uint8_t)(1 + (p[at + 1] == 1)) : 0;
  at += p[at] == 1 ? 2 : 1;
  if (8 + at + 8 > c->data_len) FAIL(E_INVALID_ARGUMENT, "InvalidArgument");
  r.counter = rd64(p + at);
  r.change = CHANGE_DECREASE;
  if (!is_account(c, pool, POOL_DISCRIMINATOR, 8)) FAIL(E_ACCOUNT_OWNED_BY_WRONG_PROGRAM, "AccountOwnedByWrongProgram");
  TRY(check_custody(c, custody, pool));
  TRY(check_custody(c, collateral, pool));
  if (!is_account(c, position, POSITION_DISCRIMINATOR, POSITION_FIELDS_SIZE)) FAIL(E_ACCOUNT_OWNED_BY_WRONG_PROGRAM, "AccountOwnedByWrongProgram");
  const uint8_t *pd = position->data;
  if (!key_eq(owner->key, pd + POSITION_OWNER) || !key_eq(custody->key, pd + POSITION_CUSTODY) ||
      !key_eq(collateral->key, pd + POSITION_COLLATERAL_CUSTODY)) {
    FAIL(E_ADDRESS_MISMATCH, "AddressMismatch");
  }
  if (rd64(pd + POSITION_SIZE_USD) == 0) FAIL(E_INVALID_POSITION_STATE, "InvalidPositionState");
  if (!key_eq(mint->key, collateral->data + CUSTODY_MINT)) FAIL(E_JUPITER_PROGRAM_MISMATCH, "JupiterProgramMismatch");
  r.side = pd[POSITION_SIDE];
  return open_request(c, &r);
}

/* Checks shared by both fills: keeper, request state, expiry, and the oracle price against the slippage limit.
 * `is_max` says whether priceSlippage is the highest acceptable price (long increase, short decrease). */
typedef struct {
  const SolAccountInfo *keeper, *pool, *request, *position;
} FillRefs;

static uint64_t check_fill(Ctx *c, const FillRefs *f, uint8_t change, RequestTail *tail) {
  const SolAccountInfo *keeper = f->keeper, *pool = f->pool, *request = f->request, *position = f->position;
  if (!keeper->is_signer || !key_eq(keeper->key, FILL_KEEPER_ID)) FAIL(E_INVALID_KEEPER, "InvalidKeeper");
  if (!is_account(c, pool, POOL_DISCRIMINATOR, 8)) FAIL(E_ACCOUNT_OWNED_BY_WRONG_PROGRAM, "AccountOwnedByWrongProgram");
  if (!is_account(c, request, POSITION_REQUEST_DISCRIMINATOR, REQUEST_OPTIONS) || !read_request_tail(request, tail)) {
    FAIL(E_INVALID_POSITION_REQUEST, "InvalidPositionRequest");
  }
  const uint8_t *rd = request->data;
  if (rd[REQUEST_CHANGE] != change || request->data[tail->executed_at] != 0 || !tail->has_slippage) {
    FAIL(E_INVALID_POSITION_REQUEST, "InvalidPositionRequest");
  }
  if (!key_eq(position->key, rd + REQUEST_POSITION) || !key_eq(pool->key, rd + REQUEST_POOL)) FAIL(E_ADDRESS_MISMATCH, "AddressMismatch");
  if (!is_account(c, position, POSITION_DISCRIMINATOR, POSITION_FIELDS_SIZE)) FAIL(E_ACCOUNT_OWNED_BY_WRONG_PROGRAM, "AccountOwnedByWrongProgram");
  if (c->now > (int64_t)rd64(rd + REQUEST_UPDATE_TIME) + pool_max_request_execution_sec(pool)) {
    FAIL(E_EXCEED_EXECUTION_PERIOD, "ExceedExecutionPeriod");
  }
  return 0;
}

static uint64_t check_slippage(uint64_t price, uint64_t limit, bool limit_is_max) {
  if (limit_is_max ? price > limit : price < limit) FAIL(E_MAX_PRICE_SLIPPAGE, "MaxPriceSlippage");
  return 0;
}

static void set_executed(SolAccountInfo *request, const RequestTail *tail, int64_t now) {
  request->data[tail->executed_at] = 1;
  wr64(request->data + REQUEST_UPDATE_TIME, (uint64_t)now);
}

/* Size-weighted harmonic mean of two entry prices, so that size/price (the position's tokens) adds up. */
static uint64_t average_entry(uint64_t size, uint64_t price, uint64_t add_size, uint64_t add_price, uint64_t *out) {
  const uint64_t unit = 1000000000000ULL; /* tokens x 1e12 per USD x 1e6 */
  uint64_t t1 = 0, t2, total;
  if (size > 0 && !mul_div(size, unit, price, &t1)) FAIL(E_MATH_OVERFLOW, "MathOverflow");
  if (!mul_div(add_size, unit, add_price, &t2)) FAIL(E_MATH_OVERFLOW, "MathOverflow");
  if (!mul_div(size + add_size, unit, t1 + t2, &total)) FAIL(E_MATH_OVERFLOW, "MathOverflow");
  *out = total;
  return 0;
}

/* increasePositionWithInternalSwap's swap: the request's tokens (receivingCustody's mint) are paid into the pool,
 * which hands the position their worth in the collateral token at both oracle prices, less the pool's swap fee.
 * The collateral tokens never leave the collateral custody's vault, so its assets.owned is unchanged. */
typedef struct {
  const SolAccountInfo *pool, *request_ata, *collateral;
  const RequestTail *tail;
  uint64_t collateral_price, amount_in;
} SwapIn;

static uint64_t internal_swap(Ctx *c, const SwapIn *in, uint64_t *collateral_tokens) {
  SolAccountInfo *k = c->ka;
  const SolAccountInfo *pool = in->pool, *request_ata = in->request_ata, *collateral = in->collateral;
  const RequestTail *tail = in->tail;
  uint64_t collateral_price = in->collateral_price, amount_in = in->amount_in;
  SolAccountInfo *receiving = &k[13], *receiving_vault = &k[16];
  TRY(check_custody(c, receiving, pool));
  if (!key_eq(receiving_vault->key, receiving->data + CUSTODY_TOKEN_ACCOUNT)) FAIL(E_ADDRESS_MISMATCH, "AddressMismatch");
  if (!key_eq((const SolPubkey *)(request_ata->data + TOKEN_ACCOUNT_MINT), receiving->data + CUSTODY_MINT) || same_key(receiving, collateral)) {
    FAIL(E_INVALID_MINT, "InvalidMint");
  }
  if (!tail->has_minimum_out) FAIL(E_JUPITER_PROGRAM_MISMATCH, "JupiterProgramMismatch");
  uint64_t in_price, in_usd, fee;
  TRY(oracle_price(c, receiving, &k[14], &k[15], &in_price));
  TRY(tokens_to_usd(amount_in, in_price, receiving->data[CUSTODY_DECIMALS], &in_usd));
  if (!mul_div(in_usd, pool_swap_bps(pool), 10000, &fee)) FAIL(E_MATH_OVERFLOW, "MathOverflow");
  TRY(usd_to_tokens(in_usd - fee, collateral_price, collateral->data[CUSTODY_DECIMALS], collateral_tokens));
  if (*collateral_tokens < tail->minimum_out) FAIL(E_INSUFFICIENT_AMOUNT_RETURNED, "InsufficientAmountReturned");
  sol_log("Instruction: InternalSwap");
  sol_log_64_(amount_in, in_price, fee, *collateral_tokens, tail->minimum_out);
  return 0;
}

/* ---- what fills and liquidations share ---- */

/* What a fill or liquidation did, for its event. In the heap: the BPF stack has 512 bytes a frame. */
typedef struct {
  uint64_t price, collateral_price, size_delta, collateral_usd_delta, collateral_token_delta;
  TradeFee fee;
  uint64_t borrow, fee_token;
  Pnl pnl;
  uint64_t transfer_usd, transfer_token;
  uint64_t original_collateral, original_price;
} Fill;

static Fill *fill_record(void) {
  Fill *f = (Fill *)(HEAP_START + 12288);
  sol_memset_(f, 0, sizeof(Fill));
  return f;
}

/* Both custodies' borrow counters to now, once when they are the same account. */
static uint64_t touch_custodies(const Ctx *c, SolAccountInfo *custody, SolAccountInfo *collateral) {
  TRY(accrue_borrow(custody->data, c->now));
  if (!same_key(custody, collateral)) TRY(accrue_borrow(collateral->data, c->now));
  return 0;
}

/* assets.locked are the pool's tokens set aside to pay what positions may win, the utilisation's numerator. The
 * stand-in locks a position's size in collateral tokens at the fill's collateral price (SOL for a SOL long, USDC
 * for a short), keeps it in Position.lockedAmount (SS 3-onchain-accounts.md: "the amount of tokens ... locked to pay
 * off the position's max potential profit"), and releases the decreased share of it on a decrease, all of it on a
 * close or liquidation. */
static uint64_t lock_size(uint8_t *pd, uint8_t *collateral_cd, uint64_t size_usd, uint64_t collateral_price) {
  uint64_t tokens;
  TRY(usd_to_tokens(size_usd, collateral_price, collateral_cd[CUSTODY_DECIMALS], &tokens));
  wr64(pd + POSITION_LOCKED_AMOUNT, rd64(pd + POSITION_LOCKED_AMOUNT) + tokens);
  wr64(collateral_cd + CUSTODY_ASSETS_LOCKED, rd64(collateral_cd + CUSTODY_ASSETS_LOCKED) + tokens);
  return 0;
}

static uint64_t release_size(uint8_t *pd, uint8_t *collateral_cd, uint64_t size_before, uint64_t size_delta) {
  uint64_t held = rd64(pd + POSITION_LOCKED_AMOUNT), released = held;
  if (size_delta < size_before && !mul_div(held, size_delta, size_before, &released)) FAIL(E_MATH_OVERFLOW, "MathOverflow");
  uint64_t locked = rd64(collateral_cd + CUSTODY_ASSETS_LOCKED);
  wr64(pd + POSITION_LOCKED_AMOUNT, held - released);
  wr64(collateral_cd + CUSTODY_ASSETS_LOCKED, locked > released ? locked - released : 0);
  return 0;
}

/* Shorts are counted in the market custody's assets.globalShortSizes, with their size-weighted average price. */
static uint64_t add_global_short(uint8_t *cd, uint64_t size_delta, uint64_t price) {
  uint64_t sizes = rd64(cd + CUSTODY_GLOBAL_SHORT_SIZES), average = rd64(cd + CUSTODY_GLOBAL_SHORT_AVERAGE_PRICES);
  TRY(average_entry(sizes, average, size_delta, price, &average));
  wr64(cd + CUSTODY_GLOBAL_SHORT_SIZES, sizes + size_delta);
  wr64(cd + CUSTODY_GLOBAL_SHORT_AVERAGE_PRICES, average);
  return 0;
}
static void remove_global_short(uint8_t *cd, uint64_t size_delta) {
  uint64_t sizes = rd64(cd + CUSTODY_GLOBAL_SHORT_SIZES);
  wr64(cd + CUSTODY_GLOBAL_SHORT_SIZES, sizes > size_delta ? sizes - size_delta : 0);
  if (sizes <= size_delta) wr64(cd + CUSTODY_GLOBAL_SHORT_AVERAGE_PRICES, 0);
}

/* The size caps an increase must respect. A zero cap means none.
 * - custody.maxPositionSizeUsd, per position: PersonalPoolAmountLimit (6025).
 * - pricing.maxGlobalShortSizes against assets.globalShortSizes, and pricing.maxGlobalLongSizes against the longs'
 *   locked tokens at the oracle price (a custody that is not a stable collateralises only its own longs):
 *   CustodyAmountLimit (6023).
 * Which of 6023-6025 mainnet raises for which cap is not public [?]; these follow the error names. */
static uint64_t check_size_caps(const uint8_t *cd, uint8_t side, uint64_t new_size, uint64_t price) {
  uint64_t cap = rd64(cd + CUSTODY_MAX_POSITION_SIZE_USD);
  if (cap != 0 && new_size > cap) FAIL(E_PERSONAL_POOL_AMOUNT_LIMIT, "PersonalPoolAmountLimit");
  uint64_t global;
  if (side == SIDE_SHORT) {
    cap = rd64(cd + CUSTODY_MAX_GLOBAL_SHORT_SIZES);
    global = rd64(cd + CUSTODY_GLOBAL_SHORT_SIZES);
  } else {
    cap = rd64(cd + CUSTODY_MAX_GLOBAL_LONG_SIZES);
    TRY(tokens_to_usd(rd64(cd + CUSTODY_ASSETS_LOCKED), price, cd[CUSTODY_DECIMALS], &global));
  }
  if (cap != 0 && global > cap) FAIL(E_CUSTODY_AMOUNT_LIMIT, "CustodyAmountLimit");
  return 0;
}

/* A position left by a fill must not be liquidatable at once: the stand-in's leverage rule (MaxLeverage, 6022).
 * Mainnet's open-time rule is not public [?]; this is the liquidation test of fees.h with the borrow just settled. */
static uint64_t check_margin_after_fill(const uint8_t *custody, const uint8_t *pd, uint64_t price) {
  Margin m = {rd64(pd + POSITION_SIZE_USD), rd64(pd + POSITION_COLLATERAL_USD), 0, 0, {0, false}};
  TradeFee close;
  bool below;
  if (m.size == 0) return 0;
  TRY(position_pnl(m.size, rd64(pd + POSITION_PRICE), price, pd[POSITION_SIDE], &m.pnl));
  TRY(liquidation_close_fee(custody, m.size, &close));
  m.close_fee = close.position_fee;
  TRY(below_maintenance(custody, &m, &below));
  if (below) FAIL(E_MAX_LEVERAGE, "MaxLeverage");
  return 0;
}

/* The settled borrow restarts from the collateral custody's current counter (SS: the snapshot is reset at every
 * open, increase, deposit, withdrawal and close). */
static void reset_borrow_snapshot(uint8_t *pd, const uint8_t *collateral_cd) {
  sol_memcpy_(pd + POSITION_CUMULATIVE_INTEREST_SNAPSHOT, collateral_cd + CUSTODY_CUMULATIVE_INTEREST_RATE, 16);
}

/* ---- events ---- */

/* The head IncreasePositionEvent and DecreasePositionEvent share: the position, its market mint and the request. */
static void put_position_head(Writer *w, const SolAccountInfo *position, const SolAccountInfo *custody, const SolAccountInfo *request) {
  const uint8_t *pd = position->data, *rd = request->data;
  put_key(w, position->key->x);
  put_u8(w, pd[POSITION_SIDE]);
  put_key(w, pd + POSITION_CUSTODY);
  put_key(w, pd + POSITION_COLLATERAL_CUSTODY);
  put_u64(w, rd64(pd + POSITION_SIZE_USD));
  put_key(w, custody->data + CUSTODY_MINT);
  put_key(w, request->key->x);
  put_key(w, rd + REQUEST_MINT);
  put_u8(w, rd[REQUEST_CHANGE]);
  put_u8(w, rd[REQUEST_TYPE]);
}

static void put_referral(Writer *w, const SolAccountInfo *request, const RequestTail *tail) {
  const uint8_t *r = request->data + tail->referral_at;
  put_u8(w, r[0]);
  if (r[0]) put_key(w, r + 1);
}

/* The accounts a fill's event names; authority_at is the index of eventAuthority (program follows it). */
typedef struct {
  const SolAccountInfo *position, *custody, *request;
  const RequestTail *tail;
  uint64_t authority_at;
} FillEventRefs;

static uint64_t emit_increase(const Ctx *c, const FillEventRefs *e) {
  const SolAccountInfo *position = e->position, *custody = e->custody, *request = e->request;
  const RequestTail *tail = e->tail;
  uint64_t authority_at = e->authority_at;
  const Fill *f = (const Fill *)(HEAP_START + 12288);
  const uint8_t *pd = position->data, *rd = request->data;
  Writer w;
  event_begin(&w, EV_INCREASE_POSITION_EVENT);
  put_position_head(&w, position, custody, request);
  put_u64(&w, rd64(rd + REQUEST_COLLATERAL_DELTA));
  put_key(&w, pd + POSITION_OWNER);
  put_key(&w, pd + POSITION_POOL);
  put_u64(&w, f->size_delta);
  put_u64(&w, f->collateral_usd_delta);
  put_u64(&w, f->collateral_token_delta);
  put_u64(&w, f->price);
  put_some_u64(&w, tail->price_slippage);
  put_u64(&w, f->fee_token);
  put_u64(&w, f->fee.position_fee + f->borrow);
  put_u64(&w, rd64(rd + REQUEST_OPEN_TIME));
  put_referral(&w, request, tail);
  put_u64(&w, f->fee.position_fee);
  put_u64(&w, f->borrow);
  put_u64(&w, f->fee.impact_fee);
  return event_emit(c->program_id, &c->ka[authority_at], &c->ka[authority_at + 1], &w);
}

/* Meanings fixed by a real mainnet DecreasePositionEvent (tx 3MnCnWjL, rpcpool/yellowstone-vixen @f3207ee3
 * tests/proc-macro/fixtures): positionSizeUsd is the size after the fill, feeUsd = positionFeeUsd + fundingFeeUsd,
 * transferAmountUsd = original collateral + PnL - feeUsd on a close, positionPrice the entry price. */
static uint64_t emit_decrease(const Ctx *c, const FillEventRefs *e) {
  const SolAccountInfo *position = e->position, *custody = e->custody, *request = e->request;
  const RequestTail *tail = e->tail;
  uint64_t authority_at = e->authority_at;
  const Fill *f = (const Fill *)(HEAP_START + 12288);
  const uint8_t *pd = position->data, *rd = request->data;
  Writer w;
  event_begin(&w, EV_DECREASE_POSITION_EVENT);
  put_position_head(&w, position, custody, request);
  put_u8(&w, f->pnl.profit);
  put_u64(&w, f->pnl.usd);
  put_key(&w, pd + POSITION_OWNER);
  put_key(&w, pd + POSITION_POOL);
  put_u64(&w, f->size_delta);
  put_u64(&w, f->transfer_usd);
  put_some_u64(&w, f->transfer_token);
  put_u64(&w, f->price);
  put_some_u64(&w, tail->price_slippage);
  put_u64(&w, f->fee.position_fee + f->borrow);
  put_u64(&w, rd64(rd + REQUEST_OPEN_TIME));
  put_referral(&w, request, tail);
  put_u64(&w, f->fee.position_fee);
  put_u64(&w, f->borrow);
  put_u64(&w, f->fee.impact_fee);
  put_u64(&w, f->original_collateral);
  put_u64(&w, rd64(pd + POSITION_COLLATERAL_USD));
  put_u64(&w, rd64(pd + POSITION_OPEN_TIME));
  put_u64(&w, f->original_price);
  return event_emit(c->program_id, &c->ka[authority_at], &c->ka[authority_at + 1], &w);
}

/* LiquidateFullPositionEvent. Not settled by any public source [?]: positionSizeUsd is the size liquidated (the
 * event has no sizeUsdDelta and the size after is always 0), openTime the liquidation's time. The remaining
 * collateral stays with the pool (docs.jup.ag liquidation page), so transferAmountUsd and transferToken are 0; no
 * public code computes a liquidation reward from pool.fees.liquidationRewardBps, so liquidationFeeUsd is 0. */
static uint64_t emit_liquidation(const Ctx *c, const SolAccountInfo *position, const SolAccountInfo *custody, const SolAccountInfo *collateral) {
  const uint64_t authority_at = 11;
  const Fill *f = (const Fill *)(HEAP_START + 12288);
  const uint8_t *pd = position->data;
  Writer w;
  event_begin(&w, EV_LIQUIDATE_FULL_POSITION_EVENT);
  put_key(&w, position->key->x);
  put_u8(&w, pd[POSITION_SIDE]);
  put_key(&w, pd + POSITION_CUSTODY);
  put_key(&w, pd + POSITION_COLLATERAL_CUSTODY);
  put_key(&w, collateral->data + CUSTODY_MINT);
  put_key(&w, custody->data + CUSTODY_MINT);
  put_u64(&w, f->size_delta);
  put_u8(&w, f->pnl.profit);
  put_u64(&w, f->pnl.usd);
  put_key(&w, pd + POSITION_OWNER);
  put_key(&w, pd + POSITION_POOL);
  put_u64(&w, 0); /* transferAmountUsd */
  put_u64(&w, 0); /* transferToken */
  put_u64(&w, f->price);
  put_u64(&w, f->fee.position_fee + f->borrow);
  put_u64(&w, 0); /* liquidationFeeUsd */
  put_u64(&w, (uint64_t)c->now);
  put_u64(&w, f->fee.position_fee);
  put_u64(&w, f->borrow);
  put_u64(&w, f->fee.impact_fee);
  put_u64(&w, f->original_collateral);
  put_u64(&w, rd64(pd + POSITION_COLLATERAL_USD));
  put_u64(&w, rd64(pd + POSITION_OPEN_TIME));
  put_u64(&w, f->original_price);
  return event_emit(c->program_id, &c->ka[authority_at], &c->ka[authority_at + 1], &w);
}

/* ---- fills ---- */

/* increasePosition4 (fill keeper): keeper, perpetuals, pool, positionRequest, positionRequestAta, position,
 * custody, custodyDovesPriceAccount, custodyPythnetPriceAccount, collateralCustody,
 * collateralCustodyDovesPriceAccount, collateralCustodyPythnetPriceAccount, collateralCustodyTokenAccount,
 * tokenProgram, eventAuthority, program.
 * increasePositionWithInternalSwap inserts receivingCustody, its Doves and Pyth accounts and its token account
 * before tokenProgram, for requests funded in another custody's mint.
 * Order of work, as mainnet books it: both custodies' borrow to now; the position's borrow settled out of its
 * collateral with the position fee (base + impact, fees.h); size, entry and lockedAmount updated; snapshot reset. */
static uint64_t increase_position(Ctx *c, bool with_swap) {
  if (c->n < (with_swap ? 20 : 16)) FAIL(E_ACCOUNT_NOT_ENOUGH_KEYS, "AccountNotEnoughKeys");
  SolAccountInfo *k = c->ka;
  SolAccountInfo *pool = &k[2], *request = &k[3], *request_ata = &k[4], *position = &k[5], *custody = &k[6];
  SolAccountInfo *collateral = &k[9], *vault = &k[12];
  RequestTail tail;
  FillRefs refs = {&k[0], pool, request, position};
  TRY(check_fill(c, &refs, CHANGE_INCREASE, &tail));
  TRY(check_custody(c, custody, pool));
  TRY(check_custody(c, collateral, pool));
  TRY(check_permission(c, &k[1], custody->data, ALLOW_INCREASE_POSITION));
  uint8_t *pd = position->data;
  if (!key_eq(custody->key, pd + POSITION_CUSTODY) || !key_eq(collateral->key, pd + POSITION_COLLATERAL_CUSTODY) ||
      !key_eq(vault->key, collateral->data + CUSTODY_TOKEN_ACCOUNT)) {
    FAIL(E_ADDRESS_MISMATCH, "AddressMismatch");
  }
  Fill *f = fill_record();
  TRY(oracle_price(c, custody, &k[7], &k[8], &f->price));
  TRY(oracle_price(c, collateral, &k[10], &k[11], &f->collateral_price));
  uint8_t side = pd[POSITION_SIDE], decimals = collateral->data[CUSTODY_DECIMALS];
  TRY(check_slippage(f->price, tail.price_slippage, side == SIDE_LONG));

  f->size_delta = rd64(request->data + REQUEST_SIZE_USD_DELTA);
  if (!owned_by(request_ata, TOKEN_PROGRAM_ID) || request_ata->data_len < TOKEN_ACCOUNT_SIZE ||
      !key_eq(request->key, request_ata->data + TOKEN_ACCOUNT_OWNER)) {
    FAIL(E_INVALID_POSITION_REQUEST_INPUT_ATA, "InvalidPositionRequestInputAta");
  }
  uint64_t amount = rd64(request_ata->data + TOKEN_ACCOUNT_AMOUNT);
  SolAccountInfo *paid_to = vault, *paid_custody = collateral;
  if (with_swap) {
    SwapIn in = {pool, request_ata, collateral, &tail, f->collateral_price, amount};
    TRY(internal_swap(c, &in, &f->collateral_token_delta));
    paid_to = &k[16];
    paid_custody = &k[13];
  } else {
    if (!key_eq((const SolPubkey *)(request_ata->data + TOKEN_ACCOUNT_MINT), collateral->data + CUSTODY_MINT)) FAIL(E_INVALID_MINT, "InvalidMint");
    f->collateral_token_delta = amount;
  }
  TRY(tokens_to_usd(f->collateral_token_delta, f->collateral_price, decimals, &f->collateral_usd_delta));
  TRY(touch_custodies(c, custody, collateral));
  TRY(position_borrow(pd, collateral->data, &f->borrow));
  TRY(trade_fee(custody->data, rd64(custody->data + CUSTODY_INCREASE_POSITION_BPS), f->size_delta, true, c->now, &f->fee));
  uint64_t old_size = rd64(pd + POSITION_SIZE_USD), charges = f->fee.position_fee + f->borrow;
  f->original_collateral = rd64(pd + POSITION_COLLATERAL_USD);
  f->original_price = rd64(pd + POSITION_PRICE);
  if (f->original_collateral + f->collateral_usd_delta < charges) FAIL(E_INVALID_COLLATERAL_AMOUNT, "InvalidCollateralAmount");
  uint64_t entry = f->original_price;
  if (f->size_delta > 0) TRY(average_entry(old_size, entry, f->size_delta, f->price, &entry));
  TRY(usd_to_tokens(charges, f->collateral_price, decimals, &f->fee_token));

  if (old_size == 0) wr64(pd + POSITION_OPEN_TIME, (uint64_t)c->now);
  wr64(pd + POSITION_UPDATE_TIME, (uint64_t)c->now);
  wr64(pd + POSITION_PRICE, entry);
  wr64(pd + POSITION_SIZE_USD, old_size + f->size_delta);
  wr64(pd + POSITION_COLLATERAL_USD, f->original_collateral + f->collateral_usd_delta - charges);
  reset_borrow_snapshot(pd, collateral->data);
  TRY(lock_size(pd, collateral->data, f->size_delta, f->collateral_price));
  if (side == SIDE_SHORT) TRY(add_global_short(custody->data, f->size_delta, f->price));
  TRY(check_size_caps(custody->data, side, old_size + f->size_delta, f->price));
  TRY(check_margin_after_fill(custody->data, pd, f->price));

  uint8_t change = CHANGE_INCREASE;
  SolSignerSeed seeds[5];
  request_seeds(position->key->x, request->data + tail.executed_at + 1, &change, &tail.bump, seeds);
  SolSignerSeeds signer = {seeds, 5};
  TRY(token_transfer(request_ata, paid_to, request, amount, &signer));
  wr64(paid_custody->data + CUSTODY_ASSETS_OWNED, rd64(paid_custody->data + CUSTODY_ASSETS_OWNED) + amount);
  set_executed(request, &tail, c->now);
  sol_log(with_swap ? "Instruction: IncreasePositionWithInternalSwap" : "Instruction: IncreasePosition4");
  sol_log_64_(f->price, f->size_delta, f->collateral_usd_delta, f->fee.position_fee, f->borrow);
  FillEventRefs e = {position, custody, request, &tail, with_swap ? 18 : 14};
  return emit_increase(c, &e);
}

/* decreasePosition4 (fill keeper): keeper, owner, transferAuthority, perpetuals, pool, positionRequest,
 * positionRequestAta, position, custody, custodyDovesPriceAccount, custodyPythnetPriceAccount, collateralCustody,
 * collateralCustodyDovesPriceAccount, collateralCustodyPythnetPriceAccount, collateralCustodyTokenAccount,
 * tokenProgram, eventAuthority, program. The payout is the withdrawn collateral plus a profit, less a loss, the
 * position fee and the whole position's accrued borrow; a shortfall comes out of the collateral that stays. */
static uint64_t decrease_position(Ctx *c) {
  if (c->n < 18) FAIL(E_ACCOUNT_NOT_ENOUGH_KEYS, "AccountNotEnoughKeys");
  SolAccountInfo *k = c->ka;
  SolAccountInfo *owner = &k[1], *authority = &k[2], *pool = &k[4], *request = &k[5], *request_ata = &k[6];
  SolAccountInfo *position = &k[7], *custody = &k[8], *collateral = &k[11], *vault = &k[14];
  RequestTail tail;
  FillRefs refs = {&k[0], pool, request, position};
  TRY(check_fill(c, &refs, CHANGE_DECREASE, &tail));
  TRY(check_custody(c, custody, pool));
  TRY(check_custody(c, collateral, pool));
  uint8_t *pd = position->data;
  if (!key_eq(owner->key, pd + POSITION_OWNER) || !key_eq(custody->key, pd + POSITION_CUSTODY) ||
      !key_eq(collateral->key, pd + POSITION_COLLATERAL_CUSTODY) || !key_eq(vault->key, collateral->data + CUSTODY_TOKEN_ACCOUNT) ||
      !key_eq(request->key, request_ata->data + TOKEN_ACCOUNT_OWNER)) {
    FAIL(E_ADDRESS_MISMATCH, "AddressMismatch");
  }
  uint8_t authority_bump;
  SolSignerSeed auth_seeds[2] = {{(const uint8_t *)"transfer_authority", 18}, {&authority_bump, 1}};
  TRY(find_pda(auth_seeds, 1, c, authority, &authority_bump));

  Fill *f = fill_record();
  uint64_t size = rd64(pd + POSITION_SIZE_USD), collateral_delta = rd64(request->data + REQUEST_COLLATERAL_DELTA);
  f->size_delta = rd64(request->data + REQUEST_SIZE_USD_DELTA);
  f->original_collateral = rd64(pd + POSITION_COLLATERAL_USD);
  f->original_price = rd64(pd + POSITION_PRICE);
  if (size == 0 || f->size_delta > size) FAIL(E_INVALID_POSITION_STATE, "InvalidPositionState");
  bool closing = tail.entire_position || f->size_delta == size;
  TRY(check_permission(c, &k[3], custody->data, ALLOW_DECREASE_POSITION));
  if (!closing && f->size_delta == 0) TRY(check_permission(c, &k[3], custody->data, ALLOW_COLLATERAL_WITHDRAWAL));
  if (closing) {
    f->size_delta = size;
    collateral_delta = f->original_collateral;
  }
  if (collateral_delta > f->original_collateral) FAIL(E_INVALID_POSITION_STATE, "InvalidPositionState");

  TRY(oracle_price(c, custody, &k[9], &k[10], &f->price));
  TRY(oracle_price(c, collateral, &k[12], &k[13], &f->collateral_price));
  uint8_t side = pd[POSITION_SIDE];
  TRY(check_slippage(f->price, tail.price_slippage, side == SIDE_SHORT));

  TRY(touch_custodies(c, custody, collateral));
  TRY(position_borrow(pd, collateral->data, &f->borrow));
  TRY(trade_fee(custody->data, rd64(custody->data + CUSTODY_DECREASE_POSITION_BPS), f->size_delta, false, c->now, &f->fee));
  TRY(position_pnl(f->size_delta, f->original_price, f->price, side, &f->pnl));
  uint64_t charges = f->fee.position_fee + f->borrow, pnl = f->pnl.usd;
  uint64_t credit = collateral_delta + (f->pnl.profit ? pnl : 0), debit = charges + (f->pnl.profit ? 0 : pnl);
  uint64_t remaining = f->original_collateral - collateral_delta;
  if (credit >= debit) {
    f->transfer_usd = credit - debit;
  } else if (closing || debit - credit <= remaining) {
    remaining = closing ? 0 : remaining - (debit - credit);
  } else {
    FAIL(E_INVALID_POSITION_STATE, "InvalidPositionState");
  }
  if (closing) remaining = 0;
  TRY(usd_to_tokens(f->transfer_usd, f->collateral_price, collateral->data[CUSTODY_DECIMALS], &f->transfer_token));

  uint64_t realised = rd64(pd + POSITION_REALISED_PNL_USD) + (f->pnl.profit ? pnl : (uint64_t)0 - pnl) - charges; /* i64, two's complement */
  wr64(pd + POSITION_UPDATE_TIME, (uint64_t)c->now);
  wr64(pd + POSITION_SIZE_USD, size - f->size_delta);
  wr64(pd + POSITION_COLLATERAL_USD, remaining);
  wr64(pd + POSITION_REALISED_PNL_USD, realised);
  if (closing) wr64(pd + POSITION_PRICE, 0);
  reset_borrow_snapshot(pd, collateral->data);
  TRY(release_size(pd, collateral->data, size, f->size_delta));
  if (side == SIDE_SHORT) remove_global_short(custody->data, f->size_delta);
  TRY(check_margin_after_fill(custody->data, pd, f->price));

  SolSignerSeeds signer = {auth_seeds, 2};
  TRY(token_transfer(vault, request_ata, authority, f->transfer_token, &signer));
  wr64(collateral->data + CUSTODY_ASSETS_OWNED, rd64(collateral->data + CUSTODY_ASSETS_OWNED) - f->transfer_token);
  set_executed(request, &tail, c->now);
  sol_log("Instruction: DecreasePosition4");
  sol_log_64_(f->price, f->size_delta, f->transfer_usd, f->fee.position_fee, f->borrow);
  FillEventRefs e = {position, custody, request, &tail, 16};
  return emit_decrease(c, &e);
}

/* liquidateFullPosition4 (a keeper): signer, perpetuals, pool, position, custody, custodyDovesPriceAccount,
 * custodyPythnetPriceAccount, collateralCustody, collateralCustodyDovesPriceAccount,
 * collateralCustodyPythnetPriceAccount, collateralCustodyTokenAccount, eventAuthority, program (the public IDL,
 * monakki/jup-perps-client @91cec15). Closes a position whose collateral no longer covers the maintenance margin
 * (fees.h below_maintenance; CannotLiquidate, 6063, otherwise). Its collateral stays in the pool's vault. */
static uint64_t liquidate(Ctx *c) {
  if (c->n < 13) FAIL(E_ACCOUNT_NOT_ENOUGH_KEYS, "AccountNotEnoughKeys");
  SolAccountInfo *k = c->ka;
  SolAccountInfo *pool = &k[2], *position = &k[3], *custody = &k[4], *collateral = &k[7], *vault = &k[10];
  if (!k[0].is_signer || !key_eq(k[0].key, FILL_KEEPER_ID)) FAIL(E_INVALID_KEEPER, "InvalidKeeper");
  if (!is_account(c, pool, POOL_DISCRIMINATOR, 8)) FAIL(E_ACCOUNT_OWNED_BY_WRONG_PROGRAM, "AccountOwnedByWrongProgram");
  if (!is_account(c, position, POSITION_DISCRIMINATOR, POSITION_FIELDS_SIZE)) FAIL(E_ACCOUNT_OWNED_BY_WRONG_PROGRAM, "AccountOwnedByWrongProgram");
  TRY(check_custody(c, custody, pool));
  TRY(check_custody(c, collateral, pool));
  uint8_t *pd = position->data;
  if (!key_eq(pool->key, pd + POSITION_POOL) || !key_eq(custody->key, pd + POSITION_CUSTODY) ||
      !key_eq(collateral->key, pd + POSITION_COLLATERAL_CUSTODY) || !key_eq(vault->key, collateral->data + CUSTODY_TOKEN_ACCOUNT)) {
    FAIL(E_ADDRESS_MISMATCH, "AddressMismatch");
  }
  TRY(check_permission(c, &k[1], custody->data, ALLOW_LIQUIDATE_POSITION));
  Fill *f = fill_record();
  f->size_delta = rd64(pd + POSITION_SIZE_USD);
  f->original_collateral = rd64(pd + POSITION_COLLATERAL_USD);
  f->original_price = rd64(pd + POSITION_PRICE);
  if (f->size_delta == 0) FAIL(E_INVALID_POSITION_STATE, "InvalidPositionState");
  TRY(oracle_price(c, custody, &k[5], &k[6], &f->price));
  TRY(oracle_price(c, collateral, &k[8], &k[9], &f->collateral_price));
  TRY(touch_custodies(c, custody, collateral));
  TRY(position_borrow(pd, collateral->data, &f->borrow));
  TRY(liquidation_close_fee(custody->data, f->size_delta, &f->fee));
  uint8_t side = pd[POSITION_SIDE];
  TRY(position_pnl(f->size_delta, f->original_price, f->price, side, &f->pnl));
  Margin m = {f->size_delta, f->original_collateral, f->fee.position_fee, f->borrow, f->pnl};
  bool below;
  TRY(below_maintenance(custody->data, &m, &below));
  if (!below) FAIL(E_CANNOT_LIQUIDATE, "CannotLiquidate");

  /* The trader loses the whole collateral. */
  uint64_t realised = rd64(pd + POSITION_REALISED_PNL_USD) - f->original_collateral;
  wr64(pd + POSITION_UPDATE_TIME, (uint64_t)c->now);
  wr64(pd + POSITION_SIZE_USD, 0);
  wr64(pd + POSITION_COLLATERAL_USD, 0);
  wr64(pd + POSITION_REALISED_PNL_USD, realised);
  wr64(pd + POSITION_PRICE, 0);
  reset_borrow_snapshot(pd, collateral->data);
  TRY(release_size(pd, collateral->data, f->size_delta, f->size_delta));
  if (side == SIDE_SHORT) remove_global_short(custody->data, f->size_delta);
  sol_log("Instruction: LiquidateFullPosition4");
  sol_log_64_(f->price, f->size_delta, f->original_collateral, f->fee.position_fee, f->borrow);
  return emit_liquidation(c, position, custody, collateral);
}

/* closePositionRequest3: keeper (optional), owner, ownerAta, pool, positionRequest, positionRequestAta, position,
 * custody, mint, tokenProgram, systemProgram, associatedTokenProgram, eventAuthority, program. Returns what the
 * request's token account holds to the owner and closes both accounts, rent to the owner. The fill keeper may
 * close any request (after a fill, or to reject one). Without the keeper, the IDL's owner is not a signer, so the
 * request's state must allow it: only once it has expired (RequestUpdatedTooRecent, 6042, before; public sources
 * document only expired and trigger requests as owner-closable [?]), and not while the pool or the custody has
 * disableClosePositionRequest set (InstructionNotAllowed, 6027). */
static uint64_t close_request(Ctx *c) {
  if (c->n < 14) FAIL(E_ACCOUNT_NOT_ENOUGH_KEYS, "AccountNotEnoughKeys");
  SolAccountInfo *k = c->ka;
  SolAccountInfo *keeper = &k[0], *owner = &k[1], *owner_ata = &k[2], *pool = &k[3], *request = &k[4], *request_ata = &k[5];
  SolAccountInfo *custody = &k[7];
  RequestTail tail;
  if (!is_account(c, request, POSITION_REQUEST_DISCRIMINATOR, REQUEST_OPTIONS) || !read_request_tail(request, &tail)) {
    FAIL(E_INVALID_POSITION_REQUEST, "InvalidPositionRequest");
  }
  const uint8_t *rd = request->data;
  if (!key_eq(owner->key, rd + REQUEST_OWNER) || !key_eq(pool->key, rd + REQUEST_POOL) || !key_eq(k[6].key, rd + REQUEST_POSITION) ||
      !key_eq(k[8].key, rd + REQUEST_MINT) || !key_eq(custody->key, rd + REQUEST_CUSTODY)) {
    FAIL(E_ADDRESS_MISMATCH, "AddressMismatch");
  }
  TRY(check_custody(c, custody, pool));
  bool by_keeper = !is_program_placeholder(c, keeper);
  if (by_keeper && (!keeper->is_signer || !key_eq(keeper->key, FILL_KEEPER_ID))) FAIL(E_INVALID_KEEPER, "InvalidKeeper");
  bool expired = c->now > (int64_t)rd64(rd + REQUEST_UPDATE_TIME) + pool_max_request_execution_sec(pool);
  if (!by_keeper) {
    if (pool_disable_close_position_request(pool) || custody->data[CUSTODY_DISABLE_CLOSE_POSITION_REQUEST]) FAIL(E_INSTRUCTION_NOT_ALLOWED, "InstructionNotAllowed");
    if (!expired) FAIL(E_REQUEST_UPDATED_TOO_RECENT, "RequestUpdatedTooRecent");
  }
  if (!key_eq(request->key, request_ata->data + TOKEN_ACCOUNT_OWNER)) FAIL(E_INVALID_POSITION_REQUEST_INPUT_ATA, "InvalidPositionRequestInputAta");

  uint8_t change = rd[REQUEST_CHANGE];
  SolSignerSeed seeds[5];
  request_seeds(rd + REQUEST_POSITION, rd + tail.executed_at + 1, &change, &tail.bump, seeds);
  SolSignerSeeds signer = {seeds, 5};
  uint64_t amount = rd64(request_ata->data + TOKEN_ACCOUNT_AMOUNT);
  if (amount > 0) {
    if (!owned_by(owner_ata, TOKEN_PROGRAM_ID) || owner_ata->data_len < TOKEN_ACCOUNT_SIZE ||
        !key_eq(owner->key, owner_ata->data + TOKEN_ACCOUNT_OWNER) || !key_eq(k[8].key, owner_ata->data + TOKEN_ACCOUNT_MINT)) {
      FAIL(E_INVALID_COLLATERAL_ACCOUNT, "InvalidCollateralAccount");
    }
    TRY(token_transfer(request_ata, owner_ata, request, amount, &signer));
  }
  TRY(token_close(request_ata, owner, request, &signer));

  /* ClosePositionRequestEvent, written before the request's bytes are cleared (field meanings from a real one:
   * ../shared vectors, tx 3MnCnWjL: amount is the tokens returned, openTime the request's). */
  Writer w;
  event_begin(&w, EV_CLOSE_POSITION_REQUEST_EVENT);
  uint8_t entire = rd[tail.entire_at];
  put_u8(&w, entire);
  if (entire) put_u8(&w, rd[tail.entire_at + 1]);
  put_u8(&w, rd[tail.executed_at]);
  put_u8(&w, rd[REQUEST_CHANGE]);
  put_u8(&w, rd[REQUEST_TYPE]);
  put_u8(&w, rd[REQUEST_SIDE]);
  put_key(&w, request->key->x);
  put_key(&w, owner->key->x);
  put_key(&w, rd + REQUEST_MINT);
  put_u64(&w, amount);
  put_u64(&w, rd64(rd + REQUEST_OPEN_TIME));

  sol_log("Instruction: ClosePositionRequest3");
  sol_log_64_(amount, rd[REQUEST_CHANGE], by_keeper, expired, 0);
  TRY(event_emit(c->program_id, &k[12], &k[13], &w));
  *owner->lamports += *request->lamports;
  *request->lamports = 0;
  sol_memset_(request->data, 0, request->data_len);
  return 0;
}

static bool disc_eq(const uint8_t *data, const uint8_t disc[8]) {
  for (int i = 0; i < 8; i++)
    if (data[i] != disc[i]) return false;
  return true;
}

uint64_t entrypoint(const uint8_t *input) {
  SolParameters params;
  if (!sol_deserialize(input, &params)) return E_ACCOUNT_NOT_ENOUGH_KEYS;
  SolClock clock;
  sol_get_clock_sysvar(&clock);
  Ctx c = {params.accounts, params.account_count, params.data, params.data_len, params.program_id, clock.unix_timestamp};
  if (c.data_len < 8) FAIL(E_INSTRUCTION_FALLBACK_NOT_FOUND, "InstructionFallbackNotFound");
  if (disc_eq(c.data, IX_CREATE_INCREASE_POSITION_MARKET_REQUEST)) {
    sol_log("Instruction: CreateIncreasePositionMarketRequest");
    return create_increase_request(&c);
  }
  if (disc_eq(c.data, IX_CREATE_DECREASE_POSITION_MARKET_REQUEST)) {
    sol_log("Instruction: CreateDecreasePositionMarketRequest");
    return create_decrease_request(&c);
  }
  if (disc_eq(c.data, IX_INCREASE_POSITION4)) return increase_position(&c, false);
  if (disc_eq(c.data, IX_INCREASE_POSITION_WITH_INTERNAL_SWAP)) return increase_position(&c, true);
  if (disc_eq(c.data, IX_DECREASE_POSITION4)) return decrease_position(&c);
  if (disc_eq(c.data, IX_CLOSE_POSITION_REQUEST3)) return close_request(&c);
  if (disc_eq(c.data, IX_LIQUIDATE_FULL_POSITION4)) return liquidate(&c);
  if (disc_eq(c.data, EVENT_IX_TAG_LE)) return accept_event(c.program_id, c.ka, c.n);
  FAIL(E_INSTRUCTION_FALLBACK_NOT_FOUND, "InstructionFallbackNotFound");
}
