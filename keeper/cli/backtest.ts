import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { frontiers, savingsAgainst, sweepPolicies } from "../sim/frontier";
import { renderFrontierSvg } from "../sim/frontier-svg";
import { summarize } from "../sim/metrics";
import { formatCsv, formatTable } from "../sim/results-format";
import { defaultWorkers, prepareSimulation, runSimulation } from "../sim/run-simulation";
import { clockIntervalSteps, INITIAL_HEDGES, parseScenario, policyLabel, readScenarioData, resolveReplayPath, type Scenario, ScenarioError, type SimPolicy } from "../sim/scenario";
import { CliError, EXIT_USAGE } from "./cli-error";
import { refuseIfNotAFolder, refuseIfNotAFile } from "./files";

type Print = (s: string) => void;

/** Flags of `backtest`; each overrides the scenario file's field of the same meaning. */
export interface BacktestCliOptions {
  spot?: string;
  days?: string;
  stepMinutes?: string;
  paths?: string;
  seed?: string;
  model?: string;
  vol?: string;
  drift?: string;
  jumpsPerYear?: string;
  jumpMean?: string;
  jumpStd?: string;
  v0?: string;
  theta?: string;
  kappa?: string;
  xi?: string;
  rho?: string;
  replay?: string;
  option?: string[];
  staticTokens?: string;
  jlpDelta?: string;
  jlpFlowVol?: string;
  hedgeVol?: string;
  hedgeRatio?: string;
  feeBps?: string;
  increaseBps?: string;
  decreaseBps?: string;
  impactScalar?: string;
  borrowPctPerHour?: string;
  txCostUsd?: string;
  latencySec?: string;
  minTrade?: string;
  maxTrade?: string;
  cooldownSec?: string;
  policy?: string[];
  initialHedge?: string;
  utilityRiskAversion?: string;
  targetLeverage?: string;
  collateralPolicy?: boolean;
  floorSigmas?: string;
  ceilingSigmas?: string;
  sweep?: boolean;
  workers?: string;
  out?: string;
  quiet?: boolean;
}

/**
 * A flag's number: finite, and an exact integer's size at most (a custody's impact scalar is ~1e15; a hedge ratio
 * of 1e232 sent the sweep into growing an array until V8 aborted).
 */
function num(flag: string, v: string): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n)) throw new CliError(`--${flag} must be a number, got "${v}"`, EXIT_USAGE);
  if (Math.abs(n) > Number.MAX_SAFE_INTEGER) throw new CliError(`--${flag} ${v} is out of range; fix: use a value between -${Number.MAX_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}`, EXIT_USAGE);
  return n;
}

/** 86400, 300s, 15m, 4h, 1d → seconds. */
function parseDurationSec(v: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d)?$/.exec(v.trim());
  if (!m) throw new CliError(`${what}: "${v}" is not a duration such as 900, 15m, 4h or 1d, nor grid steps such as 12steps`, EXIT_USAGE);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[(m[2] ?? "s") as "s" | "m" | "h" | "d"];
}

/** 12steps, 1step → a whole number of grid steps; anything else is a duration. */
function parseClockSpec(spec: string, value: string): SimPolicy {
  const steps = /^(.*?)\s*steps?$/.exec(value.trim());
  if (!steps) return { kind: "clock", intervalSec: parseDurationSec(value, `--policy "${spec}"`) };
  const n = Number(steps[1]);
  if (steps[1]!.trim() === "" || !Number.isSafeInteger(n) || n < 1) throw new CliError(`--policy "${spec}": the clock's steps must be a whole number of at least 1, e.g. clock:12steps`, EXIT_USAGE);
  return { kind: "clock", intervalSteps: n };
}

/** ww:0.3, zak:1, fixed:0.1 (tokens), clock:4h, clock:12steps (grid steps). */
function parsePolicySpec(spec: string): SimPolicy {
  const [kind, value, extra] = spec.split(":");
  const fail = () => new CliError(`--policy "${spec}": expected ww:<risk aversion>, zak:<risk aversion>, fixed:<threshold tokens>, clock:<interval like 4h> or clock:<N>steps`, EXIT_USAGE);
  if (value === undefined || extra !== undefined) throw fail();
  switch (kind) {
    case "ww":
      return { kind: "whalley-wilmott", riskAversion: num("policy", value) };
    case "zak":
      return { kind: "zakamouline", riskAversion: num("policy", value) };
    case "fixed":
      return { kind: "fixed", thresholdTokens: num("policy", value) };
    case "clock":
      return parseClockSpec(spec, value);
    default:
      throw fail();
  }
}

/** call:100:30:1:0.6 = kind:strike:expiryDays:quantity:impliedVol. */
function parseOptionSpec(spec: string): Record<string, unknown> {
  const parts = spec.split(":");
  if (parts.length !== 5) throw new CliError(`--option "${spec}": expected kind:strike:expiryDays:quantity:impliedVol, e.g. call:100:30:-1:0.8`, EXIT_USAGE);
  const [kind, strike, expiryDays, quantity, impliedVol] = parts as [string, string, string, string, string];
  return { kind, strike: num("option strike", strike), expiryDays: num("option expiryDays", expiryDays), quantity: num("option quantity", quantity), impliedVol: num("option impliedVol", impliedVol) };
}

type Raw = Record<string, unknown>;

/** raw[key] as an object to set flags in; flags win over whatever the file had there. */
function obj(raw: Raw, key: string): Raw {
  const v = raw[key];
  if (typeof v !== "object" || v === null || Array.isArray(v)) raw[key] = {};
  return raw[key] as Raw;
}

/** The scenario file's raw data with the flags laid over it; the schema then validates the result. */
function applyFlags(base: Raw, o: BacktestCliOptions): Raw {
  const raw: Raw = structuredClone(base);
  const set = (target: Raw, key: string, flag: string, v: string | undefined) => {
    if (v !== undefined) target[key] = num(flag, v);
  };
  set(raw, "spot", "spot", o.spot);
  set(raw, "days", "days", o.days);
  set(raw, "stepMinutes", "step-minutes", o.stepMinutes);
  set(raw, "paths", "paths", o.paths);
  set(raw, "seed", "seed", o.seed);
  if (o.model !== undefined || o.replay !== undefined) {
    const kind = o.model ?? "replay";
    const prev = (raw.model as Raw | undefined) ?? {};
    raw.model = prev.kind === kind ? prev : { kind };
  }
  if (o.replay !== undefined) obj(raw, "model").file = o.replay;
  const model = () => obj(raw, "model");
  for (const [key, flag, v] of [
    ["vol", "vol", o.vol],
    ["drift", "drift", o.drift],
    ["jumpsPerYear", "jumps-per-year", o.jumpsPerYear],
    ["jumpMean", "jump-mean", o.jumpMean],
    ["jumpStd", "jump-std", o.jumpStd],
    ["v0", "v0", o.v0],
    ["theta", "theta", o.theta],
    ["kappa", "kappa", o.kappa],
    ["xi", "xi", o.xi],
    ["rho", "rho", o.rho],
  ] as const) {
    if (v !== undefined) set(model(), key, flag, v);
  }
  if (o.option?.length || o.staticTokens !== undefined || o.jlpDelta !== undefined) {
    const book = obj(raw, "book");
    if (o.option?.length) book.options = o.option.map(parseOptionSpec);
    set(book, "staticTokens", "static-tokens", o.staticTokens);
    if (o.jlpDelta !== undefined) book.jlp = { deltaTokens: num("jlp-delta", o.jlpDelta), flowVolTokens: o.jlpFlowVol === undefined ? 0 : num("jlp-flow-vol", o.jlpFlowVol) };
  }
  set(raw, "hedgeVol", "hedge-vol", o.hedgeVol);
  set(raw, "hedgeRatio", "hedge-ratio", o.hedgeRatio);
  const costFlags = [o.feeBps, o.increaseBps, o.decreaseBps, o.impactScalar, o.borrowPctPerHour, o.txCostUsd, o.latencySec];
  if (costFlags.some((v) => v !== undefined)) {
    const costs = obj(raw, "costs");
    if (o.feeBps !== undefined) costs.increaseBps = costs.decreaseBps = num("fee-bps", o.feeBps);
    set(costs, "increaseBps", "increase-bps", o.increaseBps);
    set(costs, "decreaseBps", "decrease-bps", o.decreaseBps);
    set(costs, "impactFeeScalar", "impact-scalar", o.impactScalar);
    set(costs, "borrowPercentPerHour", "borrow-pct-per-hour", o.borrowPctPerHour);
    set(costs, "txCostUsd", "tx-cost-usd", o.txCostUsd);
    set(costs, "latencySec", "latency-sec", o.latencySec);
  }
  if (o.minTrade !== undefined || o.maxTrade !== undefined || o.cooldownSec !== undefined) {
    const trade = obj(raw, "trade");
    set(trade, "minTradeTokens", "min-trade", o.minTrade);
    set(trade, "maxTradeTokens", "max-trade", o.maxTrade);
    set(trade, "cooldownSec", "cooldown-sec", o.cooldownSec);
  }
  if (o.policy?.length) raw.policies = o.policy.map(parsePolicySpec);
  if (o.initialHedge !== undefined) {
    if (!(INITIAL_HEDGES as readonly string[]).includes(o.initialHedge)) {
      throw new CliError(`--initial-hedge must be target (every policy trades to the target hedge at inception) or policy (the hedge starts at 0 and the policy decides at t = 0), got "${o.initialHedge}"`, EXIT_USAGE);
    }
    raw.initialHedge = o.initialHedge;
  }
  set(raw, "utilityRiskAversion", "utility-risk-aversion", o.utilityRiskAversion);
  set(raw, "targetLeverage", "target-leverage", o.targetLeverage);
  if (o.collateralPolicy !== undefined || o.floorSigmas !== undefined || o.ceilingSigmas !== undefined) {
    const collateral = obj(raw, "collateral");
    if (o.collateralPolicy !== undefined) collateral.enabled = o.collateralPolicy;
    set(collateral, "floorSigmas", "floor-sigmas", o.floorSigmas);
    set(collateral, "ceilingSigmas", "ceiling-sigmas", o.ceilingSigmas);
  }
  return raw;
}

function resolveScenario(file: string | undefined, o: BacktestCliOptions): Scenario {
  try {
    const s = parseScenario(applyFlags(file ? readScenarioData(file) : {}, o), file ?? "the command line");
    // A --replay path is the user's own, relative to where they stand.
    return file && o.replay === undefined ? resolveReplayPath(s, file) : s;
  } catch (e) {
    if (e instanceof ScenarioError) throw new CliError(`${e.message}${file ? "" : "\nWithout a scenario file give at least --spot, --days, --model, --vol, an --option or --static-tokens, and a --policy."}`, EXIT_USAGE);
    throw e;
  }
}

/** Progress on stderr: at most once a second, with paths per second and time left. */
function progressPrinter(err: Print, total: number, quiet: boolean): (done: number) => void {
  const started = Date.now();
  let lastAt = 0;
  return (done) => {
    const now = Date.now();
    if (quiet || (now - lastAt < 1000 && done < total)) return;
    lastAt = now;
    const rate = done / Math.max(0.001, (now - started) / 1000);
    const left = rate > 0 ? (total - done) / rate : Infinity;
    err(`paths ${done}/${total} (${((100 * done) / total).toFixed(0)}%), ${rate.toFixed(1)} paths/s, ${Number.isFinite(left) ? `${left.toFixed(0)} s left` : "…"}`);
  };
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "scenario";

/** `backtest`: run a scenario over simulated paths with the keeper's own decision code; table, CSV, JSON, SVG. */
export async function runBacktest(file: string | undefined, o: BacktestCliOptions, out: Print, err: Print): Promise<void> {
  if (file !== undefined) refuseIfNotAFile(file, "scenario");
  if (o.out !== undefined) refuseIfNotAFolder(o.out, "--out");
  const scenario = resolveScenario(file, o);
  if (scenario.model.kind === "replay") refuseIfNotAFile(scenario.model.file, "replay file");
  const workers = o.workers === undefined ? defaultWorkers() : num("workers", o.workers);
  if (!Number.isInteger(workers) || workers < 1) throw new CliError(`--workers must be a whole number of at least 1, got ${o.workers}`, EXIT_USAGE);
  let policies = scenario.policies;
  if (o.sweep) {
    // A clock is the same policy whether given in seconds or steps (1h is 12 steps of 5 minutes): run it once.
    const stepSec = scenario.stepMinutes * 60;
    const identity = (p: SimPolicy) => (p.kind === "clock" ? `clock every ${clockIntervalSteps(p, stepSec)} steps` : policyLabel(p));
    const seen = new Set(policies.map(identity));
    policies = [...policies, ...sweepPolicies(scenario).filter((p) => !seen.has(identity(p)))];
  }
  let setup;
  try {
    setup = prepareSimulation(scenario, policies);
  } catch (e) {
    if (e instanceof ScenarioError) throw new CliError(e.message, EXIT_USAGE);
    throw e;
  }
  const names = policies.map(policyLabel);
  if (!o.quiet) err(`${scenario.name}: ${setup.paths} paths × ${Math.round((scenario.days * 1440) / scenario.stepMinutes)} steps × ${policies.length} policies on ${workers} worker${workers > 1 ? "s" : ""}`);
  const started = Date.now();
  const paths = await runSimulation(setup, { workers, onProgress: progressPrinter(err, setup.paths, !!o.quiet) });
  const seconds = (Date.now() - started) / 1000;
  const summary = summarize(paths, names, scenario.utilityRiskAversion);
  out(formatTable(summary));
  out(`ran in ${seconds.toFixed(1)} s on ${workers} worker${workers > 1 ? "s" : ""} (${os.cpus()[0]?.model.trim() ?? "unknown cpu"})`);

  const dir = o.out ?? `backtest-${slug(scenario.name)}`;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "results.csv"), formatCsv(summary));
  const written = [path.join(dir, "results.csv"), path.join(dir, "results.json")];
  let frontierData: unknown;
  if (o.sweep) {
    const fronts = frontiers(policies, summary.policies, scenario.stepMinutes * 60);
    const clock = fronts.find((f) => f.kind === "clock");
    const savings = clock ? fronts.filter((f) => f !== clock).map((f) => ({ kind: f.kind, againstClock: savingsAgainst(f, clock) })) : [];
    for (const s of savings) {
      for (const p of s.againstClock) out(`${p.name}: TE ${p.trackingErrorStd.toFixed(3)}, cost ${p.costUsd.toFixed(3)} vs clock ${p.baselineCostUsd.toFixed(3)} at the same TE: ${(100 * p.saving).toFixed(1)}% cheaper`);
    }
    // Absurd inputs (a 1e300-token book) leave no finite, positive tracking error to place on the chart.
    if (fronts.some((f) => f.points.some((p) => p.trackingErrorStd > 0))) {
      fs.writeFileSync(path.join(dir, "frontier.svg"), renderFrontierSvg(fronts, `${scenario.name}: cost vs tracking error (${setup.paths} paths)`));
      written.push(path.join(dir, "frontier.svg"));
    } else out("no frontier.svg: no policy in the sweep had a positive, finite tracking error to draw");
    frontierData = { frontiers: fronts, savings };
  }
  fs.writeFileSync(path.join(dir, "results.json"), JSON.stringify({ scenario, paths: setup.paths, workers, seconds, summary, ...(frontierData ? { frontier: frontierData } : {}) }, null, 2) + "\n");
  out(`wrote ${written.join(", ")}`);
}
