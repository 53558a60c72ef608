import { PublicKey } from "@solana/web3.js";
import { AccountDecodeError, type Decoded } from "./accounts";

/** SPL Token accounts, decoded by hand: two fixed layouts do not warrant another dependency. */
export interface TokenAccount {
  mint: PublicKey;
  owner: PublicKey;
  amount: bigint;
  delegate: PublicKey | null;
  state: "uninitialized" | "initialized" | "frozen";
  isNative: bigint | null;
  delegatedAmount: bigint;
  closeAuthority: PublicKey | null;
}

export interface Mint {
  mintAuthority: PublicKey | null;
  supply: bigint;
  decimals: number;
  isInitialized: boolean;
  freezeAuthority: PublicKey | null;
}

export const TOKEN_ACCOUNT_SIZE = 165;
export const MINT_SIZE = 82;
const STATES = ["uninitialized", "initialized", "frozen"] as const;

function optionKey(buf: Buffer, at: number): PublicKey | null {
  return buf.readUInt32LE(at) === 1 ? new PublicKey(buf.subarray(at + 4, at + 36)) : null;
}

/** COption tags and bools are 0 or 1; anything else is bytes of another layout (a token account cut to 82 bytes). */
function badFlag(buf: Buffer, flags: [string, number, "u32" | "u8"][]): string | null {
  for (const [name, at, width] of flags) {
    const v = width === "u32" ? buf.readUInt32LE(at) : buf[at]!;
    if (v > 1) return `${name} ${width === "u32" ? "option tag" : "flag"} at byte ${at} is ${v}, not 0 or 1`;
  }
  return null;
}

function tokenFail<T>(what: string, detail: string): Decoded<T> {
  return { ok: false, error: new AccountDecodeError("unknown", "malformed", `SPL ${what}: ${detail}`) };
}

export function decodeTokenAccount(data: Uint8Array): Decoded<TokenAccount> {
  const buf = Buffer.from(data);
  if (buf.length < TOKEN_ACCOUNT_SIZE) return tokenFail("token account", `${buf.length} bytes, expected ${TOKEN_ACCOUNT_SIZE}`);
  const state = STATES[buf[108]!];
  if (!state) return tokenFail("token account", `state byte ${buf[108]} is not 0, 1 or 2`);
  const bad = badFlag(buf, [["delegate", 72, "u32"], ["isNative", 109, "u32"], ["closeAuthority", 129, "u32"]]);
  if (bad) return tokenFail("token account", bad);
  return {
    ok: true,
    value: {
      mint: new PublicKey(buf.subarray(0, 32)),
      owner: new PublicKey(buf.subarray(32, 64)),
      amount: buf.readBigUInt64LE(64),
      delegate: optionKey(buf, 72),
      state,
      isNative: buf.readUInt32LE(109) === 1 ? buf.readBigUInt64LE(113) : null,
      delegatedAmount: buf.readBigUInt64LE(121),
      closeAuthority: optionKey(buf, 129),
    },
  };
}

export function decodeMint(data: Uint8Array): Decoded<Mint> {
  const buf = Buffer.from(data);
  if (buf.length < MINT_SIZE) return tokenFail("mint", `${buf.length} bytes, expected ${MINT_SIZE}`);
  const bad = badFlag(buf, [["mintAuthority", 0, "u32"], ["isInitialized", 45, "u8"], ["freezeAuthority", 46, "u32"]]);
  if (bad) return tokenFail("mint", bad);
  return {
    ok: true,
    value: {
      mintAuthority: optionKey(buf, 0),
      supply: buf.readBigUInt64LE(36),
      decimals: buf[44]!,
      isInitialized: buf[45] === 1,
      freezeAuthority: optionKey(buf, 46),
    },
  };
}

function writeOptionKey(buf: Buffer, at: number, key: PublicKey | null): void {
  buf.writeUInt32LE(key ? 1 : 0, at);
  if (key) key.toBuffer().copy(buf, at + 4);
}

/** The 165-byte SPL token account layout (for localnet fixtures and test controls). */
export function encodeTokenAccount(a: TokenAccount): Buffer {
  const buf = Buffer.alloc(TOKEN_ACCOUNT_SIZE);
  a.mint.toBuffer().copy(buf, 0);
  a.owner.toBuffer().copy(buf, 32);
  buf.writeBigUInt64LE(a.amount, 64);
  writeOptionKey(buf, 72, a.delegate);
  buf[108] = STATES.indexOf(a.state);
  buf.writeUInt32LE(a.isNative === null ? 0 : 1, 109);
  buf.writeBigUInt64LE(a.isNative ?? 0n, 113);
  buf.writeBigUInt64LE(a.delegatedAmount, 121);
  writeOptionKey(buf, 129, a.closeAuthority);
  return buf;
}

/** The 82-byte SPL mint layout. */
export function encodeMint(m: Mint): Buffer {
  const buf = Buffer.alloc(MINT_SIZE);
  writeOptionKey(buf, 0, m.mintAuthority);
  buf.writeBigUInt64LE(m.supply, 36);
  buf[44] = m.decimals;
  buf[45] = m.isInitialized ? 1 : 0;
  writeOptionKey(buf, 46, m.freezeAuthority);
  return buf;
}
