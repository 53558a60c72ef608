import { ComputeBudgetProgram, PublicKey, type VersionedMessage } from "@solana/web3.js";
import { sameBytes } from "./wire";

export const LAMPORTS_PER_SIGNATURE = 5000n;
const MAX_COMPUTE_UNIT_LIMIT = 1_400_000n;
const DEFAULT_UNITS_PER_INSTRUCTION = 200_000n;
const DEFAULT_UNITS_PER_BUILTIN = 3_000n;
const SET_COMPUTE_UNIT_LIMIT = 2;
const SET_COMPUTE_UNIT_PRICE = 3;

const COMPUTE_BUDGET_PROGRAM = ComputeBudgetProgram.programId.toBytes();
// Programs whose instructions Agave budgets at 3,000 CU by default instead of 200,000.
const BUILTINS = [
  "11111111111111111111111111111111",
  "ComputeBudget111111111111111111111111111111",
  "Vote111111111111111111111111111111111111111",
  "Stake11111111111111111111111111111111111111",
  "BPFLoader1111111111111111111111111111111111",
  "BPFLoader2111111111111111111111111111111111",
  "BPFLoaderUpgradeab1e11111111111111111111111",
  "AddressLookupTab1e1111111111111111111111111",
  "Ed25519SigVerify111111111111111111111111111",
  "KeccakSecp256k11111111111111111111111111111",
  "Secp256r1SigVerify1111111111111111111111111",
].map((id) => new PublicKey(id).toBytes());

export interface ComputeBudget {
  /** The requested compute-unit limit (explicit, or Agave's default for the instructions). */
  unitLimit: bigint;
  /** Micro-lamports per compute unit; 0 without a SetComputeUnitPrice instruction. */
  unitPriceMicroLamports: bigint;
}

/**
 * The compute budget a message asks for, read from its ComputeBudget instructions as the runtime reads them.
 * `keys` are the message's static keys as bytes (the validator has them from the wire; a PublicKey converts back
 * through a bignum every time it is compared or encoded).
 */
export function computeBudgetOf(message: Pick<VersionedMessage, "compiledInstructions">, keys: Uint8Array[]): ComputeBudget {
  let explicitLimit: bigint | undefined;
  let price = 0n;
  let defaultLimit = 0n;
  for (const ix of message.compiledInstructions) {
    const program = keys[ix.programIdIndex];
    const data = Buffer.from(ix.data.buffer, ix.data.byteOffset, ix.data.byteLength);
    if (program && sameBytes(program, COMPUTE_BUDGET_PROGRAM)) {
      if (data[0] === SET_COMPUTE_UNIT_LIMIT && data.length >= 5) explicitLimit = BigInt(data.readUInt32LE(1));
      if (data[0] === SET_COMPUTE_UNIT_PRICE && data.length >= 9) price = data.readBigUInt64LE(1);
    }
    defaultLimit += program && BUILTINS.some((id) => sameBytes(program, id)) ? DEFAULT_UNITS_PER_BUILTIN : DEFAULT_UNITS_PER_INSTRUCTION;
  }
  const limit = explicitLimit ?? defaultLimit;
  return { unitLimit: limit < MAX_COMPUTE_UNIT_LIMIT ? limit : MAX_COMPUTE_UNIT_LIMIT, unitPriceMicroLamports: price };
}

/** Priority fee in lamports: ceil(price x requested limit / 1e6), charged whether or not the units are used. */
export function priorityFeeLamports(budget: ComputeBudget): bigint {
  return (budget.unitPriceMicroLamports * budget.unitLimit + 999_999n) / 1_000_000n;
}

/** The whole fee a message pays: 5,000 lamports per signature plus its priority fee. */
export function messageFeeLamports(message: Pick<VersionedMessage, "header">, budget: ComputeBudget): bigint {
  return LAMPORTS_PER_SIGNATURE * BigInt(message.header.numRequiredSignatures) + priorityFeeLamports(budget);
}
