import type { PolicySummary } from "./metrics";
import { type ClockPolicy, clockIntervalSteps, type Scenario, type SimPolicy, wholeSteps } from "./scenario";

/**
 * Cost-versus-tracking-error frontiers: one policy kind run at several values of its parameter, on the same paths.
 * A policy dominates another if, at equal tracking error, it costs less.
 */

export type PolicyKind = SimPolicy["kind"];

export interface FrontierPoint {
  name: string;
  /** The policy's parameter; a clock's interval in seconds, whether it was given in seconds or steps. */
  parameter: number;
  trackingErrorStd: number;
  costUsd: number;
}

export interface Frontier {
  kind: PolicyKind;
  /** Sorted by tracking error, ascending. */
  points: FrontierPoint[];
}

const DEFAULT_CLOCK_SEC = [86_400, 43_200, 14_400, 7_200, 3_600, 1_800, 900];
const SCALE_RISK_AVERSION = [0.1, 0.3, 1, 3, 10];
const SCALE_THRESHOLD = [0.25, 0.5, 1, 2, 4];

/** `stepSec` converts a clock given in steps to seconds; only such a clock needs it. */
function parameterOf(p: SimPolicy, stepSec: number | undefined): number {
  switch (p.kind) {
    case "clock":
      if (p.intervalSteps === undefined) return p.intervalSec!;
      if (stepSec === undefined) throw new Error(`internal: the clock "${p.name ?? `${p.intervalSteps} steps`}" is in steps, and frontiers() was not given the grid step`);
      return p.intervalSteps * stepSec;
    case "fixed":
      return p.thresholdTokens;
    case "whalley-wilmott":
    case "zakamouline":
      return p.riskAversion;
  }
}

function withParameter(kind: Exclude<PolicyKind, "clock">, v: number): SimPolicy {
  switch (kind) {
    case "fixed":
      return { kind, thresholdTokens: v };
    case "whalley-wilmott":
    case "zakamouline":
      return { kind, riskAversion: v };
  }
}

/**
 * The sweep's clocks, shortest first, one per interval: `sweep.clock` (seconds) and `sweep.clockSteps`, or by default
 * clocks from a day to 15 minutes, each in seconds when it is a whole number of steps and rounded to steps otherwise.
 */
function sweepClocks(s: Scenario, stepSec: number): ClockPolicy[] {
  const given = s.sweep?.clock !== undefined || s.sweep?.clockSteps !== undefined;
  const candidates: ClockPolicy[] = given
    ? [...(s.sweep?.clock ?? []).map((intervalSec) => ({ kind: "clock" as const, intervalSec })), ...(s.sweep?.clockSteps ?? []).map((intervalSteps) => ({ kind: "clock" as const, intervalSteps }))]
    : DEFAULT_CLOCK_SEC.filter((v) => v >= stepSec).map((v) => (wholeSteps(v, stepSec) === null ? { kind: "clock" as const, intervalSteps: Math.round(v / stepSec) } : { kind: "clock" as const, intervalSec: v }));
  const bySteps = new Map<number, ClockPolicy>();
  for (const p of candidates) {
    const steps = clockIntervalSteps(p, stepSec);
    if (!bySteps.has(steps)) bySteps.set(steps, p);
  }
  return [...bySteps].sort(([a], [b]) => a - b).map(([, p]) => p);
}

/**
 * The policies a sweep runs: for each kind among the scenario's policies, the scenario's `sweep` values, or by
 * default clocks from a day to 15 minutes and the scenario's own parameter scaled around itself.
 */
export function sweepPolicies(s: Scenario): SimPolicy[] {
  const kinds = [...new Set(s.policies.map((p) => p.kind))];
  const stepSec = s.stepMinutes * 60;
  return kinds.flatMap((kind) => {
    if (kind === "clock") return sweepClocks(s, stepSec);
    const own = s.policies.filter((p) => p.kind === kind).map((p) => parameterOf(p, stepSec));
    const scale = kind === "fixed" ? SCALE_THRESHOLD : SCALE_RISK_AVERSION;
    const values = s.sweep?.[kind] ?? [...new Set(own.flatMap((v) => scale.map((k) => v * k)))];
    return [...new Set(values)].sort((a, b) => a - b).map((v) => withParameter(kind, v));
  });
}

/** `stepSec`: the grid step, in which a clock given in steps is converted to seconds (needed only if there is one). */
export function frontiers(policies: readonly SimPolicy[], summaries: readonly PolicySummary[], stepSec?: number): Frontier[] {
  const byKind = new Map<PolicyKind, FrontierPoint[]>();
  policies.forEach((p, i) => {
    const s = summaries[i]!;
    const list = byKind.get(p.kind) ?? [];
    list.push({ name: s.name, parameter: parameterOf(p, stepSec), trackingErrorStd: s.trackingErrorStd, costUsd: s.costUsd });
    byKind.set(p.kind, list);
  });
  return [...byKind].map(([kind, points]) => ({ kind, points: points.sort((a, b) => a.trackingErrorStd - b.trackingErrorStd) }));
}

/** The frontier's cost at a tracking error inside its range, linear in log(TE) between neighbours; null outside. */
export function costAtTrackingError(f: Frontier, te: number): number | null {
  // A policy that trades at every step is the reference itself (TE 0): it has no place on a log axis.
  const pts = f.points.filter((p) => p.trackingErrorStd > 0);
  if (pts.length === 0 || te < pts[0]!.trackingErrorStd || te > pts[pts.length - 1]!.trackingErrorStd) return null;
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1]!;
    const b = pts[i]!;
    if (te <= b.trackingErrorStd) {
      if (b.trackingErrorStd === a.trackingErrorStd) return Math.min(a.costUsd, b.costUsd);
      const w = Math.log(te / a.trackingErrorStd) / Math.log(b.trackingErrorStd / a.trackingErrorStd);
      return a.costUsd + w * (b.costUsd - a.costUsd);
    }
  }
  return pts[pts.length - 1]!.costUsd;
}

export interface Saving {
  name: string;
  trackingErrorStd: number;
  costUsd: number;
  baselineCostUsd: number;
  /** 1 − cost / baseline cost at the same tracking error. */
  saving: number;
}

/** How much cheaper each point of `f` is than `baseline` at its tracking error (points outside the baseline's range are left out). */
export function savingsAgainst(f: Frontier, baseline: Frontier): Saving[] {
  return f.points.flatMap((p) => {
    const base = costAtTrackingError(baseline, p.trackingErrorStd);
    return base === null ? [] : [{ name: p.name, trackingErrorStd: p.trackingErrorStd, costUsd: p.costUsd, baselineCostUsd: base, saving: 1 - p.costUsd / base }];
  });
}
