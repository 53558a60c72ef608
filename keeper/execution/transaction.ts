import {
  ComputeBudgetProgram,
  type Connection,
  type Keypair,
  TransactionMessage,
  type TransactionInstruction,
  VersionedTransaction,
} from "@solana/web3.js";
import bs58 from "bs58";
import { customErrorCode, describeCustomError } from "../../programs-client";
import { MAX_COMPUTE_UNITS, type SigningPolicy, checkSigningPolicy } from "../risk/signing-policy";
import type { FreshBlockhash } from "./blockhash-cache";

export { MAX_COMPUTE_UNITS };

export interface ComputeUnitPolicy {
  /** Units used in simulation times this; mandatory because simulation undercounts (account growth, CPI paths). */
  margin: number;
  /** Never ask for fewer than this. */
  minUnits: number;
}

/** ceil(units × margin), floored and clamped to the protocol maximum. */
export function computeUnitLimit(simulatedUnits: number, p: ComputeUnitPolicy): number {
  return Math.min(MAX_COMPUTE_UNITS, Math.max(p.minUnits, Math.ceil(simulatedUnits * p.margin)));
}

/** A simulation failed: the order is rejected before anything is signed. */
export class SimulationRejected extends Error {
  constructor(
    readonly reason: string,
    readonly logs: readonly string[],
  ) {
    super(`simulation rejected the transaction: ${reason}`);
  }
}

export interface SignedTransaction {
  signature: string;
  bytes: Uint8Array;
  blockhash: string;
  lastValidBlockHeight: number;
  computeUnitLimit: number;
  microLamports: number;
  simulatedUnits: number;
}

/** `microLamports` null leaves the price out (the simulation probe: the price changes nothing it measures). */
function compile(instructions: readonly TransactionInstruction[], payer: Keypair, blockhash: string, units: number, microLamports: number | null, policy: SigningPolicy) {
  const price = microLamports === null ? [] : [ComputeBudgetProgram.setComputeUnitPrice({ microLamports })];
  const all = [ComputeBudgetProgram.setComputeUnitLimit({ units }), ...price, ...instructions];
  checkSigningPolicy(all, payer.publicKey, policy);
  const message = new TransactionMessage({ payerKey: payer.publicKey, recentBlockhash: blockhash, instructions: all }).compileToV0Message();
  return new VersionedTransaction(message);
}

/** Why a simulation failed, in words an operator can act on: the program error name when there is one. */
export function describeSimulationFailure(err: unknown, logs: readonly string[]): string {
  const code = customErrorCode(err, logs);
  if (code !== undefined) return describeCustomError(code);
  return typeof err === "string" ? err : JSON.stringify(err);
}

/**
 * Simulate at the policy's compute ceiling, then sign with the measured limit and the given price. The
 * signing policy (the mandate's wallet, its caps) is checked on the probe before anything is simulated and on
 * exactly the instructions that get signed; a refusal is a SigningPolicyError.
 */
export async function simulateAndSign(
  connection: Connection,
  instructions: readonly TransactionInstruction[],
  payer: Keypair,
  blockhash: FreshBlockhash,
  microLamports: number,
  cu: ComputeUnitPolicy,
  policy: SigningPolicy,
): Promise<SignedTransaction> {
  const probe = compile(instructions, payer, blockhash.blockhash, Math.min(MAX_COMPUTE_UNITS, policy.maxComputeUnitLimit), null, policy);
  const sim = await connection.simulateTransaction(probe, { sigVerify: false, replaceRecentBlockhash: true, commitment: "confirmed" });
  const logs = sim.value.logs ?? [];
  if (sim.value.err) throw new SimulationRejected(describeSimulationFailure(sim.value.err, logs), logs);
  const simulatedUnits = sim.value.unitsConsumed ?? MAX_COMPUTE_UNITS;
  const units = computeUnitLimit(simulatedUnits, cu);
  const tx = compile(instructions, payer, blockhash.blockhash, units, microLamports, policy);
  tx.sign([payer]);
  return {
    signature: bs58.encode(tx.signatures[0]!),
    bytes: tx.serialize(),
    blockhash: blockhash.blockhash,
    lastValidBlockHeight: blockhash.lastValidBlockHeight,
    computeUnitLimit: units,
    microLamports,
    simulatedUnits,
  };
}
