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

function tokenFail<T>(what: string, detail: string): Decoded<T> {
  return { ok: false, error: new AccountDecodeError("unknown", "malformed", `SPL ${what}: ${detail}`) };
}

export function decodeTokenAccount(data: Uint8Array): Decoded<TokenAccount> {
  const buf = Buffer.from(data);
  if (buf.length < TOKEN_ACCOUNT_SIZE) return tokenFail("token account", `${buf.length} bytes, expected ${TOKEN_ACCOUNT_SIZE}`);
  const state = STATES[buf[108]!];
  if (!state) return tokenFail("token account", `state byte ${buf[108]} is not 0, 1 or 2`);
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
