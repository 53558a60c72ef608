import type { TradeCostParams } from "./costs";
import { applyRule, computeBands, DecisionLanes, MIN_TRADE_NOTIONAL_USD, Outcome, type RuleParams } from "./decision-lanes";

/** How the keeper decides when to rebalance one underlying. */
export type PolicyConfig =
  | { kind: "whalley-wilmott"; riskAversion: number }
  | { kind: "zakamouline"; riskAversion: number }
  | { kind: "fixed"; thresholdTokens: number }
  | { kind: "clock"; intervalSec: number };

export interface TradeSizeLimits {
  /** Below this the trade is not worth its fixed costs: hold. */
  minTradeTokens: number;
  /** A larger trade is cut to this; the rest waits for the next decision. */
  maxTradeTokens: number;
  /** Seconds after a trade during which no new one starts. */
  cooldownSec: number;
}

export interface VolScaledDelta {
  deltaAt(volScale: number): number;
}

/** What the exposure side says about one underlying, in tokens. */
export interface ExposureGreeks {
  /** Σ delta of everything being hedged (options, wallets, JLP, offsets), already times the hedge ratio. */
  delta: number;
  /** Σ gamma of the options (tokens per $), times the hedge ratio. */
  gamma: number;
  /** Gamma-weighted years to expiry and vol of the options, for Zakamouline. */
  years: number;
  vol: number;
  /** Options delta with every leg's vol scaled (Zakamouline's σ_m); the non-option part is in `delta`. */
  volScaled?: VolScaledDelta;
  /** Variance rate (tokens²/yr) of the non-option part of the target, e.g. JLP flows; 0 when unknown. */
  targetVarianceRate: number;
}

export interface DecisionInput {
  policy: PolicyConfig;
  limits: TradeSizeLimits;
  costs: TradeCostParams;
  spotUsd: number;
  exposure: ExposureGreeks;
  /** Perp delta now (tokens, + long). Requests in flight are not in it. */
  hedgeTokens: number;
  /** The net delta the owner wants to hold (tokens). Usually 0. */
  targetNetDelta: number;
  nowSec: number;
  /** Unix seconds of the last trade in this market, or null. */
  lastTradeSec: number | null;
}

export interface Band {
  /** Target perp delta q* (tokens). */
  center: number;
  halfWidth: number;
}

export type Decision =
  | { action: "hold"; readonly reason: string; band: Band; hedgeTokens: number }
  | { action: "trade"; readonly reason: string; band: Band; hedgeTokens: number; toTokens: number; changeTokens: number };

/** Decisions format their reason only when it is read (a log line, an event), not when they are made. */
class TradeDecision {
  readonly action = "trade" as const;

  constructor(
    readonly band: Band,
    readonly hedgeTokens: number,
    readonly toTokens: number,
    readonly changeTokens: number,
    private readonly clock: boolean,
    private readonly deviation: number,
    /** The maximum trade the change was cut to, or NaN if it was not cut. */
    private readonly cutTo: number,
  ) {}

  get reason(): string {
    const why = this.clock ? "clock" : `deviation ${this.deviation.toFixed(6)} outside ±${this.band.halfWidth.toFixed(6)}`;
    return Number.isNaN(this.cutTo) ? why : `${why}; cut to maximum trade ${this.cutTo}`;
  }
}

class HoldDecision {
  readonly action = "hold" as const;

  constructor(
    readonly band: Band,
    readonly hedgeTokens: number,
    private readonly why: string,
    /** The change that was too small to send, or NaN if that is not why. */
    private readonly smallChange = NaN,
    private readonly minTradeTokens = NaN,
  ) {}

  get reason(): string {
    return Number.isNaN(this.smallChange) ? this.why : `change ${this.smallChange.toFixed(6)} below minimum trade ${this.minTradeTokens}`;
  }
}

const HOLD_REASONS = ["", "inside band", "clock interval not elapsed", "cooldown"] as const;

/** A lane and its Zakamouline adapter: what one decide() call runs on. */
function oneLane() {
  const lane = new DecisionLanes(1);
  const scaled = {
    source: null as VolScaledDelta | null,
    deltasAt(volScale: Float64Array, _n: number, out: Float64Array): void {
      out[0] = this.source!.deltaAt(volScale[0]!);
    },
  };
  return { lane, scaled };
}

/**
 * The lanes live decisions run on, one per nesting depth: decide() is the simulator's kernels with a batch of one, and
 * a Zakamouline evaluator (VolScaledDelta, a public interface) that called decide() itself must not overwrite the
 * outer call's lane.
 */
const lanesByDepth = [oneLane()];
let depth = 0;

/** The rule kernel's parameters for a policy and the live limits, in seconds. */
export function ruleParams(policy: PolicyConfig, limits: TradeSizeLimits): RuleParams {
  return {
    kind: policy.kind,
    interval: policy.kind === "clock" ? policy.intervalSec : 0,
    cooldown: limits.cooldownSec,
    minTradeTokens: limits.minTradeTokens,
    maxTradeTokens: limits.maxTradeTokens,
  };
}

/**
 * One rebalancing decision for one underlying. Pure: the same kernels (decision-lanes.ts) run in the live keeper, the
 * simulator and the tests. Band policies trade back to the nearest band edge; fixed and clock policies to the centre.
 */
export function decide(i: DecisionInput): Decision {
  if (depth === lanesByDepth.length) lanesByDepth.push(oneLane());
  const { lane, scaled } = lanesByDepth[depth++]!;
  try {
    return decideOnLane(i, lane, scaled);
  } finally {
    depth--;
  }
}

function decideOnLane(i: DecisionInput, lane: DecisionLanes, scaled: ReturnType<typeof oneLane>["scaled"]): Decision {
  const e = i.exposure;
  const zak = i.policy.kind === "zakamouline" && e.volScaled !== undefined;
  // Read before the lane is written: the evaluator may itself decide (see lanesByDepth).
  const optionsDelta = zak ? e.volScaled!.deltaAt(1) : 0;
  lane.spotUsd[0] = i.spotUsd;
  lane.delta[0] = e.delta;
  lane.gamma[0] = e.gamma;
  lane.years[0] = e.years;
  lane.vol[0] = e.vol;
  lane.varianceRate[0] = e.targetVarianceRate;
  lane.hedgeTokens[0] = i.hedgeTokens;
  lane.lastTrade[0] = i.lastTradeSec ?? NaN;
  lane.optionsDelta[0] = optionsDelta;
  scaled.source = zak ? e.volScaled! : null;
  lane.begin(1);
  computeBands(lane, i.policy, i.costs, i.targetNetDelta, zak ? scaled : null);
  applyRule(lane, ruleParams(i.policy, i.limits), i.nowSec, false);
  scaled.source = null;

  const band: Band = { center: lane.center[0]!, halfWidth: lane.halfWidth[0]! };
  const q = i.hedgeTokens;
  const outcome = lane.outcome[0]!;
  if (outcome === Outcome.trade) {
    return new TradeDecision(band, q, lane.toTokens[0]!, lane.change[0]!, i.policy.kind === "clock", lane.deviation[0]!, lane.cut[0] ? i.limits.maxTradeTokens : NaN);
  }
  if (outcome === Outcome.belowMinimum) return new HoldDecision(band, q, "", lane.change[0]!, Math.max(i.limits.minTradeTokens, MIN_TRADE_NOTIONAL_USD / i.spotUsd));
  return new HoldDecision(band, q, HOLD_REASONS[outcome]!);
}
