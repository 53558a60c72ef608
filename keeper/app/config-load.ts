import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import type { z } from "zod";
import { redactUrl } from "../lib/redact";
import { BookFileError, parseBookFile } from "../exposure/book-file";
import type { OptionLeg } from "../exposure/options-book";
import { type KeeperConfig, type MandateConfig, configSchema, mandateSchema } from "./config";
import { jlpBandProblems } from "./jlp-band";
import { configLegs } from "./mandate-book";

/**
 * Loading a config: file (YAML or JSON), then environment overrides, then command-line overrides, then the
 * schema. Every problem is reported at once, each with its path and what to do about it.
 */

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
    what = "keeper config",
  ) {
    // One problem is one line (what a log or a terminal shows first); several are listed under a heading.
    super(problems.length === 1 ? `${source} is not a valid ${what}: ${problems[0]}` : `${source} is not a valid ${what}:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  }
}

/** Environment overrides: GAMMA_KEEPER__<path> with "__" between keys, e.g. GAMMA_KEEPER__rpc__url. */
export const ENV_PREFIX = "GAMMA_KEEPER__";

function fixFor(issue: z.ZodIssue): string {
  switch (issue.code) {
    case "invalid_type":
      return issue.received === "undefined" ? `add it (${issue.expected})` : `use a ${issue.expected}, not a ${issue.received}`;
    case "invalid_enum_value":
      return `use one of: ${issue.options.join(", ")}`;
    case "invalid_literal":
      return `use ${JSON.stringify(issue.expected)}`;
    case "unrecognized_keys":
      return `remove ${issue.keys.join(", ")} or fix the spelling (see config/README.md for the keys)`;
    case "invalid_union_discriminator":
      return `set it to one of: ${issue.options.map(String).join(", ")}`;
    case "too_small":
      return issue.type === "array" ? `list at least ${issue.minimum}` : `use a value ${issue.inclusive ? ">=" : ">"} ${issue.minimum}`;
    case "too_big":
      return `use a value ${issue.inclusive ? "<=" : "<"} ${issue.maximum}`;
    case "invalid_string":
      return issue.validation === "url" ? "use a full URL such as https://host/path" : "fix the format";
    case "not_multiple_of":
      return `use a multiple of ${issue.multipleOf}`;
    default:
      return "see config/README.md for the field";
  }
}

/** One line per field with a problem (its first issue): where, what is wrong, and the fix. */
export function describeIssues(error: z.ZodError, prefix: (string | number)[] = []): string[] {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const i of error.issues) {
    const where = [...prefix, ...i.path].join(".") || "(top level)";
    if (seen.has(where)) continue;
    seen.add(where);
    // A custom check's message already says what a valid value looks like.
    lines.push(i.code === "custom" ? `${where}: ${i.message}` : `${where}: ${i.message}; fix: ${fixFor(i)}`);
  }
  return lines;
}

/** A file's content, parsed (YAML or JSON); problems are ConfigErrors naming the file. */
export function readStructured(file: string): unknown {
  let text: string;
  try {
    // A FIFO with no writer would block the read forever; a directory cannot be read.
    if (!fs.statSync(file).isFile()) throw new ConfigError(file, ["not a regular file; fix: pass the path of a YAML or JSON config file"]);
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(file, [`cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); fix: check the path`]);
  }
  const json = /\.json$/i.test(file);
  try {
    return json ? JSON.parse(text) : YAML.parse(text);
  } catch (e) {
    throw new ConfigError(file, [`not valid ${json ? "JSON" : "YAML"}: ${(e as Error).message.split("\n")[0]}; fix: correct the syntax at that line`]);
  }
}

/** Keys that reach an object's prototype instead of a field of the config. */
const PROTOTYPE_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/** Set `dotted.path` in a plain object tree to `value`, creating objects (or array slots for numeric keys). */
function setPath(root: Record<string, unknown>, keys: string[], value: unknown, source: string) {
  const bad = keys.find((k) => PROTOTYPE_KEYS.has(k) || k === "");
  if (bad !== undefined) {
    throw new ConfigError(source, [`${keys.join(".")}: "${bad}" is not a config key; fix: name a field of the config, like execution.priorityFee.percentile`]);
  }
  let node: Record<string, unknown> = root;
  for (const [i, key] of keys.entries()) {
    if (i === keys.length - 1) {
      node[key] = value;
      return;
    }
    const next = node[key];
    if (typeof next !== "object" || next === null) node[key] = /^\d+$/.test(keys[i + 1]!) ? [] : {};
    node = node[key] as Record<string, unknown>;
  }
}

/** Values are YAML scalars, so "true", "25" and "[SOL, ETH]" arrive typed; anything else stays a string. */
function overrideValue(text: string): unknown {
  try {
    return YAML.parse(text);
  } catch {
    return text;
  }
}

export interface Overrides {
  /** The process environment (only GAMMA_KEEPER__ variables are read). */
  env?: NodeJS.ProcessEnv;
  /** `path=value` pairs from --set, applied last. */
  set?: string[];
}

export function applyOverrides(data: unknown, o: Overrides): Record<string, unknown> {
  const root = (typeof data === "object" && data !== null && !Array.isArray(data) ? structuredClone(data) : {}) as Record<string, unknown>;
  for (const [name, value] of Object.entries(o.env ?? {})) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    setPath(root, name.slice(ENV_PREFIX.length).split("__"), overrideValue(value), name);
  }
  for (const pair of o.set ?? []) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new ConfigError("--set", [`"${pair}" is not path=value; fix: write it like execution.priorityFee.percentile=90`]);
    setPath(root, pair.slice(0, eq).split("."), overrideValue(pair.slice(eq + 1)), `--set ${pair}`);
  }
  return root;
}

/** Config amounts become integer micro-units (USD x 1e6 and the like), exact in a double only up to 2^53. */
const MAX_MAGNITUDE = Math.floor(Number.MAX_SAFE_INTEGER / 1e6);

/**
 * Every number in a parsed file, checked before the schema: YAML's .inf/.nan and JSON's 1e400 parse to numbers
 * that the schema's ranges let through (Infinity is > 0) and that later size trades.
 */
function numberProblems(value: unknown, where: (string | number)[]): string[] {
  if (typeof value === "number") {
    const at = where.join(".") || "(top level)";
    if (!Number.isFinite(value)) return [`${at}: ${value} is not a finite number (YAML .inf/.nan, or a literal beyond 1.8e308); fix: use a finite number`];
    if (Math.abs(value) > MAX_MAGNITUDE) return [`${at}: ${value} is out of range; fix: use a value between -${MAX_MAGNITUDE} and ${MAX_MAGNITUDE}`];
    return [];
  }
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => numberProblems(v, [...where, k]));
}

/** Validates with `schema` after the number check; a field the number check refused gets no second line. */
function validated<T extends z.ZodTypeAny>(schema: T, data: unknown, prefix: (string | number)[]): { data?: z.infer<T>; problems: string[] } {
  const numbers = numberProblems(data, prefix);
  const r = schema.safeParse(data);
  if (r.success && numbers.length === 0) return { data: r.data, problems: [] };
  const refused = new Set(numbers.map((p) => p.slice(0, p.indexOf(": "))));
  const others = r.success ? [] : describeIssues(r.error, prefix).filter((p) => !refused.has(p.slice(0, p.indexOf(": "))));
  return { problems: [...numbers, ...others] };
}

/** The moment a check counts expiries from: a relative expiry ("+30d") is counted from it, as the keeper does at start. */
const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * Rules between fields, each of which the schema checks alone. `where` prefixes each field: "mandates.0." in a
 * config, "mandate file F: " for a listed file, "" for a mandate file checked on its own. `nowSec` is the check's
 * time: legs expired by then have no gamma to give a band.
 */
function mandateProblems(m: MandateConfig, where: string, nowSec: number): string[] {
  const problems: string[] = [];
  if ((m.keypairFile === undefined) === (m.keypairEnv === undefined)) {
    problems.push(`${where}keypairFile: mandate ${m.name} must set exactly one of keypairFile and keypairEnv; fix: keypairFile: ./wallet.json (mode 0600) or keypairEnv: GK_${m.name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_KEY`);
  }
  const { minTradeUsd, maxTradeUsd } = m.trade;
  if (minTradeUsd > maxTradeUsd) problems.push(`${where}trade.minTradeUsd: ${minTradeUsd} is above maxTradeUsd ${maxTradeUsd}; fix: lower minTradeUsd or raise maxTradeUsd`);
  if (m.targetLeverage > m.limits.maxLeverage) {
    problems.push(`${where}targetLeverage: ${m.targetLeverage} is above limits.maxLeverage ${m.limits.maxLeverage}; fix: lower targetLeverage to at most ${m.limits.maxLeverage} (every increase would be vetoed)`);
  }
  for (const [market, target] of Object.entries(m.targetNetDelta) as [string, number][]) {
    const limit = (m.limits.maxNetDeltaTokens as Record<string, number | undefined>)[market];
    if (!m.markets.includes(market as never)) problems.push(`${where}targetNetDelta.${market}: ${market} is not in markets; fix: add it to markets or remove the target`);
    else if (limit !== undefined && Math.abs(target) > limit) {
      problems.push(`${where}targetNetDelta.${market}: ${target} is beyond limits.maxNetDeltaTokens.${market} ${limit}; fix: keep the target within ±${limit} or raise the limit`);
    }
  }
  // A fixed policy without a threshold for a market it hedges would trade there on a band of zero width (every change
  // of the delta above minTradeUsd): the keeper used to fall back to 0.
  if (m.policy.kind === "fixed") {
    const thresholds = m.policy.thresholdTokens as Record<string, number | undefined>;
    for (const market of m.markets) {
      if (thresholds[market] === undefined) problems.push(`${where}policy.thresholdTokens.${market}: mandate ${m.name} hedges ${market} under a fixed threshold but gives none for it, so its band would have zero width and every change of the ${market} delta above trade.minTradeUsd would be traded; fix: set policy.thresholdTokens.${market} (tokens of ${market} the net delta may drift before a trade)`);
    }
  }
  // Refused as a target is: the keeper never hedges that market, so the flow vol would size no band and be ignored.
  for (const market of Object.keys(m.exposures.jlp?.deltaVolTokens ?? {})) {
    if (!m.markets.includes(market as never)) problems.push(`${where}exposures.jlp.deltaVolTokens.${market}: ${market} is not in markets, so this flow vol sizes no band; fix: add ${market} to markets or remove the flow vol`);
  }
  const inline = inlineLegs(m, where, nowSec);
  const file = m.exposures.optionsFile;
  const book = file ? optionsFile(file) : { legs: [], problems: [] };
  problems.push(...inline.problems, ...book.problems.map((p) => `${where}exposures.optionsFile: ${p}`));
  // A book that cannot be read says nothing about which markets have options.
  if (!inline.problems.length && !book.problems.length) problems.push(...jlpBandProblems(m, [...inline.legs, ...book.legs], where, nowSec));
  return problems;
}

/** The config's own legs as the keeper resolves them at start, a relative expiry ("+30d") counted from `nowSec`. */
function inlineLegs(m: MandateConfig, where: string, nowSec: number): { legs: OptionLeg[]; problems: string[] } {
  try {
    return { legs: configLegs(m, nowSec), problems: [] };
  } catch (e) {
    // The schema checked each expiry's form counted from time 0; only a relative one beyond a date's range from now is left.
    if (!(e instanceof BookFileError)) throw e;
    return { legs: [], problems: e.message.split("\n").map((p) => `${where}exposures.options: ${p}`) };
  }
}

/** The options book a mandate names, read and parsed as the keeper will at start: its legs, or why it cannot be. */
function optionsFile(file: string): { legs: OptionLeg[]; problems: string[] } {
  let text: string;
  try {
    // Never open a FIFO or device: a read with no writer blocks forever.
    if (!fs.statSync(file).isFile()) return { legs: [], problems: [`${file} is not a regular file; fix: point optionsFile at a CSV or JSON options book`] };
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    return { legs: [], problems: [`cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); fix: create it or correct the path (relative to the config's folder)`] };
  }
  try {
    return { legs: parseBookFile(text, path.basename(file)), problems: [] };
  } catch (e) {
    if (!(e instanceof BookFileError)) throw e;
    return { legs: [], problems: e.message.split("\n") };
  }
}

/**
 * Does a file hold one mandate rather than a keeper config? A DAO checks its own mandate file, which has none of a
 * config's top-level keys and some of a mandate's.
 */
export function isMandateData(data: unknown): boolean {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return false;
  const keys = Object.keys(data);
  // A mandate's own keys decide first: a DAO's file with a stray `rpc:` is a mandate file with an unknown key.
  if (["name", "wallet", "markets"].every((k) => keys.includes(k)) && !keys.includes("mandates")) return true;
  return !keys.some((k) => ["rpc", "mandates", "mandateFiles"].includes(k)) && keys.some((k) => ["name", "wallet", "keypairFile", "keypairEnv", "limits"].includes(k));
}

/** A mandate's paths, resolved against the folder of the file that names them. */
function resolvePaths(m: MandateConfig, dir: string): MandateConfig {
  if (m.keypairFile) m.keypairFile = path.resolve(dir, m.keypairFile);
  if (m.exposures.optionsFile) m.exposures.optionsFile = path.resolve(dir, m.exposures.optionsFile);
  return m;
}

/** A mandate on its own (a mandate file's content, after --set): the schema and every rule between its fields. */
export function checkMandate(data: unknown, baseDir: string, where = "", nowSec = nowSeconds()): { mandate?: MandateConfig; problems: string[] } {
  const r = validated(mandateSchema, data, []);
  if (!r.data) return { problems: r.problems.map((p) => where + p) };
  const m = resolvePaths(r.data, baseDir);
  const problems = mandateProblems(m, where, nowSec);
  return problems.length ? { problems } : { mandate: m, problems };
}

/** A file in a config's mandateFiles; a file that cannot be read or parsed is a problem of the config, not a stop. */
function loadMandateFile(file: string, nowSec: number): { mandate?: MandateConfig; problems: string[] } {
  const where = `mandate file ${file}: `;
  try {
    return checkMandate(readStructured(file), path.dirname(file), where, nowSec);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { problems: e.problems.map((p) => where + p) };
  }
}

/** The mandateFiles a config lists, when the config as a whole did not validate: they are checked all the same. */
function listedMandateFiles(data: unknown): string[] {
  const files = (data as { mandateFiles?: unknown } | null)?.mandateFiles;
  return Array.isArray(files) ? files.filter((f): f is string => typeof f === "string") : [];
}

export interface ConfigCheck {
  /** Only when there is no problem. */
  config?: KeeperConfig;
  /** Every mandate the schema accepted, so that their keys can be checked in the same pass. */
  mandates: MandateConfig[];
  problems: string[];
}

/**
 * Every problem of a config in one pass: the schema, each mandate file (read even when the config itself is
 * invalid), each mandate's rules.
 */
export function checkConfig(data: unknown, baseDir: string, nowSec = nowSeconds()): ConfigCheck {
  const r = validated(configSchema, data, []);
  const problems = [...r.problems];
  const cfg = r.data;
  const mandates = (cfg?.mandates ?? []).map((m, i) => ({ m: resolvePaths(m, baseDir), where: `mandates.${i}.` }));
  for (const { m, where } of mandates) problems.push(...mandateProblems(m, where, nowSec));
  for (const f of cfg?.mandateFiles ?? listedMandateFiles(data)) {
    const file = path.resolve(baseDir, f);
    const loaded = loadMandateFile(file, nowSec);
    problems.push(...loaded.problems);
    if (loaded.mandate) mandates.push({ m: loaded.mandate, where: `mandate file ${file}: ` });
  }
  const valid = mandates.map(({ m }) => m);
  if (!cfg) return { mandates: valid, problems };
  if (mandates.length === 0 && problems.length === 0) problems.push("mandates: no mandate to hedge; fix: add one under mandates or list a file in mandateFiles");
  const names = new Set<string>();
  for (const { m, where } of mandates) {
    if (names.has(m.name)) problems.push(`${where}name: "${m.name}" is used twice; fix: make names unique (they key the journal)`);
    names.add(m.name);
  }
  const fee = cfg.execution.priorityFee;
  if (fee.floorMicroLamports > fee.capMicroLamports) {
    problems.push(`execution.priorityFee.floorMicroLamports: ${fee.floorMicroLamports} is above capMicroLamports ${fee.capMicroLamports}; fix: lower the floor or raise the cap`);
  }
  if (problems.length) return { mandates: valid, problems };
  cfg.mandates = valid;
  cfg.stateDir = path.resolve(baseDir, cfg.stateDir);
  if (cfg.killFile) cfg.killFile = path.resolve(baseDir, cfg.killFile);
  return { config: cfg, mandates: valid, problems };
}

/** Validates an object (already overridden); relative paths resolve against `baseDir`, expiries are counted from `nowSec`. */
export function parseConfig(data: unknown, source: string, baseDir: string, nowSec = nowSeconds()): KeeperConfig {
  const r = checkConfig(data, baseDir, nowSec);
  if (!r.config) throw new ConfigError(source, r.problems);
  return r.config;
}

export function loadConfigFile(file: string, overrides: Overrides = {}): KeeperConfig {
  const data = readStructured(file);
  // Its problems as a config ("rpc: Required", its own keys unknown) would send the reader the wrong way.
  if (isMandateData(data)) {
    throw new ConfigError(file, [`it holds one mandate, not a keeper config; fix: list it under mandateFiles in the keeper's config, or check it alone with \`gamma-keeper config check ${file}\``]);
  }
  return parseConfig(applyOverrides(data, overrides), file, path.dirname(path.resolve(file)));
}

/** The effective config for printing: RPC and API URLs reduced to scheme and host, API keys starred. */
export function redactedConfig(cfg: KeeperConfig): unknown {
  const copy = structuredClone(cfg);
  copy.rpc.url = redactUrl(copy.rpc.url);
  if (copy.rpc.wsUrl) copy.rpc.wsUrl = redactUrl(copy.rpc.wsUrl);
  copy.rpc.fallbacks = copy.rpc.fallbacks.map((e) => ({ url: redactUrl(e.url), ...(e.wsUrl ? { wsUrl: redactUrl(e.wsUrl) } : {}) }));
  copy.execution.swapApi.url = redactUrl(copy.execution.swapApi.url);
  if (copy.execution.swapApi.apiKey) copy.execution.swapApi.apiKey = "***";
  if (copy.rpc.geyser) copy.rpc.geyser = { url: redactUrl(copy.rpc.geyser.url), ...(copy.rpc.geyser.xToken ? { xToken: "***" } : {}) };
  return copy;
}

/** Every secret a config carries, for scrubbing text that might quote one (errors from libraries). */
export function configSecrets(cfg: KeeperConfig): string[] {
  const urls = [cfg.rpc.url, cfg.rpc.wsUrl, ...cfg.rpc.fallbacks.flatMap((e) => [e.url, e.wsUrl]), cfg.rpc.geyser?.url, cfg.execution.swapApi.url];
  const keys = [cfg.execution.swapApi.apiKey, cfg.rpc.geyser?.xToken];
  return [...urls, ...keys].filter((s): s is string => !!s);
}
