/* Stand-in for the Jupiter Perpetuals program on localnet: the instructions a hedging keeper uses, with the real
 * program's discriminators, account lists, PDAs, account layouts and error codes. Fills are executed by the
 * localnet fill keeper (localnet/fill-keeper) at the custody's oracle price, as Jupiter's keepers do on mainnet. */
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
  return at + 16 + 40; /* aumUsd, limit */
}

static int64_t pool_max_request_execution_sec(const SolAccountInfo *pool) {
  uint64_t at = pool_fees_offset(pool) + 72 + 24; /* fees, poolApr */
  if (at + 8 > pool->data_len) return 0;
  return (int64_t)rd64(pool->data + at);
}

/* fees{swapMultiplier, stableSwapMultiplier, addRemoveLiquidityBps, swapBps, ...}: the pool's base swap fee. */
static uint64_t pool_swap_bps(const SolAccountInfo *pool) {
  uint64_t at = pool_fees_offset(pool) + 24;
  return at + 8 > pool->data_len ? 0 : rd64(pool->data + at);
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

/* Opening or closing fee: the custody's bps plus the linear price impact, size^2 / tradeImpactFeeScalar. */
static uint64_t trade_fee_usd6(const uint8_t *custody, uint64_t bps_offset, uint64_t size_usd6, uint64_t *fee) {
  uint64_t base, impact = 0;
  uint64_t scalar = rd64(custody + CUSTODY_TRADE_IMPACT_FEE_SCALAR);
  if (!mul_div(size_usd6, rd64(custody + bps_offset), 10000, &base)) FAIL(E_MATH_OVERFLOW, "MathOverflow");
  if (scalar > 0 && !mul_div(size_usd6, size_usd6, scalar, &impact)) FAIL(E_MATH_OVERFLOW, "MathOverflow");
  *fee = base + impact;
  return 0;
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
  uint64_t executed_at;
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
  at = skip_option(d, at, 1);     /* entirePosition */
  t->executed_at = at;
  at += 1;
  t->counter = rd64(d + at);
  t->bump = d[at + 8];
  return at + 9 <= req->data_len;
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
  } else if (!is_account(c, position, POSITION_DISCRIMINATOR, POSITION_SIZE)) {
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
  if (!is_account(c, position, POSITION_DISCRIMINATOR, POSITION_SIZE)) FAIL(E_ACCOUNT_OWNED_BY_WRONG_PROGRAM, "AccountOwnedByWrongProgram");
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
  if (!is_account(c, position, POSITION_DISCRIMINATOR, POSITION_SIZE)) FAIL(E_ACCOUNT_OWNED_BY_WRONG_PROGRAM, "AccountOwnedByWrongProgram");
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

static uint64_t internal_swap(Ctx *c, const SwapIn *in, uint64_t *collateral_usd) {
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
  uint64_t in_price, in_usd, fee, out;
  TRY(oracle_price(c, receiving, &k[14], &k[15], &in_price));
  TRY(tokens_to_usd(amount_in, in_price, receiving->data[CUSTODY_DECIMALS], &in_usd));
  if (!mul_div(in_usd, pool_swap_bps(pool), 10000, &fee)) FAIL(E_MATH_OVERFLOW, "MathOverflow");
  TRY(usd_to_tokens(in_usd - fee, collateral_price, collateral->data[CUSTODY_DECIMALS], &out));
  if (out < tail->minimum_out) FAIL(E_INSUFFICIENT_AMOUNT_RETURNED, "InsufficientAmountReturned");
  sol_log("Instruction: InternalSwap");
  sol_log_64_(amount_in, in_price, fee, out, tail->minimum_out);
  return tokens_to_usd(out, collateral_price, collateral->data[CUSTODY_DECIMALS], collateral_usd);
}

/* increasePosition4 (fill keeper): keeper, perpetuals, pool, positionRequest, positionRequestAta, position,
 * custody, custodyDovesPriceAccount, custodyPythnetPriceAccount, collateralCustody,
 * collateralCustodyDovesPriceAccount, collateralCustodyPythnetPriceAccount, collateralCustodyTokenAccount,
 * tokenProgram, eventAuthority, program.
 * increasePositionWithInternalSwap inserts receivingCustody, its Doves and Pyth accounts and its token account
 * before tokenProgram, for requests funded in another custody's mint. */
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
  uint8_t *pd = position->data;
  if (!key_eq(custody->key, pd + POSITION_CUSTODY) || !key_eq(collateral->key, pd + POSITION_COLLATERAL_CUSTODY) ||
      !key_eq(vault->key, collateral->data + CUSTODY_TOKEN_ACCOUNT)) {
    FAIL(E_ADDRESS_MISMATCH, "AddressMismatch");
  }
  uint64_t price, collateral_price;
  TRY(oracle_price(c, custody, &k[7], &k[8], &price));
  TRY(oracle_price(c, collateral, &k[10], &k[11], &collateral_price));
  uint8_t side = pd[POSITION_SIDE];
  TRY(check_slippage(price, tail.price_slippage, side == SIDE_LONG));

  uint64_t size_delta = rd64(request->data + REQUEST_SIZE_USD_DELTA);
  if (!owned_by(request_ata, TOKEN_PROGRAM_ID) || request_ata->data_len < TOKEN_ACCOUNT_SIZE ||
      !key_eq(request->key, request_ata->data + TOKEN_ACCOUNT_OWNER)) {
    FAIL(E_INVALID_POSITION_REQUEST_INPUT_ATA, "InvalidPositionRequestInputAta");
  }
  uint64_t amount = rd64(request_ata->data + TOKEN_ACCOUNT_AMOUNT);
  uint64_t collateral_usd, fee;
  SolAccountInfo *paid_to = vault, *paid_custody = collateral;
  if (with_swap) {
    SwapIn in = {pool, request_ata, collateral, &tail, collateral_price, amount};
    TRY(internal_swap(c, &in, &collateral_usd));
    paid_to = &k[16];
    paid_custody = &k[13];
  } else {
    if (!key_eq((const SolPubkey *)(request_ata->data + TOKEN_ACCOUNT_MINT), collateral->data + CUSTODY_MINT)) FAIL(E_INVALID_MINT, "InvalidMint");
    TRY(tokens_to_usd(amount, collateral_price, collateral->data[CUSTODY_DECIMALS], &collateral_usd));
  }
  TRY(trade_fee_usd6(custody->data, CUSTODY_INCREASE_POSITION_BPS, size_delta, &fee));
  uint64_t old_size = rd64(pd + POSITION_SIZE_USD), old_collateral = rd64(pd + POSITION_COLLATERAL_USD);
  if (old_collateral + collateral_usd < fee) FAIL(E_INVALID_COLLATERAL_AMOUNT, "InvalidCollateralAmount");
  uint64_t new_collateral = old_collateral + collateral_usd - fee, new_size = old_size + size_delta, entry = rd64(pd + POSITION_PRICE);
  if (size_delta > 0) TRY(average_entry(old_size, entry, size_delta, price, &entry));
  uint64_t max_size;
  if (!mul_div(new_collateral, rd64(custody->data + CUSTODY_MAX_LEVERAGE), 10000, &max_size) || new_size > max_size) {
    FAIL(E_MAX_LEVERAGE, "MaxLeverage");
  }

  uint8_t change = CHANGE_INCREASE;
  SolSignerSeed seeds[5];
  request_seeds(position->key->x, request->data + tail.executed_at + 1, &change, &tail.bump, seeds);
  SolSignerSeeds signer = {seeds, 5};
  TRY(token_transfer(request_ata, paid_to, request, amount, &signer));

  if (old_size == 0) wr64(pd + POSITION_OPEN_TIME, (uint64_t)c->now);
  wr64(pd + POSITION_UPDATE_TIME, (uint64_t)c->now);
  wr64(pd + POSITION_PRICE, entry);
  wr64(pd + POSITION_SIZE_USD, new_size);
  wr64(pd + POSITION_COLLATERAL_USD, new_collateral);
  /* Borrow is not accrued here, but the position starts owing from the collateral custody's current rate. */
  sol_memcpy_(pd + POSITION_CUMULATIVE_INTEREST_SNAPSHOT, collateral->data + CUSTODY_CUMULATIVE_INTEREST_RATE, 16);
  wr64(paid_custody->data + CUSTODY_ASSETS_OWNED, rd64(paid_custody->data + CUSTODY_ASSETS_OWNED) + amount);
  set_executed(request, &tail, c->now);
  sol_log(with_swap ? "Instruction: IncreasePositionWithInternalSwap" : "Instruction: IncreasePosition4");
  sol_log_64_(price, size_delta, collateral_usd, fee, new_size);
  return 0;
}

/* decreasePosition4 (fill keeper): keeper, owner, transferAuthority, perpetuals, pool, positionRequest,
 * positionRequestAta, position, custody, custodyDovesPriceAccount, custodyPythnetPriceAccount, collateralCustody,
 * collateralCustodyDovesPriceAccount, collateralCustodyPythnetPriceAccount, collateralCustodyTokenAccount,
 * tokenProgram, eventAuthority, program. */
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

  uint64_t price, collateral_price;
  TRY(oracle_price(c, custody, &k[9], &k[10], &price));
  TRY(oracle_price(c, collateral, &k[12], &k[13], &collateral_price));
  uint8_t side = pd[POSITION_SIDE];
  TRY(check_slippage(price, tail.price_slippage, side == SIDE_SHORT));

  uint64_t size = rd64(pd + POSITION_SIZE_USD), collateral_usd = rd64(pd + POSITION_COLLATERAL_USD), entry = rd64(pd + POSITION_PRICE);
  uint64_t size_delta = rd64(request->data + REQUEST_SIZE_USD_DELTA), collateral_delta = rd64(request->data + REQUEST_COLLATERAL_DELTA);
  if (size == 0) FAIL(E_INVALID_POSITION_STATE, "InvalidPositionState");
  if (size_delta > size) FAIL(E_INVALID_POSITION_STATE, "InvalidPositionState");
  bool closing = tail.entire_position || size_delta == size;
  if (closing) {
    size_delta = size;
    collateral_delta = collateral_usd;
  }
  if (collateral_delta > collateral_usd) FAIL(E_INVALID_POSITION_STATE, "InvalidPositionState");

  /* PnL on the closed part: size x |price - entry| / entry, a profit when the price moved the position's way. */
  uint64_t move = price > entry ? price - entry : entry - price, pnl, fee;
  bool profit = side == SIDE_LONG ? price > entry : price < entry;
  if (!mul_div(size_delta, move, entry, &pnl)) FAIL(E_MATH_OVERFLOW, "MathOverflow");
  TRY(trade_fee_usd6(custody->data, CUSTODY_DECREASE_POSITION_BPS, size_delta, &fee));
  uint64_t credit = collateral_delta + (profit ? pnl : 0), debit = fee + (profit ? 0 : pnl);
  uint64_t transfer_usd = 0, remaining = collateral_usd - collateral_delta;
  if (credit >= debit) {
    transfer_usd = credit - debit;
  } else if (closing || debit - credit <= remaining) {
    /* A loss beyond the withdrawn collateral comes out of what stays in the position (all of it on a close). */
    remaining = closing ? 0 : remaining - (debit - credit);
  } else {
    FAIL(E_INVALID_POSITION_STATE, "InvalidPositionState");
  }
  if (closing) remaining = 0;
  uint64_t amount;
  TRY(usd_to_tokens(transfer_usd, collateral_price, collateral->data[CUSTODY_DECIMALS], &amount));

  SolSignerSeeds signer = {auth_seeds, 2};
  TRY(token_transfer(vault, request_ata, authority, amount, &signer));

  uint64_t realised = rd64(pd + POSITION_REALISED_PNL_USD) + (profit ? pnl : (uint64_t)0 - pnl) - fee; /* i64, two's complement */
  wr64(pd + POSITION_UPDATE_TIME, (uint64_t)c->now);
  wr64(pd + POSITION_SIZE_USD, size - size_delta);
  wr64(pd + POSITION_COLLATERAL_USD, remaining);
  wr64(pd + POSITION_REALISED_PNL_USD, realised);
  if (size == size_delta) wr64(pd + POSITION_PRICE, 0);
  wr64(collateral->data + CUSTODY_ASSETS_OWNED, rd64(collateral->data + CUSTODY_ASSETS_OWNED) - amount);
  set_executed(request, &tail, c->now);
  sol_log("Instruction: DecreasePosition4");
  sol_log_64_(price, size_delta, transfer_usd, fee, pnl);
  return 0;
}

/* closePositionRequest3: keeper (optional), owner, ownerAta, pool, positionRequest, positionRequestAta, position,
 * custody, mint, tokenProgram, systemProgram, associatedTokenProgram, eventAuthority, program. Returns what the
 * request's token account holds to the owner and closes both accounts, rent to the owner. The fill keeper may
 * close any request (after a fill, or to reject one); otherwise the owner must sign, or the request must have
 * expired. */
static uint64_t close_request(Ctx *c) {
  if (c->n < 14) FAIL(E_ACCOUNT_NOT_ENOUGH_KEYS, "AccountNotEnoughKeys");
  SolAccountInfo *k = c->ka;
  SolAccountInfo *keeper = &k[0], *owner = &k[1], *owner_ata = &k[2], *pool = &k[3], *request = &k[4], *request_ata = &k[5];
  RequestTail tail;
  if (!is_account(c, request, POSITION_REQUEST_DISCRIMINATOR, REQUEST_OPTIONS) || !read_request_tail(request, &tail)) {
    FAIL(E_INVALID_POSITION_REQUEST, "InvalidPositionRequest");
  }
  const uint8_t *rd = request->data;
  if (!key_eq(owner->key, rd + REQUEST_OWNER) || !key_eq(pool->key, rd + REQUEST_POOL) ||
      !key_eq(k[6].key, rd + REQUEST_POSITION) || !key_eq(k[8].key, rd + REQUEST_MINT)) {
    FAIL(E_ADDRESS_MISMATCH, "AddressMismatch");
  }
  bool by_keeper = !is_program_placeholder(c, keeper);
  if (by_keeper && (!keeper->is_signer || !key_eq(keeper->key, FILL_KEEPER_ID))) FAIL(E_INVALID_KEEPER, "InvalidKeeper");
  bool expired = c->now > (int64_t)rd64(rd + REQUEST_UPDATE_TIME) + pool_max_request_execution_sec(pool);
  if (!by_keeper && !owner->is_signer && !expired) FAIL(E_CONSTRAINT_SIGNER, "ConstraintSigner");
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
  *owner->lamports += *request->lamports;
  *request->lamports = 0;
  sol_memset_(request->data, 0, request->data_len);
  sol_log("Instruction: ClosePositionRequest3");
  sol_log_64_(amount, rd[REQUEST_CHANGE], by_keeper, expired, 0);
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
  FAIL(E_INSTRUCTION_FALLBACK_NOT_FOUND, "InstructionFallbackNotFound");
}
