/* Byte offsets of the Jupiter Perpetuals accounts the stand-in reads and writes, as on mainnet
 * (idl/jupiter_perpetuals.json; checked against real account dumps by the decoder tests). */
#pragma once

/* Custody (2000 bytes allocated). */
#define CUSTODY_POOL 8
#define CUSTODY_MINT 40
#define CUSTODY_TOKEN_ACCOUNT 72
#define CUSTODY_DECIMALS 104
#define CUSTODY_IS_STABLE 105
#define CUSTODY_PYTH_ORACLE 106
#define CUSTODY_MAX_PRICE_AGE_SEC 147
#define CUSTODY_TRADE_IMPACT_FEE_SCALAR 151
#define CUSTODY_MAX_LEVERAGE 175
#define CUSTODY_MAX_GLOBAL_LONG_SIZES 183
#define CUSTODY_MAX_GLOBAL_SHORT_SIZES 191
#define CUSTODY_PERMISSIONS 199
#define CUSTODY_ASSETS_OWNED 222
#define CUSTODY_ASSETS_LOCKED 230
#define CUSTODY_GLOBAL_SHORT_SIZES 246
#define CUSTODY_GLOBAL_SHORT_AVERAGE_PRICES 254
#define CUSTODY_CUMULATIVE_INTEREST_RATE 262 /* fundingRateState, u128 */
#define CUSTODY_FUNDING_LAST_UPDATE 278
#define CUSTODY_HOURLY_FUNDING_DBPS 286
#define CUSTODY_INCREASE_POSITION_BPS 296
#define CUSTODY_DECREASE_POSITION_BPS 304
#define CUSTODY_MAX_POSITION_SIZE_USD 312
#define CUSTODY_JUMP_MIN_RATE_BPS 352
#define CUSTODY_JUMP_MAX_RATE_BPS 360
#define CUSTODY_JUMP_TARGET_RATE_BPS 368
#define CUSTODY_JUMP_TARGET_UTILIZATION 376
#define CUSTODY_DOVES_AG_ORACLE 384
#define CUSTODY_IMPACT_OPEN_INTEREST 416 /* priceImpactBuffer.openInterest: i64[60] */
#define CUSTODY_IMPACT_LAST_UPDATED 896
#define CUSTODY_IMPACT_FEE_FACTOR 904
#define CUSTODY_IMPACT_EXPONENT 912 /* f32 */
#define CUSTODY_IMPACT_THRESHOLD 916
#define CUSTODY_IMPACT_MAX_FEE_BPS 924
#define CUSTODY_DEBT 1004                        /* u128 */
#define CUSTODY_BORROW_LEND_INTERESTS_ACCURED 1020 /* u128 */
#define CUSTODY_DISABLE_CLOSE_POSITION_REQUEST 1084
#define CUSTODY_MIN_SIZE 1117

/* Permissions, in Perpetuals (after the discriminator) and in each Custody. */
#define PERPETUALS_PERMISSIONS 8
#define ALLOW_INCREASE_POSITION 3
#define ALLOW_DECREASE_POSITION 4
#define ALLOW_COLLATERAL_WITHDRAWAL 5
#define ALLOW_LIQUIDATE_POSITION 6

/* Pool: fees, maxRequestExecutionSec and disableClosePositionRequest follow the name and custody list, so their
 * offsets are computed from the end of the list. */
#define POOL_NAME 8
#define POOL_FEES_FROM_LIST_END 56                 /* aumUsd u128, limit {u128, u128, u64} */
#define POOL_MAX_REQUEST_EXECUTION_SEC_FROM_FEES 96 /* fees (9 x u64), poolApr (3 x 8) */
#define POOL_DISABLE_CLOSE_FROM_MAX_REQUEST_SEC 67 /* i64, bump, lpTokenBump, inceptionTime, Secp256k1Pubkey (33), aumUsdUpdatedAt, maxTriggerPriceDiffBps */

/* Account sizes. Anchor allocates 8 (discriminator) + std::mem::size_of::<T>() of the Rust struct, not the Borsh
 * length. Rust orders a struct's fields freely (it puts the widest first), so size_of is the sum of the fields'
 * in-memory sizes rounded up to the struct's alignment (8; 16 would give the same two numbers):
 * - Position: 4 pubkeys (128) + 7 eight-byte fields (56) + u128 snapshot (16) + side and bump (2) = 202 -> 208,
 *   so 216 allocated for 210 bytes of Borsh fields.
 * - PositionRequest: 5 pubkeys (160) + 4 eight-byte fields (32) + 3 one-byte enums (3) + four Option<u64> (16 each
 *   in memory: tag, padding, value; 64) + two Option<bool> (1 each: bool's spare values hold None; 2) + executed (1)
 *   + counter (8) + bump (1) + Option<Pubkey> (33) = 304, so 312 allocated; its Borsh encoding is 221..286 bytes.
 * Mainnet's sizes, independently: sonarwatch/portfolio packages/plugins/src/plugins/jupiter/filters.ts (216, 312). */
#define POSITION_SIZE 216
#define POSITION_FIELDS_SIZE 210
#define POSITION_OWNER 8
#define POSITION_POOL 40
#define POSITION_CUSTODY 72
#define POSITION_COLLATERAL_CUSTODY 104
#define POSITION_OPEN_TIME 136
#define POSITION_UPDATE_TIME 144
#define POSITION_SIDE 152
#define POSITION_PRICE 153
#define POSITION_SIZE_USD 161
#define POSITION_COLLATERAL_USD 169
#define POSITION_REALISED_PNL_USD 177
#define POSITION_CUMULATIVE_INTEREST_SNAPSHOT 185 /* u128 */
#define POSITION_LOCKED_AMOUNT 201
#define POSITION_BUMP 209

/* PositionRequest: a fixed head, then Borsh Options (1 byte when None); allocated 312 (see above). */
#define REQUEST_SIZE 312
#define REQUEST_OWNER 8
#define REQUEST_POOL 40
#define REQUEST_CUSTODY 72
#define REQUEST_POSITION 104
#define REQUEST_MINT 136
#define REQUEST_OPEN_TIME 168
#define REQUEST_UPDATE_TIME 176
#define REQUEST_SIZE_USD_DELTA 184
#define REQUEST_COLLATERAL_DELTA 192
#define REQUEST_CHANGE 200
#define REQUEST_TYPE 201
#define REQUEST_SIDE 202
#define REQUEST_OPTIONS 203

/* SPL token account. */
#define TOKEN_ACCOUNT_MINT 0
#define TOKEN_ACCOUNT_OWNER 32
#define TOKEN_ACCOUNT_AMOUNT 64
#define TOKEN_ACCOUNT_SIZE 165

/* Oracles. */
#define DOVES_AG_PRICE 168
#define DOVES_AG_EXPO 176
#define DOVES_AG_TIMESTAMP 177
#define DOVES_AG_SIZE 185
#define PYTH_VERIFICATION_LEVEL 40

#define SIDE_LONG 1
#define SIDE_SHORT 2
#define CHANGE_INCREASE 1
#define CHANGE_DECREASE 2

/* Anchor error codes of the real program (6000 + index). */
#define E_MATH_OVERFLOW 6000
#define E_INVALID_ORACLE_ACCOUNT 6002
#define E_STALE_ORACLE_PRICE 6003
#define E_INVALID_ORACLE_PRICE 6004
#define E_INVALID_COLLATERAL_ACCOUNT 6006
#define E_INVALID_COLLATERAL_AMOUNT 6007
#define E_INVALID_POSITION_STATE 6009
#define E_INVALID_INSTRUCTION 6012
#define E_INVALID_ARGUMENT 6015
#define E_INVALID_POSITION_REQUEST 6016
#define E_INVALID_POSITION_REQUEST_INPUT_ATA 6017
#define E_INVALID_MINT 6018
#define E_INSUFFICIENT_AMOUNT_RETURNED 6020
#define E_MAX_PRICE_SLIPPAGE 6021
#define E_MAX_LEVERAGE 6022
#define E_CUSTODY_AMOUNT_LIMIT 6023
#define E_PERSONAL_POOL_AMOUNT_LIMIT 6025
#define E_INSTRUCTION_NOT_ALLOWED 6027
#define E_JUPITER_PROGRAM_MISMATCH 6028
#define E_ADDRESS_MISMATCH 6030
#define E_INVALID_KEEPER 6034
#define E_EXCEED_EXECUTION_PERIOD 6035
#define E_REQUEST_UPDATED_TOO_RECENT 6042
#define E_CANNOT_LIQUIDATE 6063
#define E_INVALID_CUSTODY_CONFIG 6013
/* Anchor's own constraint errors. */
#define E_INSTRUCTION_FALLBACK_NOT_FOUND 101
#define E_ACCOUNT_NOT_SIGNER 3010
#define E_CONSTRAINT_SIGNER 2002
#define E_CONSTRAINT_SEEDS 2006
#define E_ACCOUNT_NOT_MUTABLE 2000
#define E_ACCOUNT_OWNED_BY_WRONG_PROGRAM 3007
#define E_ACCOUNT_NOT_ENOUGH_KEYS 3005
