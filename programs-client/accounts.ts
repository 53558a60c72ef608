import { BorshAccountsCoder, type Idl } from "@coral-xyz/anchor";
import type { PublicKey } from "@solana/web3.js";
import { PROGRAM_IDS } from "./addresses";
import { fromAnchor, toAnchor } from "./convert";
import { DOVES_IDL, PERPETUALS_IDL, PYTH_RECEIVER_IDL } from "./idl";
import type { MemcmpFilter } from "./raw-account";
import type { AccountKind, AccountKinds } from "./types";

export type DecodeFailure = "wrong-owner" | "wrong-discriminator" | "too-short" | "malformed" | "unknown-account";

/** Why a buffer is not the account it was taken for. Returned, never thrown, by the decoders. */
export class AccountDecodeError extends Error {
  constructor(
    readonly account: AccountKind | "unknown",
    readonly reason: DecodeFailure,
    readonly detail: string,
  ) {
    super(`${account}: ${reason}: ${detail}`);
    this.name = "AccountDecodeError";
  }
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: AccountDecodeError };

interface KindSpec {
  idl: Idl;
  coder: BorshAccountsCoder;
  owner: PublicKey;
}

const perpsCoder = new BorshAccountsCoder(PERPETUALS_IDL);
const receiverCoder = new BorshAccountsCoder(PYTH_RECEIVER_IDL);
const dovesCoder = new BorshAccountsCoder(DOVES_IDL);

const SPECS: Record<AccountKind, KindSpec> = {
  Perpetuals: { idl: PERPETUALS_IDL, coder: perpsCoder, owner: PROGRAM_IDS.perpetuals },
  Pool: { idl: PERPETUALS_IDL, coder: perpsCoder, owner: PROGRAM_IDS.perpetuals },
  Custody: { idl: PERPETUALS_IDL, coder: perpsCoder, owner: PROGRAM_IDS.perpetuals },
  Position: { idl: PERPETUALS_IDL, coder: perpsCoder, owner: PROGRAM_IDS.perpetuals },
  PositionRequest: { idl: PERPETUALS_IDL, coder: perpsCoder, owner: PROGRAM_IDS.perpetuals },
  PriceUpdateV2: { idl: PYTH_RECEIVER_IDL, coder: receiverCoder, owner: PROGRAM_IDS.pythReceiver },
  AgPriceFeed: { idl: DOVES_IDL, coder: dovesCoder, owner: PROGRAM_IDS.doves },
};

export const ACCOUNT_KINDS = Object.keys(SPECS) as AccountKind[];

interface BorshLayout {
  getSpan(b: Buffer): number;
  decode(b: Buffer): unknown;
  encode(v: unknown, b: Buffer): number;
}

/**
 * The Borsh layout Anchor built for `kind`. Reached directly because the coder's own encode writes into a
 * fixed 1000-byte scratch buffer (too small for a Custody) and its decode does no bounds checks.
 */
function layoutOf(kind: AccountKind): BorshLayout {
  const holder = SPECS[kind].coder as unknown as { accountLayouts: Map<string, { layout: BorshLayout }> };
  return holder.accountLayouts.get(kind)!.layout;
}

const ENCODE_SCRATCH_BYTES = 10_240;

/**
 * Bytes mainnet allocates for a Position and a PositionRequest: 8 (discriminator) + `size_of` of the Rust struct,
 * which pads to its 16-byte alignment (the u128 cumulativeInterestSnapshot) and reserves every Option at full size.
 * The Borsh fields are shorter (Position 210, a PositionRequest 221–286), so the tail is zeros. Independent source:
 * sonarwatch/portfolio packages/plugins/src/plugins/jupiter/filters.ts filters 216 and 312.
 * These are for writing accounts (fixtures, tests); never filter by size: find accounts with `ownedAccountFilters`.
 */
export const POSITION_ACCOUNT_SIZE = 216;
export const POSITION_REQUEST_ACCOUNT_SIZE = 312;

/** Every account of `kind` whose owner field (offset 8, as in Position and PositionRequest) is `owner`. */
export function ownedAccountFilters(kind: "Position" | "PositionRequest", owner: PublicKey): MemcmpFilter[] {
  return [{ memcmp: { offset: 0, bytes: accountDiscriminator(kind) } }, { memcmp: { offset: 8, bytes: owner.toBuffer() } }];
}

export function accountDiscriminator(kind: AccountKind): Buffer {
  return SPECS[kind].coder.accountDiscriminator(kind);
}

export function accountOwner(kind: AccountKind): PublicKey {
  return SPECS[kind].owner;
}

function fail<T>(kind: AccountKind | "unknown", reason: DecodeFailure, detail: string): Decoded<T> {
  return { ok: false, error: new AccountDecodeError(kind, reason, detail) };
}

/**
 * Decode `data` as `kind`. Pass `owner` to also check the owning program (always do so for data read from chain).
 * A short or garbled buffer comes back as an error value; nothing throws.
 */
export function decodeAccount<K extends AccountKind>(kind: K, data: Uint8Array, owner?: PublicKey): Decoded<AccountKinds[K]> {
  const spec = SPECS[kind];
  if (owner && !owner.equals(spec.owner)) {
    return fail(kind, "wrong-owner", `owned by ${owner.toBase58()}, expected ${spec.owner.toBase58()}`);
  }
  const disc = accountDiscriminator(kind);
  if (data.length < disc.length) return fail(kind, "too-short", `${data.length} bytes, not even a discriminator`);
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (!buf.subarray(0, disc.length).equals(disc)) {
    return fail(kind, "wrong-discriminator", `starts with ${buf.subarray(0, 8).toString("hex")}, expected ${disc.toString("hex")}`);
  }
  const payload = buf.subarray(disc.length);
  const layout = layoutOf(kind);
  // buffer-layout reads past the end of a short buffer without complaint, so the length is checked first.
  let span: number;
  try {
    span = layout.getSpan(payload);
  } catch {
    span = Number.POSITIVE_INFINITY;
  }
  if (span > payload.length) {
    return fail(kind, "too-short", `${data.length} bytes end before the last field`);
  }
  try {
    return { ok: true, value: fromAnchor(spec.idl, { defined: { name: kind } }, layout.decode(payload)) as AccountKinds[K] };
  } catch (e) {
    return fail(kind, "malformed", e instanceof Error ? e.message : String(e));
  }
}

export type DetectedAccount = { [K in AccountKind]: { kind: K; value: AccountKinds[K] } }[AccountKind];

/** Find the account kind from its owner and discriminator, then decode it. */
export function detectAccount(owner: PublicKey, data: Uint8Array): Decoded<DetectedAccount> {
  const candidates = ACCOUNT_KINDS.filter((k) => SPECS[k].owner.equals(owner));
  if (candidates.length === 0) {
    return fail("unknown", "wrong-owner", `owner ${owner.toBase58()} is not a program gamma-keeper decodes`);
  }
  const head = Buffer.from(data.subarray(0, 8));
  const kind = candidates.find((k) => accountDiscriminator(k).equals(head));
  if (!kind) {
    return fail("unknown", "unknown-account", `discriminator ${head.toString("hex")} matches no account of ${owner.toBase58()}`);
  }
  const decoded = decodeAccount(kind, data, owner);
  return decoded.ok ? { ok: true, value: { kind, value: decoded.value } as DetectedAccount } : decoded;
}

/**
 * Borsh-encode an account (discriminator first). With `size`, zero-pad to the allocated account size,
 * as the program does for accounts allocated larger than their struct.
 */
export function encodeAccount<K extends AccountKind>(kind: K, value: AccountKinds[K], size?: number): Buffer {
  const spec = SPECS[kind];
  const layout = layoutOf(kind);
  const scratch = Buffer.alloc(ENCODE_SCRATCH_BYTES);
  const len = layout.encode(toAnchor(spec.idl, { defined: { name: kind } }, value), scratch);
  const body = Buffer.concat([accountDiscriminator(kind), scratch.subarray(0, len)]);
  if (size === undefined) return body;
  if (size < body.length) throw new Error(`${kind} encodes to ${body.length} bytes, more than the ${size} allocated`);
  return Buffer.concat([body, Buffer.alloc(size - body.length)]);
}
