/**
 * What the stand-in program should charge, computed here from the public reference code
 * (../shared/reference/jupiter-perps-fees.md: julianfssen/jupiter-perps-anchor-idl-parsing src/examples, sonarwatch)
 * in plain bigint arithmetic, independently of the C; the events a fill transaction carries; and the world the
 * stand-in tests share.
 */
import { BorshCoder } from "@coral-xyz/anchor";
import { ComputeBudgetProgram, Connection, PublicKey, Transaction, type TransactionInstruction, sendAndConfirmTransaction } from "@solana/web3.js";
import bs58 from "bs58";
import {
  type AccountKinds,
  MAINNET,
  PROGRAM_IDS,
  createDecreasePositionMarketRequest,
  createIncreasePositionMarketRequest,
  decodeAccount,
} from "../../programs-client";
import { PERPETUALS_IDL } from "../../programs-client/idl";
import type { FillKeeperKnobs } from "../../localnet/fill-keeper/fill-keeper";
import { startLocalWorld } from "../../localnet/world";
import { fillOutcomeFor, fundedKeypair, rpc } from "../helpers/localnet";

const { SOL, USDC } = MAINNET.custodies;

type Custody = AccountKinds["Custody"];

const RATE_POWER = 1_000_000_000n;
const BPS_POWER = 10_000n;
const divCeil = (a: bigint, b: bigint) => (a + b - 1n) / b;

/** JF getHourlyBorrowRate: the jump-rate curve on (locked + debt) / (owned + debt), 1e9 = 100 %/hour; an unused
 * custody pays the curve's minimum. */
export function hourlyBorrowRate(c: Custody): bigint {
  const rawDebt = c.debt - c.borrowLendInterestsAccured;
  const debt = rawDebt > 0n ? divCeil(rawDebt, RATE_POWER) : 0n;
  const owned = c.assets.owned + debt;
  const locked = c.assets.locked + debt;
  const inUse = owned > 0n && locked > 0n;
  if (c.fundingRateState.hourlyFundingDbps !== 0n) return inUse ? divCeil(locked * ((c.fundingRateState.hourlyFundingDbps * RATE_POWER) / 100_000n), owned) : 0n;
  const { minRateBps, maxRateBps, targetRateBps, targetUtilizationRate } = c.jumpRateState;
  const util = inUse ? (locked * RATE_POWER) / owned : 0n;
  const yearlyBps =
    util <= targetUtilizationRate
      ? divCeil((targetRateBps - minRateBps) * util, targetUtilizationRate) + minRateBps
      : divCeil((maxRateBps - targetRateBps) * (util - targetUtilizationRate), RATE_POWER - targetUtilizationRate) + targetRateBps;
  return (yearlyBps * RATE_POWER) / BPS_POWER / 8760n;
}

/** JF getCumulativeInterest: the custody's counter advanced to `nowSec` on its current utilisation. */
export function cumulativeInterestAt(c: Custody, nowSec: bigint): bigint {
  const { cumulativeInterestRate, lastUpdate } = c.fundingRateState;
  if (nowSec <= lastUpdate || c.assets.owned === 0n) return cumulativeInterestRate;
  return cumulativeInterestRate + divCeil(hourlyBorrowRate(c) * (nowSec - lastUpdate), 3600n);
}

/** JF getBorrowFee: divCeil((cumulative - snapshot) * sizeUsd, 1e9). */
export function borrowFeeUsd(sizeUsd: bigint, cumulative: bigint, snapshot: bigint): bigint {
  return sizeUsd === 0n || cumulative <= snapshot ? 0n : divCeil((cumulative - snapshot) * sizeUsd, RATE_POWER);
}

/** JF getAdditivePriceImpactFeeBps without the imbalance part: divCeil(amount * (base + ceil-linear bps), 1e4). */
export function positionFeeUsd(c: Custody, baseBps: bigint, amount: bigint): { positionFeeUsd: bigint; priceImpactFeeUsd: bigint; linearBps: bigint } {
  if (amount === 0n) return { positionFeeUsd: 0n, priceImpactFeeUsd: 0n, linearBps: 0n };
  const scalar = c.pricing.tradeImpactFeeScalar;
  const linearBps = scalar === 0n ? 0n : divCeil(amount * BPS_POWER, scalar);
  return { positionFeeUsd: divCeil(amount * (baseBps + linearBps), BPS_POWER), priceImpactFeeUsd: divCeil(amount * linearBps, BPS_POWER), linearBps };
}

export async function readCustody(connection: Connection, address: PublicKey): Promise<Custody> {
  const a = await connection.getAccountInfo(address);
  const d = a && decodeAccount("Custody", a.data, a.owner);
  if (!d?.ok) throw new Error(`custody ${address.toBase58()} unreadable`);
  return d.value;
}

export async function readPosition(connection: Connection, address: PublicKey): Promise<AccountKinds["Position"]> {
  const a = await connection.getAccountInfo(address);
  const d = a && decodeAccount("Position", a.data, a.owner);
  if (!d?.ok) throw new Error(`position ${address.toBase58()} unreadable`);
  return d.value;
}

const EVENT_IX_TAG = Buffer.from("e445a52e51cb9a1d", "hex");
const coder = new BorshCoder(PERPETUALS_IDL);
export type EventFields = Record<string, unknown>;

/** The program's emit_cpi events in a confirmed transaction, in order: name and fields (u64 as bigint). */
export async function eventsOf(connection: Connection, signature: string): Promise<{ name: string; data: EventFields; authority: PublicKey }[]> {
  const tx = await connection.getTransaction(signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
  if (!tx?.meta) throw new Error(`getTransaction(${signature}) returned no transaction with meta`);
  const keys = tx.transaction.message.staticAccountKeys;
  const out: { name: string; data: EventFields; authority: PublicKey }[] = [];
  for (const group of tx.meta.innerInstructions ?? []) {
    for (const ix of group.instructions) {
      const data = Buffer.from(bs58.decode(ix.data));
      if (!keys[ix.programIdIndex]!.equals(PROGRAM_IDS.perpetuals) || !data.subarray(0, 8).equals(EVENT_IX_TAG)) continue;
      const event = PERPETUALS_IDL.events!.find((e) => Buffer.from(e.discriminator).equals(data.subarray(8, 16)));
      if (!event) throw new Error(`unknown event discriminator ${data.subarray(8, 16).toString("hex")}`);
      const decoded = coder.types.decode(event.name, data.subarray(16)) as Record<string, unknown>;
      const fields = Object.fromEntries(Object.entries(decoded).map(([k, v]) => [k, toPlain(v)]));
      out.push({ name: event.name, data: fields, authority: keys[ix.accounts[0]!]! });
    }
  }
  return out;
}

function toPlain(v: unknown): unknown {
  if (v && typeof v === "object" && "toArrayLike" in v) return BigInt((v as { toString(): string }).toString());
  if (v instanceof PublicKey) return v.toBase58();
  return v;
}

/** Compute units of the first top-level call of the perps program in a transaction's logs (its CPIs included). */
export function perpsUnits(logs: string[]): number {
  const program = PROGRAM_IDS.perpetuals.toBase58();
  const stack: string[] = [];
  for (const line of logs) {
    const invoke = /^Program (\S+) invoke \[(\d+)\]$/.exec(line);
    if (invoke) stack.push(invoke[1]!);
    const consumed = /^Program (\S+) consumed (\d+) of \d+ compute units$/.exec(line);
    if (consumed && consumed[1] === program && stack.length === 1) return Number(consumed[2]);
    if (/^Program \S+ (success|failed)/.test(line)) stack.pop();
  }
  throw new Error(`no top-level call of ${program} in the logs`);
}

/** The one event named `name` in a transaction. */
export async function eventOf(connection: Connection, signature: string, name: string): Promise<EventFields> {
  const found = (await eventsOf(connection, signature)).filter((e) => e.name === name);
  if (found.length !== 1) throw new Error(`transaction ${signature} has ${found.length} ${name}s`);
  return found[0]!.data;
}

/** A wallet on a fresh localnet world (fast slots and fills) holding 100 wrapped SOL and 100,000 USDC, with the
 * request builders and the waits the stand-in tests share. */
export async function standInWorld(fillKeeper: Partial<FillKeeperKnobs> = {}) {
  const world = await startLocalWorld({ port: 0, slotMs: 100, fillKeeper: { delayMs: 100, ...fillKeeper }, priceDriver: { intervalMs: 300 } });
  const connection = new Connection(world.url, "confirmed");
  const wallet = await fundedKeypair(connection, 10);
  for (const [mint, amount] of [
    [SOL.mint, 100_000_000_000],
    [USDC.mint, 100_000_000_000],
  ] as const) {
    const r = await rpc(world.url, "surfnet_setTokenAccount", [wallet.publicKey.toBase58(), mint.toBase58(), { amount }]);
    if (r.error) throw new Error(`funding ${mint.toBase58()}: ${r.error.message}`);
  }
  let counter = 0n;
  const send = (...ixs: TransactionInstruction[]) =>
    sendAndConfirmTransaction(connection, new Transaction().add(ComputeBudgetProgram.setComputeUnitLimit({ units: 400_000 }), ...ixs), [wallet]);
  /** A market request on SOL: a long collateralised in SOL, or a short in USDC; `collateral` in the token's base units. */
  const increase = (side: "long" | "short", sizeUsd: bigint, collateral: bigint) => {
    const collateralCustody = side === "long" ? SOL : USDC;
    return createIncreasePositionMarketRequest({
      owner: wallet.publicKey,
      pool: MAINNET.pool,
      custody: SOL.custody,
      collateralCustody: collateralCustody.custody,
      inputMint: collateralCustody.mint,
      side,
      sizeUsdDelta: sizeUsd,
      collateralTokenDelta: collateral,
      priceSlippage: side === "long" ? 1_000_000_000n : 1n,
      jupiterMinimumOut: null,
      counter: ++counter,
    });
  };
  const decrease = (side: "long" | "short", sizeUsd: bigint, collateralUsd: bigint, entire = false) => {
    const collateralCustody = side === "long" ? SOL : USDC;
    return createDecreasePositionMarketRequest({
      owner: wallet.publicKey,
      pool: MAINNET.pool,
      custody: SOL.custody,
      collateralCustody: collateralCustody.custody,
      side,
      desiredMint: collateralCustody.mint,
      collateralUsdDelta: collateralUsd,
      sizeUsdDelta: sizeUsd,
      priceSlippage: side === "long" ? 1n : 1_000_000_000n,
      jupiterMinimumOut: null,
      entirePosition: entire ? true : null,
      counter: ++counter,
    });
  };
  /** Send a request and wait for the fill keeper's outcome. */
  const fill = async (req: { instruction: TransactionInstruction; positionRequest: PublicKey }) => {
    const outcome = fillOutcomeFor(world, req.positionRequest);
    await send(req.instruction);
    return outcome;
  };
  /** Jump the chain's clock forward and restamp the oracles at the new time. */
  const travel = async (seconds: number) => {
    const r = await rpc(world.url, "surfnet_timeTravel", [{ absoluteTimestamp: Number(world.chain.nowSec()) * 1000 + seconds * 1000 }]);
    if (r.error) throw new Error(`timeTravel: ${r.error.message}`);
    world.prices.tick();
  };
  const setParams = async (params: Record<string, unknown>) => {
    const r = await rpc(world.url, "localnet_setPerpsParams", [params]);
    if (r.error) throw new Error(`localnet_setPerpsParams ${JSON.stringify(params)}: ${r.error.message}`);
  };
  return { world, connection, wallet, send, increase, decrease, fill, travel, setParams };
}
