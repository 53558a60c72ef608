import type { Keypair, PublicKey } from "@solana/web3.js";
import bs58 from "bs58";
import { MAINNET, type MarketSymbol, associatedTokenAddress, encodeDecreaseRequestData, encodeIncreaseRequestData } from "../../programs-client";
import type { SigningPolicy } from "../risk/signing-policy";
import { RequestPdaMemo } from "../risk/template-policy";
import type { Order } from "../strategy/orders";
import type { FreshBlockhash } from "./blockhash-cache";
import { kindOf } from "./compute-units";
import type { CalibrationResult, ComputeUnitCalibrator } from "./cu-calibrator";
import { type MessageSigner, nodeSigner } from "./ed25519";
import { CounterSource, type NextRequest, type RequestSlot, RequestPdas } from "./request-pdas";
import { buildRequest, fundingMint } from "./request-builder";
import { type RequestTemplate, requestTemplate, signRequest } from "./request-template";
import type { SignedTransaction } from "./transaction";

/** What a request's send needs besides the order: the swap's minimum output and the SOL to wrap, when either applies. */
export interface RequestExtras {
  purpose: "hedge" | "collateral";
  /** Set exactly when the order's funding is swapped (a USDC-funded long). */
  jupiterMinimumOut: bigint | null;
  /** Lamports wrapped into wSOL before an increase; null when none. */
  wrapLamports: bigint | null;
}

export interface SignedRequestTx extends SignedTransaction {
  /** The compute-unit kind, for calibration from what it consumed. */
  kind: string;
}

/** A request's counter and addresses, taken before it is signed. */
export interface ReservedRequest extends NextRequest {
  market: MarketSymbol;
  order: Order;
  wrapSol: boolean;
  position: PublicKey;
  /** The token the request moves, and the collateral custody's: a swap turns the first into the second. */
  mint: PublicKey;
  collateralMint: PublicKey;
  /** True when the funding is swapped: the send needs a quote's jupiterMinimumOut. */
  swap: boolean;
  /** The request's writable accounts but its own PDA: where the fee market is read. */
  writable: readonly PublicKey[];
}

interface Shape {
  /** The compiled and checked template, or why the signing policy refuses every send of this shape. */
  template: RequestTemplate | Error;
  slot: RequestSlot;
  writable: PublicKey[];
}

/**
 * Signs market requests with nothing on the way but arithmetic: the transaction compiled once per shape, the request
 * PDAs of the next counter derived in the background, the compute-unit limit from the calibration table, the
 * signature from Node's Ed25519, the signing policy checked on what varies. No RPC call, no PDA search on a warm
 * shape. Cancels and dry runs still simulate (transaction.ts).
 */
export class RequestSigner {
  private readonly shapes = new Map<string, Shape>();
  private readonly memo = new RequestPdaMemo();
  private readonly pdas: RequestPdas;
  private readonly signMessage: MessageSigner;

  constructor(
    private readonly payer: Keypair,
    private readonly policy: SigningPolicy,
    private readonly units: ComputeUnitCalibrator,
    nowMs: () => number = Date.now,
  ) {
    this.pdas = new RequestPdas(this.memo, new CounterSource(nowMs));
    this.signMessage = nodeSigner(payer.secretKey);
  }

  /** The shape's template and its first request PDAs, ready before the first send. */
  prepare(market: MarketSymbol, order: Order, wrapSol: boolean): void {
    this.pdas.prepare(this.shape(market, order, wrapSol).slot);
  }

  /** The request's counter and addresses, taken ready: what the intent names before anything is signed. */
  reserve(market: MarketSymbol, order: Order, wrapSol: boolean): ReservedRequest {
    const shape = this.shape(market, order, wrapSol);
    const collateralMint = collateralMintOf(market, order);
    return { ...this.pdas.take(shape.slot), market, order, wrapSol, position: shape.slot.position, mint: shape.slot.mint, collateralMint, swap: !shape.slot.mint.equals(collateralMint), writable: shape.writable };
  }

  /** Signs a reserved request on the given blockhash and price; a SigningPolicyError is a refusal. */
  sign(r: ReservedRequest, extras: RequestExtras, blockhash: FreshBlockhash, microLamports: number, unitsOverride?: number): SignedRequestTx {
    const { order, market } = r;
    const { template } = this.shape(market, order, r.wrapSol);
    if (template instanceof Error) throw template;
    if ((extras.wrapLamports !== null) !== r.wrapSol) throw new Error(`${market} ${order.kind} ${order.side}: reserved ${r.wrapSol ? "with" : "without"} SOL wrapping, signed ${r.wrapSol ? "without" : "with"}`);
    const swap = extras.jupiterMinimumOut !== null;
    if (swap !== r.swap) throw new Error(`${market} ${order.kind} ${order.side}: jupiterMinimumOut must be set exactly when the funding mint differs from the collateral mint`);
    const kind = kindOf({ change: order.kind, purpose: extras.purpose, wrapSol: r.wrapSol, swap });
    const requestData =
      order.kind === "increase"
        ? encodeIncreaseRequestData({ sizeUsdDelta: order.sizeUsdDelta6, collateralTokenDelta: order.collateralTokenAmount, side: order.side, priceSlippage: order.priceSlippageUsd6, jupiterMinimumOut: extras.jupiterMinimumOut, counter: r.counter })
        : encodeDecreaseRequestData({ collateralUsdDelta: order.collateralUsdDelta6, sizeUsdDelta: order.sizeUsdDelta6, priceSlippage: order.priceSlippageUsd6, jupiterMinimumOut: extras.jupiterMinimumOut, entirePosition: order.entirePosition, counter: r.counter });
    const units = unitsOverride ?? this.units.limit(kind).units;
    const signed = signRequest(template, { blockhash: blockhash.blockhash, units, microLamports, wrapLamports: extras.wrapLamports, requestData, positionRequest: r.positionRequest, positionRequestAta: r.positionRequestAta }, this.signMessage, this.memo);
    return { ...signed, blockhash: blockhash.blockhash, lastValidBlockHeight: blockhash.lastValidBlockHeight, computeUnitLimit: units, microLamports, simulatedUnits: this.units.measured(kind) ?? 0, kind };
  }

  /**
   * Simulates the shape's real request (a fresh counter, at the policy's compute ceiling) and records its units for
   * its kind. A failure (no funds, no position to decrease yet) leaves the kind on the configured default.
   */
  async calibrate(market: MarketSymbol, order: Order, extras: RequestExtras): Promise<CalibrationResult & { kind: string }> {
    const anyBlockhash = { blockhash: bs58.encode(this.payer.publicKey.toBytes()), lastValidBlockHeight: 0, fetchedAtMs: 0 };
    let probe: SignedRequestTx;
    try {
      probe = this.sign(this.reserve(market, order, extras.wrapLamports !== null), extras, anyBlockhash, 0, this.units.cfg.maxUnits);
    } catch (e) {
      return { ok: false, reason: (e as Error).message, kind: kindOf({ change: order.kind, purpose: extras.purpose, wrapSol: extras.wrapLamports !== null, swap: extras.jupiterMinimumOut !== null }) };
    }
    return { ...(await this.units.simulate(probe.kind, probe.bytes)), kind: probe.kind };
  }

  private shape(market: MarketSymbol, order: Order, wrapSol: boolean): Shape {
    const usdcFunded = fundingMint(market, order).equals(MAINNET.custodies.USDC.mint);
    const id = `${market}:${order.side}:${order.kind}:${usdcFunded ? "usdc" : "own"}:${wrapSol ? "wrap" : ""}`;
    let s = this.shapes.get(id);
    if (!s) {
      // Any counter: only the request's two PDAs depend on it, and the template lets exactly those vary.
      const sample = buildRequest(this.payer.publicKey, market, order, 0n, fundingMint(market, order).equals(collateralMintOf(market, order)) ? null : 1n, this.policy.referral ?? undefined);
      const positionRequestAta = associatedTokenAddress(sample.mint, sample.positionRequest);
      let template: RequestTemplate | Error;
      try {
        template = requestTemplate(this.payer.publicKey, { instruction: sample.instruction, positionRequest: sample.positionRequest, positionRequestAta }, wrapSol, this.units.cfg.minUnits, this.policy);
      } catch (e) {
        // Refused at each sign (a request can still be reserved and journaled as failed, as the breaker expects).
        template = e as Error;
      }
      const writable = sample.instruction.keys.filter((k) => k.isWritable && !k.pubkey.equals(sample.positionRequest) && !k.pubkey.equals(positionRequestAta)).map((k) => k.pubkey);
      s = { template, slot: { position: sample.position, change: order.kind, mint: sample.mint }, writable };
      this.shapes.set(id, s);
    }
    return s;
  }
}

const collateralMintOf = (market: MarketSymbol, order: Order) => (order.side === "short" ? MAINNET.custodies.USDC : MAINNET.custodies[market]).mint;
