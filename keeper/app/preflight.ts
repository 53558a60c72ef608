import { type Connection, type Keypair, PublicKey, type TransactionInstruction } from "@solana/web3.js";
import {
  MAINNET,
  type MarketSymbol,
  NATIVE_MINT,
  type PositionRequest,
  associatedTokenAddress,
  closePositionRequest3,
  decodeAccount,
  decodeTokenAccount,
  wrapSolInstructions,
} from "../../programs-client";
import { ConnectionAccountSource } from "../market/account-source";
import { type MarketSnapshot, readMarketSnapshot } from "../market/reader";
import { signingPolicyFor } from "../risk/signing-policy";
import { type Order, type OrderContext, orderFor } from "../strategy/orders";
import { simulateAndSign } from "../execution/transaction";
import type { SwapQuoter } from "../execution/swap-quote";
import type { KeeperConfig, MandateConfig } from "./config";
import { buildRequest, needsSwap, requestAddresses } from "../execution/request-builder";

/**
 * The pre-flight: the exact requests the keeper would send now, for each mandate, market and collateral path, run on
 * a fork against the real program, then cancelled by their owner; each created request must decode as the order said
 * and each cancel must return the collateral. Nothing here may reach a real cluster: the caller hands a fork, and
 * `assertFork` refuses an endpoint that cannot move its clock (no real cluster can).
 */

export interface PreflightRow {
  mandate: string;
  market: MarketSymbol;
  request: string;
  computeUnits: number | null;
  feeLamports: number | null;
  result: "pass" | "fail" | "skip";
  detail: string;
}

/** The fork's test controls the pre-flight needs: only a fork has them. */
export interface ForkControls {
  /** Move the fork's clock to `unixMs` (surfpool's and the localnet's surfnet_timeTravel). */
  timeTravel(unixMs: number): Promise<void>;
}

export interface PreflightDeps {
  connection: Connection;
  fork: ForkControls;
  cfg: KeeperConfig;
  keypairs: ReadonlyMap<string, Keypair>;
  quoter: SwapQuoter;
  nowMs: () => number;
  /** Progress, one line per step. */
  progress?: (line: string) => void;
  /** The request builder: the keeper's own unless a test swaps in a faulty one to see the pre-flight catch it. */
  build?: typeof buildRequest;
}

/** The smallest size worth sending on Jupiter (its $10 minimum collateral at 1x) or the mandate's, whichever is larger. */
const PROBE_USD = 11;

export async function runPreflight(d: PreflightDeps): Promise<PreflightRow[]> {
  const rows: PreflightRow[] = [];
  let seq = 0n;
  const counterBase = BigInt(d.nowMs()) * 1000n;
  for (const m of d.cfg.mandates) {
    const key = d.keypairs.get(m.name);
    if (!key) throw new Error(`mandate ${m.name}: no signer loaded; run \`gamma-keeper config check\` for the reason`);
    const snap = await readMarketSnapshot(new ConnectionAccountSource(d.connection), {
      owner: key.publicKey,
      markets: m.markets,
      nowSec: BigInt(Math.floor(d.nowMs() / 1000)),
    });
    for (const market of m.markets) {
      for (const probe of probesFor(m, market, snap)) {
        d.progress?.(`${m.name} ${market}: ${probe.label}`);
        rows.push(await runProbe(d, m, key, market, snap, probe, counterBase + seq++));
      }
    }
  }
  return rows;
}

interface Probe {
  label: string;
  /** Signed token change, or null with the reason it is skipped. */
  changeTokens: number | null;
  skip?: string;
}

/** The requests a mandate can send on a market: a short and a long opened (each collateral path), a decrease of what is open. */
function probesFor(m: MandateConfig, market: MarketSymbol, snap: MarketSnapshot): Probe[] {
  const view = snap.markets.find((v) => v.symbol === market);
  const mark = view?.markPriceUsd6 ?? null;
  if (mark === null) return [{ label: "market", changeTokens: null, skip: `no readable oracle for ${market}: ${snap.issues.join("; ")}` }];
  const probeTokens = Math.max(PROBE_USD, m.trade.minTradeUsd) / (Number(mark) / 1e6);
  const open = snap.positions.filter((p) => p.open && p.market === market);
  const probes: Probe[] = [
    { label: "increase short (USDC)", changeTokens: -probeTokens },
    { label: `increase long (${m.longCollateral === "usdc" ? "USDC, swapped" : market})`, changeTokens: probeTokens },
  ];
  if (open.length === 0) probes.push({ label: "decrease", changeTokens: null, skip: "the wallet has no open position to decrease here" });
  for (const p of open) {
    // Reduce the open side by the probe (or all of it if smaller): a decrease request on the wallet's real position.
    const held = Number(p.deltaBase < 0n ? -p.deltaBase : p.deltaBase) / 10 ** p.decimals;
    const tokens = Math.min(probeTokens, held);
    probes.push({ label: `decrease ${p.position.side}`, changeTokens: p.position.side === "long" ? -tokens : tokens });
  }
  return probes;
}

function orderContext(m: MandateConfig, market: MarketSymbol, snap: MarketSnapshot, probe: Probe): OrderContext | null {
  const view = snap.markets.find((v) => v.symbol === market)!;
  if (!view.custody.ok || view.markPriceUsd6 === null) return null;
  const open = (side: "long" | "short") => {
    const p = snap.positions.find((x) => x.open && x.market === market && x.position.side === side);
    return p ? { side, sizeUsd6: p.position.sizeUsd, collateralUsd6: p.position.collateralUsd, entryPriceUsd6: p.position.price } : null;
  };
  // An open probe must open, not reduce: present it with no position on the other side.
  const opening = probe.label.startsWith("increase");
  return {
    markPriceUsd6: view.markPriceUsd6,
    decimals: view.custody.value.decimals,
    long: opening ? null : open("long"),
    short: opening ? null : open("short"),
    targetLeverageBps: BigInt(Math.round(m.targetLeverage * 10_000)),
    slippageBps: BigInt(m.slippageBps),
    longCollateral: m.longCollateral,
    usdcDecimals: MAINNET.custodies.USDC.decimals,
  };
}

async function tokenBalance(connection: Connection, account: PublicKey): Promise<bigint> {
  const info = await connection.getAccountInfo(account, "confirmed");
  const t = info && decodeTokenAccount(info.data);
  return t && t.ok ? t.value.amount : 0n;
}

/** What a created request must say, field by field, from the order that built it. */
function requestMismatches(r: PositionRequest, order: Order, owner: PublicKey, counter: bigint): string[] {
  const want: [string, unknown, unknown][] = [
    ["owner", r.owner.toBase58(), owner.toBase58()],
    ["counter", r.counter, counter],
    ["requestChange", r.requestChange, order.kind],
    ["side", r.side, order.side],
    ["sizeUsdDelta", r.sizeUsdDelta, order.sizeUsdDelta6],
    ["collateralDelta", r.collateralDelta, order.kind === "increase" ? order.collateralTokenAmount : order.collateralUsdDelta6],
    ["priceSlippage", r.priceSlippage, order.priceSlippageUsd6],
  ];
  return want.filter(([, got, expected]) => got !== expected).map(([field, got, expected]) => `${field} ${String(got)}, expected ${String(expected)}`);
}

async function runProbe(d: PreflightDeps, m: MandateConfig, key: Keypair, market: MarketSymbol, snap: MarketSnapshot, probe: Probe, counter: bigint): Promise<PreflightRow> {
  const row = (result: PreflightRow["result"], detail: string, computeUnits: number | null = null, feeLamports: number | null = null): PreflightRow => ({
    mandate: m.name,
    market,
    request: probe.label,
    computeUnits,
    feeLamports,
    result,
    detail,
  });
  if (probe.changeTokens === null) return row("skip", probe.skip ?? "");
  const ctx = orderContext(m, market, snap, probe);
  const order = ctx && orderFor(probe.changeTokens, ctx);
  if (!order) return row("fail", "no order could be sized (custody or oracle unreadable)");
  const wallet = key.publicKey;
  const x = d.cfg.execution;
  const policy = signingPolicyFor(wallet, x);
  const microLamports = x.priorityFee.staticMicroLamports ?? x.priorityFee.fallbackMicroLamports;
  const send = async (instructions: TransactionInstruction[]) => {
    const latest = await d.connection.getLatestBlockhash("confirmed");
    const signed = await simulateAndSign(d.connection, instructions, key, { ...latest, fetchedAtMs: d.nowMs() }, microLamports, { margin: x.computeUnitMargin, minUnits: x.minComputeUnits }, policy);
    await d.connection.sendRawTransaction(signed.bytes, { skipPreflight: true });
    await d.connection.confirmTransaction({ signature: signed.signature, blockhash: latest.blockhash, lastValidBlockHeight: latest.lastValidBlockHeight }, "confirmed");
    const tx = await d.connection.getTransaction(signed.signature, { maxSupportedTransactionVersion: 0, commitment: "confirmed" });
    if (!tx?.meta) throw new Error(`transaction ${signed.signature} is not on the fork after confirmation`);
    if (tx.meta.err) throw new Error(`transaction ${signed.signature} failed on the fork: ${JSON.stringify(tx.meta.err)}; logs: ${(tx.meta.logMessages ?? []).slice(-3).join(" | ")}`);
    return { computeUnits: tx.meta.computeUnitsConsumed ?? signed.simulatedUnits, feeLamports: tx.meta.fee };
  };
  try {
    const addresses = requestAddresses(wallet, market, order, counter);
    let minimumOut: bigint | null = null;
    if (order.kind === "increase" && needsSwap(addresses)) {
      minimumOut = (await d.quoter.quote(addresses.mint, addresses.collateralMint, order.collateralTokenAmount, m.swapSlippageBps)).minimumOut;
    }
    const built = (d.build ?? buildRequest)(wallet, market, order, counter, minimumOut, x.referral ? new PublicKey(x.referral) : undefined);
    const instructions = [built.instruction];
    if (order.kind === "increase" && built.mint.equals(NATIVE_MINT)) {
      const have = await tokenBalance(d.connection, associatedTokenAddress(NATIVE_MINT, wallet));
      if (have < order.collateralTokenAmount) instructions.unshift(...wrapSolInstructions(wallet, order.collateralTokenAmount - have));
    }
    const created = await send(instructions);
    const raw = await d.connection.getAccountInfo(built.positionRequest, "confirmed");
    const decoded = raw && decodeAccount("PositionRequest", raw.data, raw.owner);
    if (!decoded?.ok) return row("fail", `the request ${built.positionRequest.toBase58()} did not decode: ${decoded ? decoded.error.message : "absent"}`, created.computeUnits, created.feeLamports);
    const wrong = requestMismatches(decoded.value, order, wallet, counter);
    if (wrong.length) return row("fail", `the request on chain differs from the order: ${wrong.join("; ")}`, created.computeUnits, created.feeLamports);

    // Jupiter lets the owner close a request only once its execution window has passed: move the fork's clock there.
    const requestAta = associatedTokenAddress(built.mint, built.positionRequest);
    const walletAta = associatedTokenAddress(built.mint, wallet);
    const held = await tokenBalance(d.connection, requestAta);
    const before = await tokenBalance(d.connection, walletAta);
    const windowSec = snap.pool.ok ? Number(snap.pool.value.maxRequestExecutionSec) : 45;
    await d.fork.timeTravel((Number(decoded.value.updateTime) + windowSec + 5) * 1000);
    const r = decoded.value;
    await send([closePositionRequest3({ owner: wallet, pool: r.pool, position: r.position, positionRequest: built.positionRequest, mint: r.mint, custody: r.custody })]);
    const after = await tokenBalance(d.connection, walletAta);
    if (await d.connection.getAccountInfo(built.positionRequest, "confirmed")) return row("fail", "the owner cancel left the request open", created.computeUnits, created.feeLamports);
    if (after - before !== held) return row("fail", `the cancel returned ${after - before} base units of ${built.mint.toBase58()}, the request held ${held}`, created.computeUnits, created.feeLamports);
    return row("pass", `request ${built.positionRequest.toBase58()} decoded as sent; the cancel returned ${held} base units`, created.computeUnits, created.feeLamports);
  } catch (e) {
    return row("fail", (e as Error).message.split("\n")[0]!);
  }
}

/** The pre-flight's table, one line per request. */
export function formatPreflight(rows: readonly PreflightRow[]): string[] {
  const header = ["mandate", "market", "request", "CU", "fee (lamports)", "result"];
  const cells = rows.map((r) => [r.mandate, r.market, r.request, r.computeUnits?.toString() ?? "-", r.feeLamports?.toString() ?? "-", `${r.result.toUpperCase()}${r.detail ? `: ${r.detail}` : ""}`]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.slice(0).map((c) => (i === 5 ? 0 : c[i]!.length))));
  const line = (c: string[]) => c.map((v, i) => (i === 5 ? v : v.padEnd(widths[i]!))).join("  ");
  return [line(header), ...cells.map(line)];
}
