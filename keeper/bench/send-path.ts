/**
 * The keeper-side send path, stage by stage, from a decided order to the bytes handed to the RPC client, in one
 * process with no RPC: the request PDAs (derived on the spot vs taken ready), the request built (the instruction
 * builder vs the data alone), the signing policy (full vs the template's per-send check), the message compiled
 * (web3.js vs the template), the signature (web3.js vs Node's Ed25519, same run), the journal record fsynced.
 *
 *   npm run bench:send-path [-- --iterations 5000]
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ComputeBudgetProgram, Connection, Keypair, TransactionMessage, VersionedTransaction } from "@solana/web3.js";
import bs58 from "bs58";
import { MAINNET, associatedTokenAddress, encodeIncreaseRequestData, positionPda } from "../../programs-client";
import { Journal } from "../ops/journal";
import { checkSigningPolicy, signingPolicyFor } from "../risk/signing-policy";
import { RequestPdaMemo, checkFill } from "../risk/template-policy";
import type { Order } from "../strategy/orders";
import { ComputeUnitCalibrator } from "../execution/cu-calibrator";
import { nodeSigner } from "../execution/ed25519";
import { buildRequest } from "../execution/request-builder";
import { CounterSource, RequestPdas } from "../execution/request-pdas";
import { RequestSigner } from "../execution/request-signer";
import { requestTemplate } from "../execution/request-template";
import { fillTemplate } from "../execution/tx-template";
import { describeMachine } from "./machine";

const i = process.argv.indexOf("--iterations");
const ITERATIONS = i >= 0 ? Number(process.argv[i + 1]) : 2_000;
if (!Number.isInteger(ITERATIONS) || ITERATIONS < 100) throw new Error(`--iterations must be an integer of at least 100, got ${process.argv[i + 1]}`);

const payer = Keypair.fromSeed(new Uint8Array(32).fill(42));
const W = payer.publicKey;
const policy = signingPolicyFor(W, { signing: { maxComputeUnitPriceMicroLamports: 5_000_000, maxComputeUnitLimit: 1_400_000, maxPriorityFeeLamports: 10_000_000 } });
const SOL = MAINNET.custodies.SOL;
const order: Extract<Order, { kind: "increase" }> = { kind: "increase", side: "long", sizeUsdDelta6: 1_500_000_000n, collateralUsd6: 500_000_000n, collateralTokenAmount: 3_000_000_000n, collateralToken: "underlying", priceSlippageUsd6: 170_000_000n, deltaTokens: 10 };
const blockhash = { blockhash: bs58.encode(new Uint8Array(32).fill(7)), lastValidBlockHeight: 1_000, fetchedAtMs: Date.now() };
const units = 80_000;
const microLamports = 10_000;

const samples = new Map<string, number[]>();
function time<T>(stage: string, f: () => T): T {
  const t0 = process.hrtime.bigint();
  const out = f();
  const us = Number(process.hrtime.bigint() - t0) / 1_000;
  let s = samples.get(stage);
  if (!s) samples.set(stage, (s = []));
  s.push(us);
  return out;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gk-send-path-"));
  const journal = new Journal<object>(path.join(dir, "journal.jsonl"));
  journal.open();
  // Never called: the calibrator's table is only read here.
  const calibrator = new ComputeUnitCalibrator(new Connection("http://127.0.0.1:1"), { margin: 1.2, minUnits: 50_000, maxUnits: 1_400_000, defaultUnits: units, window: 16 });
  const signer = new RequestSigner(payer, policy, calibrator);
  signer.prepare("SOL", order, false);
  const memo = new RequestPdaMemo();
  const background: (() => void)[] = [];
  const pdas = new RequestPdas(memo, new CounterSource(), (work) => background.push(work));
  const position = positionPda(W, MAINNET.pool, SOL.custody, SOL.custody, "long");
  const slot = { position, change: "increase" as const, mint: SOL.mint };
  const sample = buildRequest(W, "SOL", order, 0n);
  const template = requestTemplate(W, { instruction: sample.instruction, positionRequest: sample.positionRequest, positionRequestAta: associatedTokenAddress(SOL.mint, sample.positionRequest) }, false, 50_000, policy);
  const sign = nodeSigner(payer.secretKey);
  const counters = new CounterSource();

  for (let n = 0; n < ITERATIONS + 200; n++) {
    if (n === 200) samples.clear(); // warm-up: JIT, caches
    // Today's path, web3.js all the way: PDAs in the builder, full policy, compile, JavaScript Ed25519.
    const counter = counters.next();
    const built = time("web3: build request (PDAs derived)", () => buildRequest(W, "SOL", order, counter));
    const ixs = [ComputeBudgetProgram.setComputeUnitLimit({ units }), ComputeBudgetProgram.setComputeUnitPrice({ microLamports }), built.instruction];
    time("web3: signing policy (full)", () => checkSigningPolicy(ixs, W, policy));
    const tx = time("web3: compile v0", () => new VersionedTransaction(new TransactionMessage({ payerKey: W, recentBlockhash: blockhash.blockhash, instructions: ixs }).compileToV0Message()));
    time("web3: sign (JavaScript Ed25519)", () => tx.sign([payer]));
    time("web3: serialize", () => tx.serialize());

    // The new path, stage by stage (the background's PDA derivation runs between sends, as it would).
    pdas.prepare(slot);
    for (const work of background.splice(0)) work();
    const next = time("new: request PDAs (taken ready)", () => pdas.take(slot));
    const data = time("new: request data", () => encodeIncreaseRequestData({ sizeUsdDelta: order.sizeUsdDelta6, collateralTokenDelta: order.collateralTokenAmount, side: "long", priceSlippage: order.priceSlippageUsd6, jupiterMinimumOut: null, counter: next.counter }));
    const limitData = Buffer.from([2, 0x80, 0x38, 0x01, 0]);
    const priceData = Buffer.from([3, 0x10, 0x27, 0, 0, 0, 0, 0, 0]);
    const keys = { positionRequest: next.positionRequest.toBytes(), positionRequestAta: next.positionRequestAta.toBytes() };
    time("new: signing policy (per send)", () => checkFill(template.checked, keys, [limitData, priceData, data], memo));
    const message = time("new: compile (template)", () => fillTemplate(template.tx, { blockhash: bs58.decode(blockhash.blockhash), keys, data: [limitData, priceData, data] }));
    time("new: sign (Node Ed25519)", () => sign(message));

    // End to end as the keeper calls it, then the one journal record with the signed bytes.
    const { reserved, signed } = time("new: RequestSigner reserve + sign, all of the above", () => {
      const r = signer.reserve("SOL", order, false);
      return { reserved: r, signed: signer.sign(r, { purpose: "hedge", jupiterMinimumOut: null, wrapLamports: null }, blockhash, microLamports) };
    });
    const record = { t: "intent", id: `bench-SOL-${reserved.counter}`, mandate: "bench", market: "SOL", counter: reserved.counter.toString(), order, request: reserved.positionRequest.toBase58(), position: reserved.position.toBase58(), sizeBeforeUsd6: "0", createdSec: 0, createdMs: 0, estimatedFeeUsd6: "0", tx: { signature: signed.signature, txBase64: Buffer.from(signed.bytes).toString("base64"), lastValidBlockHeight: 1_000 } };
    time("new: journal record + fsync", () => journal.append(record));
    // The event loop turns between two sends: RequestSigner's background derives the next request PDAs.
    await new Promise((resolve) => setImmediate(resolve));
  }
  journal.close();
  fs.rmSync(dir, { recursive: true, force: true });

  console.log(describeMachine());
  console.log(`send path, keeper side, ${ITERATIONS} iterations (after 200 warm-up), µs:`);
  console.log(`${"stage".padEnd(52)} ${"p50".padStart(9)} ${"p99".padStart(9)}`);
  for (const [stage, s] of samples) {
    const sorted = [...s].sort((a, b) => a - b);
    console.log(`${stage.padEnd(52)} ${pct(sorted, 50).toFixed(1).padStart(9)} ${pct(sorted, 99).toFixed(1).padStart(9)}`);
  }
  const hot = ["new: RequestSigner reserve + sign, all of the above", "new: journal record + fsync"].map((k) => samples.get(k)!);
  const total = hot[0]!.map((v, k) => v + hot[1]![k]!).sort((a, b) => a - b);
  console.log(`${"new: decided order -> bytes for the RPC (sign + fsync)".padEnd(52)} ${pct(total, 50).toFixed(1).padStart(9)} ${pct(total, 99).toFixed(1).padStart(9)}`);
}

void main();
