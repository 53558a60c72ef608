import { PublicKey } from "@solana/web3.js";
import { PROGRAM_IDS } from "./addresses";
import type { RequestChange, Side } from "./types";

const PERPS = PROGRAM_IDS.perpetuals;

function pda(seeds: (Buffer | Uint8Array)[], program: PublicKey = PERPS): PublicKey {
  return PublicKey.findProgramAddressSync(seeds, program)[0];
}

const SIDE_BYTE: Record<Exclude<Side, "none">, number> = { long: 1, short: 2 };
const CHANGE_BYTE: Record<Exclude<RequestChange, "none">, number> = { increase: 1, decrease: 2 };

export function perpetualsPda(): PublicKey {
  return pda([Buffer.from("perpetuals")]);
}

export function transferAuthorityPda(): PublicKey {
  return pda([Buffer.from("transfer_authority")]);
}

/** Anchor's emit_cpi signer: events are inner instructions signed by this PDA. */
export function eventAuthorityPda(): PublicKey {
  return pda([Buffer.from("__event_authority")]);
}

export function poolPda(name = "Pool"): PublicKey {
  return pda([Buffer.from("pool"), Buffer.from(name)]);
}

export function lpTokenMintPda(pool: PublicKey): PublicKey {
  return pda([Buffer.from("lp_token_mint"), pool.toBuffer()]);
}

export function custodyPda(pool: PublicKey, mint: PublicKey): PublicKey {
  return pda([Buffer.from("custody"), pool.toBuffer(), mint.toBuffer()]);
}

export function custodyTokenAccountPda(pool: PublicKey, mint: PublicKey): PublicKey {
  return pda([Buffer.from("custody_token_account"), pool.toBuffer(), mint.toBuffer()]);
}

/** One position per (owner, pool, market custody, collateral custody, side). */
export function positionPda(
  owner: PublicKey,
  pool: PublicKey,
  custody: PublicKey,
  collateralCustody: PublicKey,
  side: Exclude<Side, "none">,
): PublicKey {
  return pda([
    Buffer.from("position"),
    owner.toBuffer(),
    pool.toBuffer(),
    custody.toBuffer(),
    collateralCustody.toBuffer(),
    Buffer.from([SIDE_BYTE[side]]),
  ]);
}

/** The counter is part of the seed, so each request of a position needs a counter of its own. */
export function positionRequestPda(position: PublicKey, counter: bigint, change: Exclude<RequestChange, "none">): PublicKey {
  if (counter < 0n || counter > 0xffff_ffff_ffff_ffffn) throw new RangeError(`counter ${counter} is not a u64`);
  const counterLe = Buffer.alloc(8);
  counterLe.writeBigUInt64LE(counter);
  return pda([Buffer.from("position_request"), position.toBuffer(), counterLe, Buffer.from([CHANGE_BYTE[change]])]);
}

/** Associated token account; `owner` may be off-curve (a PDA such as a position request). */
export function associatedTokenAddress(mint: PublicKey, owner: PublicKey): PublicKey {
  return pda([owner.toBuffer(), PROGRAM_IDS.token.toBuffer(), mint.toBuffer()], PROGRAM_IDS.associatedToken);
}

/** Pyth sponsored price feed account: a PDA of the push-oracle program from (shard u16 LE, feed id). */
export function pythPriceFeedPda(feedIdHex: string, shard = 0, pushOracle: PublicKey = PROGRAM_IDS.pythPushOracle): PublicKey {
  const feedId = Buffer.from(feedIdHex, "hex");
  if (feedId.length !== 32) throw new RangeError(`feed id ${feedIdHex} is not 32 bytes of hex`);
  const shardLe = Buffer.alloc(2);
  shardLe.writeUInt16LE(shard);
  return pda([shardLe, feedId], pushOracle);
}
