import { EventEmitter } from "node:events";
import {
  ComputeBudgetProgram,
  type Connection,
  type Keypair,
  type PublicKey,
  SYSVAR_CLOCK_PUBKEY,
  SendTransactionError,
  Transaction,
  TransactionInstruction,
} from "@solana/web3.js";
import bs58 from "bs58";
import {
  type CustodyAddresses,
  MAINNET,
  PROGRAM_IDS,
  type PositionRequest,
  accountDiscriminator,
  createAtaIdempotent,
  clockUnixTimestamp,
  closePositionRequest3,
  customErrorCode,
  decodeAccount,
  decreasePosition4,
  increasePosition4,
  increasePositionWithInternalSwap,
  liquidateFullPosition4,
  type Position,
} from "../../programs-client";
import { seededUniform } from "../../keeper/lib/random";
import { loadFillKeeper } from "./key";

/** What happened to one request. */
export interface FillOutcome {
  request: PublicKey;
  owner: PublicKey;
  change: "increase" | "decrease";
  /** filled; rejected (a fill failed, or the reject knob chose it) and refunded; failed (could not even refund). */
  result: "filled" | "rejected" | "failed";
  /** The program error of a failed fill: 6021 slippage, 6035 expiry, 6003 stale oracle... */
  errorCode?: number;
  signature?: string;
}

/** A position the keeper liquidated with liquidateFullPosition4. */
export interface LiquidationOutcome {
  position: PublicKey;
  owner: PublicKey;
  signature: string;
}

export interface FillKeeperKnobs {
  /** How long a request waits before the keeper acts on it. */
  delayMs: number;
  /** Share of requests closed and refunded without a fill attempt, 0..1. */
  rejectRate: number;
  /** Wait until a request has expired before trying to fill it, so the fill fails with 6035 and is refunded. */
  delayPastExpiry: boolean;
  /** A paused keeper watches but does nothing. */
  paused: boolean;
  /** Also act as liquidator: liquidate every position the program says is below its maintenance margin. */
  liquidate: boolean;
  seed: number;
}

export interface FillKeeperOptions extends Partial<FillKeeperKnobs> {
  connection: Connection;
  keeper?: Keypair;
  /** How often to scan for requests when no notification arrives. */
  pollMs?: number;
  pool?: PublicKey;
}

const DEFAULT_KNOBS: FillKeeperKnobs = { delayMs: 1000, rejectRate: 0, delayPastExpiry: false, paused: false, liquidate: true, seed: 1 };
/** How often open positions are tried for liquidation (each try is one preflight per open position). */
const LIQUIDATION_SCAN_MS = 1000;
const FILL_COMPUTE_UNITS = 400_000;
/** Pool.maxRequestExecutionSec on mainnet; the program reads the pool, this only times the expiry knob. */
const REQUEST_EXPIRY_SEC = 45n;

/**
 * Emulates Jupiter's off-chain keepers on localnet: watches PositionRequest accounts and, after a delay, fills
 * each one (increasePosition4, increasePositionWithInternalSwap for requests funded in another mint, or
 * decreasePosition4, then closePositionRequest3 in the same transaction) or, when
 * a fill fails or a knob says so, refunds it with closePositionRequest3. Speaks only JSON-RPC, so it works
 * against any validator running the stand-in program.
 */
export class FillKeeper extends EventEmitter<{ outcome: [FillOutcome]; liquidation: [LiquidationOutcome]; error: [Error] }> {
  readonly knobs: FillKeeperKnobs;
  private readonly keeper: Keypair;
  private readonly firstSeen = new Map<string, number>();
  private readonly busy = new Set<string>();
  private readonly done = new Set<string>();
  private timer?: NodeJS.Timeout;
  private subscription?: number;
  private random: () => number;
  private scanning?: Promise<void>;
  private lastLiquidationScanMs = 0;

  constructor(private readonly opts: FillKeeperOptions) {
    super();
    this.knobs = { ...DEFAULT_KNOBS, ...pick(opts) };
    this.keeper = opts.keeper ?? loadFillKeeper();
    this.random = seededUniform(this.knobs.seed);
  }

  get publicKey(): PublicKey {
    return this.keeper.publicKey;
  }

  setKnobs(update: Partial<FillKeeperKnobs>): void {
    Object.assign(this.knobs, update);
    if (update.seed !== undefined) this.random = seededUniform(update.seed);
  }

  start(): void {
    const scan = () => void this.scan();
    this.subscription = this.opts.connection.onProgramAccountChange(PROGRAM_IDS.perpetuals, scan, { commitment: "confirmed", filters: [requestFilter()] });
    this.timer = setInterval(scan, this.opts.pollMs ?? 250);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    if (this.subscription !== undefined) await this.opts.connection.removeProgramAccountChangeListener(this.subscription);
    this.subscription = undefined;
    await this.scanning;
    while (this.busy.size > 0) await new Promise((r) => setTimeout(r, 20));
  }

  /** One pass over the open requests; overlapping calls share the pass in progress. */
  scan(): Promise<void> {
    this.scanning ??= Promise.all([this.scanOnce(), this.liquidationScan()])
      .then(() => undefined)
      .catch((e: Error) => void this.emit("error", e))
      .finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    if (this.knobs.paused) return;
    const accounts = await this.opts.connection.getProgramAccounts(PROGRAM_IDS.perpetuals, { filters: [requestFilter()] });
    const nowMs = Date.now();
    const chainNow = await this.chainTime();
    for (const { pubkey, account } of accounts) {
      const key = pubkey.toBase58();
      const decoded = decodeAccount("PositionRequest", account.data, account.owner);
      if (!decoded.ok || decoded.value.executed || this.busy.has(key) || this.done.has(key)) continue;
      const seen = this.firstSeen.get(key) ?? nowMs;
      this.firstSeen.set(key, seen);
      if (nowMs - seen < this.knobs.delayMs) continue;
      if (this.knobs.delayPastExpiry && chainNow <= decoded.value.updateTime + REQUEST_EXPIRY_SEC) continue;
      this.busy.add(key);
      void this.handle(pubkey, decoded.value)
        .then((o) => {
          this.done.add(key);
          this.emit("outcome", o);
        })
        .catch((e: Error) => this.emit("error", e))
        .finally(() => this.busy.delete(key));
    }
  }

  /**
   * Try to liquidate every open position, at most once a LIQUIDATION_SCAN_MS. The program decides (6063 when the
   * position still covers its margin, 6027 while liquidations are paused, 6003 on a stale oracle), so the keeper
   * sends and lets the preflight refuse: what a real liquidator does, and no second copy of the liquidation maths
   * here. A program refusal means "not now"; only a failure to reach the validator is an error.
   */
  private async liquidationScan(): Promise<void> {
    const nowMs = Date.now();
    if (this.knobs.paused || !this.knobs.liquidate || nowMs - this.lastLiquidationScanMs < LIQUIDATION_SCAN_MS) return;
    this.lastLiquidationScanMs = nowMs;
    const accounts = await this.opts.connection.getProgramAccounts(PROGRAM_IDS.perpetuals, { filters: [discriminatorFilter("Position")] });
    for (const { pubkey, account } of accounts) {
      const decoded = decodeAccount("Position", account.data, account.owner);
      if (!decoded.ok || decoded.value.sizeUsd === 0n) continue;
      try {
        const signature = await this.send([this.liquidateInstruction(pubkey, decoded.value)]);
        this.emit("liquidation", { position: pubkey, owner: decoded.value.owner, signature });
      } catch (e) {
        if (errorCodeOf(e) === undefined) this.emit("error", e instanceof Error ? e : new Error(String(e)));
      }
    }
  }

  private liquidateInstruction(position: PublicKey, p: Position): TransactionInstruction {
    const market = custodyOrThrow((c) => c.custody.equals(p.custody), `custody ${p.custody.toBase58()}`);
    const collateral = custodyOrThrow((c) => c.custody.equals(p.collateralCustody), `custody ${p.collateralCustody.toBase58()}`);
    return liquidateFullPosition4({
      signer: this.keeper.publicKey,
      pool: p.pool,
      position,
      custody: oracles(market),
      collateralCustody: { ...oracles(collateral), tokenAccount: collateral.tokenAccount },
    });
  }

  private async chainTime(): Promise<bigint> {
    const clock = await this.opts.connection.getAccountInfo(SYSVAR_CLOCK_PUBKEY);
    return (clock && clockUnixTimestamp(clock.data)) ?? BigInt(Math.floor(Date.now() / 1000));
  }

  private async handle(request: PublicKey, r: PositionRequest): Promise<FillOutcome> {
    const change = r.requestChange === "decrease" ? "decrease" : "increase";
    const base = { request, owner: r.owner, change } as const;
    if (this.random() < this.knobs.rejectRate) return { ...base, ...(await this.refund(request, r)), result: "rejected" };
    try {
      const signature = await this.send([...this.fillInstructions(request, r), ...this.closeInstructions(request, r)]);
      return { ...base, result: "filled", signature };
    } catch (e) {
      const errorCode = errorCodeOf(e);
      if (errorCode === undefined) throw e;
      const refund = await this.refund(request, r);
      return { ...base, ...refund, result: refund.result === "failed" ? "failed" : "rejected", errorCode };
    }
  }

  private async refund(request: PublicKey, r: PositionRequest): Promise<{ result: "rejected" | "failed"; signature?: string }> {
    try {
      return { result: "rejected", signature: await this.send(this.closeInstructions(request, r)) };
    } catch (e) {
      if (errorCodeOf(e) === undefined) throw e;
      return { result: "failed" };
    }
  }

  private fillInstructions(request: PublicKey, r: PositionRequest): TransactionInstruction[] {
    const market = custodyOrThrow((c) => c.custody.equals(r.custody), `custody ${r.custody.toBase58()}`);
    const funding = custodyOrThrow((c) => c.mint.equals(r.mint), `mint ${r.mint.toBase58()}`);
    // Longs are collateralised in the traded token; shorts in the stable they were funded with.
    const collateral = r.side === "long" ? market : funding;
    const args = {
      keeper: this.keeper.publicKey,
      pool: r.pool,
      positionRequest: request,
      requestMint: r.mint,
      position: r.position,
      custody: oracles(market),
      collateralCustody: { ...oracles(collateral), tokenAccount: collateral.tokenAccount },
    };
    if (r.requestChange === "decrease") return [decreasePosition4({ ...args, owner: r.owner })];
    if (funding === collateral) return [increasePosition4(args)];
    return [increasePositionWithInternalSwap({ ...args, receivingCustody: { ...oracles(funding), tokenAccount: funding.tokenAccount } })];
  }

  /** Make sure the owner can receive the request's tokens, then close the request (funds and rent to the owner). */
  private closeInstructions(request: PublicKey, r: PositionRequest): TransactionInstruction[] {
    return [
      createAtaIdempotent(this.keeper.publicKey, r.owner, r.mint),
      closePositionRequest3({ keeper: this.keeper.publicKey, owner: r.owner, pool: r.pool, position: r.position, positionRequest: request, mint: r.mint, custody: r.custody }),
    ];
  }

  private async send(instructions: TransactionInstruction[]): Promise<string> {
    const { connection } = this.opts;
    const latest = await connection.getLatestBlockhash();
    const tx = new Transaction({ feePayer: this.keeper.publicKey, ...latest }).add(ComputeBudgetProgram.setComputeUnitLimit({ units: FILL_COMPUTE_UNITS }), ...instructions);
    tx.sign(this.keeper);
    const signature = await connection.sendRawTransaction(tx.serialize());
    const result = await connection.confirmTransaction({ signature, ...latest });
    if (result.value.err) throw new FillTransactionError(result.value.err);
    return signature;
  }
}

class FillTransactionError extends Error {
  constructor(readonly err: unknown) {
    super(`fill transaction failed: ${JSON.stringify(err)}`);
  }
}

function errorCodeOf(e: unknown): number | undefined {
  if (e instanceof SendTransactionError) return customErrorCode(null, e.logs) ?? customErrorCode(null, [e.message]);
  if (e instanceof FillTransactionError) return customErrorCode(e.err);
  return undefined;
}

/** Accounts are found by discriminator, never by size (mainnet allocates more than the Borsh fields). */
function discriminatorFilter(kind: "Position" | "PositionRequest") {
  return { memcmp: { offset: 0, bytes: bs58.encode(accountDiscriminator(kind)) } };
}

function requestFilter() {
  return discriminatorFilter("PositionRequest");
}

function custodyOrThrow(find: (c: CustodyAddresses) => boolean, what: string): CustodyAddresses {
  const c = Object.values(MAINNET.custodies).find(find);
  if (!c) throw new Error(`no custody in the address table for ${what}`);
  return c;
}

function oracles(c: CustodyAddresses) {
  return { custody: c.custody, dovesPriceAccount: c.dovesAg, pythnetPriceAccount: c.pythPriceUpdate };
}

function pick(o: Partial<FillKeeperKnobs>): Partial<FillKeeperKnobs> {
  const out: Partial<FillKeeperKnobs> = {};
  for (const k of Object.keys(DEFAULT_KNOBS) as (keyof FillKeeperKnobs)[]) if (o[k] !== undefined) (out as Record<string, unknown>)[k] = o[k];
  return out;
}
