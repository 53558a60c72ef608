import { ComputeBudgetProgram, type PublicKey, type TransactionInstruction } from "@solana/web3.js";
import bs58 from "bs58";
import { wrapSolInstructions } from "../../programs-client";
import { type CheckedTemplate, type RequestPdaMemo, checkFill, checkTemplate } from "../risk/template-policy";
import type { SigningPolicy } from "../risk/signing-policy";
import type { MessageSigner } from "./ed25519";
import { type TxTemplate, compileTemplate, fillTemplate, transactionBytes } from "./tx-template";

/**
 * A market request's transaction, compiled once per shape (market, side, increase or decrease, mint, SOL wrap):
 * [SetComputeUnitLimit, SetComputeUnitPrice, (ATA create, transfer, SyncNative when wrapping SOL), the request].
 * Per send only the blockhash, the instructions' data and the request's two PDAs change, and only those are checked
 * against the signing policy (the rest was checked with the template).
 */
export interface RequestTemplate {
  tx: TxTemplate;
  checked: CheckedTemplate;
  wrapSol: boolean;
}

/** A sample of the request (any counter): its instruction and the two keys that change with the counter. */
export interface RequestSample {
  instruction: TransactionInstruction;
  positionRequest: PublicKey;
  positionRequestAta: PublicKey;
}

/** The instructions a request's transaction holds, with the request last; `wrapLamports` null: no wrapping. */
export function requestInstructions(payer: PublicKey, request: TransactionInstruction, units: number, microLamports: number, wrapLamports: bigint | null): TransactionInstruction[] {
  return [
    ComputeBudgetProgram.setComputeUnitLimit({ units }),
    ComputeBudgetProgram.setComputeUnitPrice({ microLamports }),
    ...(wrapLamports === null ? [] : wrapSolInstructions(payer, wrapLamports)),
    request,
  ];
}

/** Compiles and checks a template; a SigningPolicyError here means no send of this shape could be signed. */
export function requestTemplate(payer: PublicKey, sample: RequestSample, wrapSol: boolean, minUnits: number, policy: SigningPolicy): RequestTemplate {
  const instructions = requestInstructions(payer, sample.instruction, minUnits, 0, wrapSol ? 1n : null);
  const varying = { positionRequest: sample.positionRequest, positionRequestAta: sample.positionRequestAta };
  const checked = checkTemplate(payer, instructions, varying, policy);
  return { tx: compileTemplate(payer, instructions, varying), checked, wrapSol };
}

export interface RequestFill {
  blockhash: string;
  units: number;
  microLamports: number;
  /** Lamports to wrap; required exactly when the template wraps SOL. */
  wrapLamports: bigint | null;
  /** The request instruction's data (encodeIncreaseRequestData / encodeDecreaseRequestData). */
  requestData: Uint8Array;
  positionRequest: PublicKey;
  positionRequestAta: PublicKey;
}

const WRAP_ATA_CREATE = Uint8Array.of(1);
const WRAP_SYNC_NATIVE = Uint8Array.of(17);

function unitLimitData(units: number): Uint8Array {
  const b = Buffer.alloc(5);
  b[0] = 2;
  b.writeUInt32LE(units, 1);
  return b;
}

function unitPriceData(microLamports: number): Uint8Array {
  const b = Buffer.alloc(9);
  b[0] = 3;
  b.writeBigUInt64LE(BigInt(microLamports), 1);
  return b;
}

function transferData(lamports: bigint): Uint8Array {
  const b = Buffer.alloc(12);
  b.writeUInt32LE(2, 0);
  b.writeBigUInt64LE(lamports, 4);
  return b;
}

export interface SignedRequest {
  signature: string;
  bytes: Uint8Array;
}

/** Fills, checks against the signing policy and signs one send. */
export function signRequest(t: RequestTemplate, f: RequestFill, sign: MessageSigner, memo: RequestPdaMemo): SignedRequest {
  if (t.wrapSol !== (f.wrapLamports !== null)) throw new Error(`request template ${t.wrapSol ? "wraps" : "does not wrap"} SOL; wrapLamports must be ${t.wrapSol ? "set" : "null"}`);
  const wrap = f.wrapLamports === null ? [] : [WRAP_ATA_CREATE, transferData(f.wrapLamports), WRAP_SYNC_NATIVE];
  const data = [unitLimitData(f.units), unitPriceData(f.microLamports), ...wrap, f.requestData];
  const keys = { positionRequest: f.positionRequest.toBytes(), positionRequestAta: f.positionRequestAta.toBytes() };
  checkFill(t.checked, keys, data, memo);
  const message = fillTemplate(t.tx, { blockhash: bs58.decode(f.blockhash), keys, data });
  const signature = sign(message);
  return { signature: bs58.encode(signature), bytes: transactionBytes(signature, message) };
}
