import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";

/**
 * A backtest scenario: the book, the price model, Jupiter's costs, the grid and the policies to compare. The same
 * fields come from a YAML/JSON file or from `backtest` flags; everything is validated here, with fixes in the errors.
 */

const positive = z.number().positive();
const nonNegative = z.number().min(0);

/** Scenario `initialHedge` values; see the field. */
export const INITIAL_HEDGES = ["target", "policy"] as const;
export type InitialHedge = (typeof INITIAL_HEDGES)[number];

const modelSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("gbm"), vol: positive, drift: z.number().default(0) }).strict(),
  z
    .object({
      kind: z.literal("merton"),
      vol: positive,
      drift: z.number().default(0),
      jumpsPerYear: nonNegative,
      /** Mean and std of the log jump size. */
      jumpMean: z.number(),
      jumpStd: nonNegative,
    })
    .strict(),
  z
    .object({
      kind: z.literal("heston"),
      /** Initial variance, long-run variance, mean reversion, vol of variance, correlation. */
      v0: positive,
      theta: positive,
      kappa: positive,
      xi: positive,
      rho: z.number().min(-1).max(1),
      drift: z.number().default(0),
    })
    .strict(),
  /** Recorded prices (timestamp,price CSV), resampled to the grid and scaled to start at `spot`. */
  z.object({ kind: z.literal("replay"), file: z.string().min(1) }).strict(),
]);

const legSchema = z
  .object({
    kind: z.enum(["call", "put"]),
    strike: positive,
    expiryDays: positive,
    /** Contracts of one token each: + long, - short. */
    quantity: z.number(),
    impliedVol: positive,
  })
  .strict();

const bookSchema = z
  .object({
    options: z.array(legSchema).default([]),
    /** Tokens held outright (a DAO vault's holdings): their delta is constant. */
    staticTokens: z.number().default(0),
    /** A JLP holding's delta in tokens of the underlying and how fast pool flows move it (tokens per √year). */
    jlp: z.object({ deltaTokens: z.number(), flowVolTokens: nonNegative.default(0) }).strict().optional(),
  })
  .strict()
  .refine((b) => b.options.length > 0 || b.staticTokens !== 0 || b.jlp !== undefined, "the book is empty: give options, staticTokens or jlp");

const policySchema = z.discriminatedUnion("kind", [
  z.object({ name: z.string().optional(), kind: z.literal("whalley-wilmott"), riskAversion: positive }).strict(),
  z.object({ name: z.string().optional(), kind: z.literal("zakamouline"), riskAversion: positive }).strict(),
  z.object({ name: z.string().optional(), kind: z.literal("fixed"), thresholdTokens: positive }).strict(),
  // Exactly one of the two intervals, checked at the scenario level where the grid step is known (a discriminated
  // union's members must stay plain objects).
  z.object({ name: z.string().optional(), kind: z.literal("clock"), intervalSec: positive.optional(), intervalSteps: z.number().int().positive().optional() }).strict(),
]);

const costsSchema = z
  .object({
    /** Custody increase and decrease fees, whole bps of size (u64 on chain; the fee is computed in integers). */
    increaseBps: nonNegative.int().default(6),
    decreaseBps: nonNegative.int().default(6),
    /** custody.pricing.tradeImpactFeeScalar, an integer; 0 = no impact fee. */
    impactFeeScalar: nonNegative.int().default(0),
    /** Hourly borrow rate on the hedge's notional, in percent (0.002 = 0.002%/h). */
    borrowPercentPerHour: nonNegative.default(0),
    /** Base plus priority fee per transaction, in USD. */
    txCostUsd: nonNegative.default(0),
    /** Seconds from the decision to the fill; the fill is at the oracle price then. */
    latencySec: nonNegative.default(0),
  })
  .strict();

const sweepSchema = z
  .object({
    /** Clock intervals in seconds, each a whole number of grid steps. */
    clock: z.array(positive).optional(),
    /** Clock intervals in grid steps. */
    clockSteps: z.array(z.number().int().positive()).optional(),
    fixed: z.array(positive).optional(),
    "whalley-wilmott": z.array(positive).optional(),
    zakamouline: z.array(positive).optional(),
  })
  .strict();

const scenarioSchema = z
  .object({
    name: z.string().default("scenario"),
    description: z.string().optional(),
    spot: positive,
    days: positive,
    stepMinutes: positive.default(5),
    paths: z.number().int().positive().default(20_000),
    seed: z.number().int().min(0).default(1),
    model: modelSchema,
    book: bookSchema,
    /** Vol the hedge's greeks use; by default each leg's implied vol. */
    hedgeVol: positive.optional(),
    hedgeRatio: z.number().default(1),
    targetNetDelta: z.number().default(0),
    costs: costsSchema.default({}),
    trade: z
      .object({ minTradeTokens: nonNegative.default(0), maxTradeTokens: positive.optional(), cooldownSec: nonNegative.default(0) })
      .strict()
      .default({}),
    /** Absolute risk aversion of the certainty equivalent, 1/$. */
    utilityRiskAversion: positive.default(1),
    policies: z.array(policySchema).min(1, "list at least one policy"),
    /**
     * Size over collateral of the hedge's positions. Setting it (or `collateral`) models the collateral and Jupiter's
     * liquidation (sim/hedge-collateral.ts); without either the hedge is never liquidated, as before.
     */
    targetLeverage: positive.max(100).optional(),
    /** The keeper's collateral policy (keeper/strategy/collateral-policy.ts); `enabled: false` models collateral without it. */
    collateral: z
      .object({
        enabled: z.boolean().default(true),
        floorSigmas: positive.default(3),
        /** Absent: never withdraw. */
        ceilingSigmas: positive.optional(),
        /** Smallest deposit or withdrawal, USD. 0 by default: the book here is often one unit, not a real size. */
        minChangeUsd: nonNegative.default(0),
        /** The annualised vol the distance to liquidation is measured in; by default the market vol the hedge's greeks use. */
        annualVol: positive.optional(),
      })
      .strict()
      .refine((c) => c.ceilingSigmas === undefined || c.ceilingSigmas > c.floorSigmas, {
        message: "ceilingSigmas must be above floorSigmas, or deposits and withdrawals would follow each other",
        path: ["ceilingSigmas"],
      })
      .optional(),
    /** Parameter values `--sweep` tries per policy kind (interval seconds or steps, threshold tokens, risk aversion). */
    sweep: sweepSchema.optional(),
    /**
     * How each policy's hedge starts. "target": every policy trades to the target hedge q*₀ at inception, as desks
     * do, then decides as usual. "policy": the hedge starts at 0 and the policy's own rule decides at t = 0, so a
     * fixed threshold wider than |q*₀| never hedges at the start.
     */
    initialHedge: z.enum(INITIAL_HEDGES).default("target"),
  })
  .strict()
  .superRefine((s, ctx) => {
    const stepSec = s.stepMinutes * 60;
    s.policies.forEach((p, i) => {
      if (p.kind !== "clock") return;
      const problem = clockProblem(p, stepSec);
      if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["policies", i], message: `clock policy: ${problem}` });
    });
    s.sweep?.clock?.forEach((sec, i) => {
      if (wholeSteps(sec, stepSec) === null) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["sweep", "clock", i], message: notWholeSteps(sec, stepSec, "sweep.clockSteps") });
    });
  });

export type Scenario = z.infer<typeof scenarioSchema>;

/** The keeper's default targetLeverage (keeper/app/config.ts), used when `collateral` is set without a leverage. */
export const DEFAULT_TARGET_LEVERAGE = 3;
export type ScenarioInput = z.input<typeof scenarioSchema>;
export type SimPolicy = z.infer<typeof policySchema>;
export type ClockPolicy = Extract<SimPolicy, { kind: "clock" }>;

export class ScenarioError extends Error {}

/** Prints a float without the noise of its binary form (0.1 minute is 6.000000000000001 s). */
const clean = (x: number) => String(Number(x.toPrecision(12)));

/** The whole number of grid steps in `sec` (within 1e-9 relative), or null when it is not one. */
export function wholeSteps(sec: number, stepSec: number): number | null {
  const k = Math.round(sec / stepSec);
  return k >= 1 && Math.abs(k * stepSec - sec) <= 1e-9 * sec ? k : null;
}

/** Why `sec` cannot be a clock interval on this grid, with the fix: `stepsField` and the nearest whole multiples. */
function notWholeSteps(sec: number, stepSec: number, stepsField: string): string {
  const below = Math.floor(sec / stepSec);
  const nearest = [below, below + 1].filter((k) => k >= 1).map((k) => `${clean(k * stepSec)} s (${k} step${k === 1 ? "" : "s"})`);
  return (
    `an interval of ${clean(sec)} s is not a whole number of the grid's ${clean(stepSec)} s steps (stepMinutes ${clean(stepSec / 60)}), ` +
    `and a clock between steps skips rebalances; give ${stepsField} or a whole multiple: ${nearest.join(" or ")}`
  );
}

/** What is wrong with a clock policy on a grid of `stepSec`, or null. */
function clockProblem(p: ClockPolicy, stepSec: number): string | null {
  if ((p.intervalSec === undefined) === (p.intervalSteps === undefined)) {
    return `give exactly one of intervalSec (seconds, a whole number of steps) or intervalSteps (grid steps), not ${p.intervalSec === undefined ? "neither" : "both"}`;
  }
  if (p.intervalSec !== undefined && wholeSteps(p.intervalSec, stepSec) === null) return notWholeSteps(p.intervalSec, stepSec, "intervalSteps (clock:<N>steps on the command line)");
  return null;
}

/**
 * A clock policy's interval in whole grid steps of `dtSec` seconds: its `intervalSteps`, or its `intervalSec` when
 * that is a whole number of steps. The engine compares steps, not float seconds, so no rebalance is skipped.
 * Throws a ScenarioError (with the fix) otherwise; parseScenario already refuses such a policy.
 */
export function clockIntervalSteps(p: ClockPolicy, dtSec: number): number {
  const problem = clockProblem(p, dtSec);
  if (problem) throw new ScenarioError(`clock policy ${JSON.stringify(p)}: ${problem}`);
  return p.intervalSteps ?? wholeSteps(p.intervalSec!, dtSec)!;
}

/** Validates raw scenario data; `source` names where it came from in every message. */
export function parseScenario(raw: unknown, source: string): Scenario {
  const r = scenarioSchema.safeParse(raw);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => `  ${i.path.join(".") || "(top level)"}: ${i.message}`);
  throw new ScenarioError(`${source} is not a valid scenario:\n${lines.join("\n")}\nSee config/scenarios/README.md for every field.`);
}

/** A scenario file's raw fields (YAML or JSON), before validation. */
export function readScenarioData(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new ScenarioError(`cannot read scenario ${file}: ${(e as Error).message}`);
  }
  const json = file.toLowerCase().endsWith(".json");
  let raw: unknown;
  try {
    raw = json ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new ScenarioError(`${file} is not valid ${json ? "JSON" : "YAML"}: ${(e as Error).message}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new ScenarioError(`${file}: expected a mapping of scenario fields`);
  return raw as Record<string, unknown>;
}

/** A replay's CSV path is taken relative to the scenario file that names it. */
export function resolveReplayPath(s: Scenario, scenarioFile: string): Scenario {
  if (s.model.kind === "replay" && !path.isAbsolute(s.model.file)) s.model.file = path.resolve(path.dirname(scenarioFile), s.model.file);
  return s;
}

/** Reads and validates a YAML or JSON scenario. */
export function loadScenarioFile(file: string): Scenario {
  return resolveReplayPath(parseScenario(readScenarioData(file), file), file);
}

/** A policy's display name: its own, or its kind and parameter. */
export function policyLabel(p: SimPolicy): string {
  if (p.name) return p.name;
  switch (p.kind) {
    case "clock":
      return p.intervalSteps !== undefined ? `clock ${p.intervalSteps} step${p.intervalSteps === 1 ? "" : "s"}` : `clock ${formatInterval(p.intervalSec!)}`;
    case "fixed":
      return `fixed |dev|>${clean(p.thresholdTokens)}`;
    case "whalley-wilmott":
      return `WW γ=${clean(p.riskAversion)}`;
    case "zakamouline":
      return `Zak γ=${clean(p.riskAversion)}`;
  }
}

function formatInterval(sec: number): string {
  if (sec % 86_400 === 0) return `${sec / 86_400}d`;
  if (sec % 3600 === 0) return `${sec / 3600}h`;
  if (sec % 60 === 0) return `${sec / 60}m`;
  return `${sec}s`;
}
