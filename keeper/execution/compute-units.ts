/**
 * Compute-unit limits without a simulation on the send path: each kind of request the keeper sends has a limit
 * calibrated from units it was seen to consume (a simulation at start, the landed transactions' meta, a
 * re-simulation), times the configured margin. A kind never measured gets the configured default. Pure.
 */

/** What changes a request's compute: the instruction, whether it only moves collateral, SOL wrapping, a swap. */
export interface RequestShape {
  change: "increase" | "decrease";
  purpose: "hedge" | "collateral";
  /** ATA create + transfer + SyncNative before the request. */
  wrapSol: boolean;
  /** The request carries a jupiterMinimumOut: its funding is swapped at the fill. */
  swap: boolean;
}

/** "increase", "deposit+wrap", "increase+swap", "withdraw", ...: the key of a kind's calibration. */
export function kindOf(s: RequestShape): string {
  const base = s.purpose === "collateral" ? (s.change === "increase" ? "deposit" : "withdraw") : s.change;
  return `${base}${s.wrapSol ? "+wrap" : ""}${s.swap ? "+swap" : ""}`;
}

export interface ComputeUnitConfig {
  /** Consumed units times this: what a kind's instructions may need beyond what was measured. */
  margin: number;
  minUnits: number;
  /** The signing policy's cap (execution.signing.maxComputeUnitLimit). */
  maxUnits: number;
  /** The limit of a kind not yet calibrated (its calibration simulation failed or has not run). */
  defaultUnits: number;
  /** How many recent measurements a kind keeps; its limit follows the largest of them. */
  window: number;
  /** Added to a calibrated limit for the address searches a new request may need beyond those measured (0 if absent). */
  searchAllowanceUnits?: number;
}

/**
 * The program derives each new request's PDA, and the token program its token account, with find_program_address:
 * 1,500 CU per bump tried, and a fresh counter may need more tries than any measured one (on the localnet 1 send in
 * ~10 at 1.1x a single simulation ran out). Eight more tries for each of the two searches: exceeded about once in 2^8.
 */
export const ADDRESS_SEARCH_ALLOWANCE_UNITS = 2 * 8 * 1_500;

export type UnitSource = "simulated" | "landed" | "exhausted";

export interface KindCalibration {
  /** Units consumed, newest last, at most `window` of them. */
  samples: readonly number[];
  source: UnitSource;
}

export type CalibrationTable = ReadonlyMap<string, KindCalibration>;

export interface UnitLimit {
  units: number;
  calibrated: boolean;
}

const clamp = (units: number, cfg: ComputeUnitConfig) => Math.min(cfg.maxUnits, Math.max(cfg.minUnits, units));

/** The limit a kind's next transaction asks for: the largest recent measurement times the margin, or the default. */
export function limitFor(table: CalibrationTable, kind: string, cfg: ComputeUnitConfig): UnitLimit {
  const c = table.get(kind);
  if (!c || c.samples.length === 0) return { units: clamp(cfg.defaultUnits, cfg), calibrated: false };
  return { units: clamp(Math.ceil(Math.max(...c.samples) * cfg.margin) + (cfg.searchAllowanceUnits ?? 0), cfg), calibrated: true };
}

/** A new table with `consumedUnits` measured for `kind`; the oldest measurement drops out past the window. */
export function observe(table: CalibrationTable, kind: string, consumedUnits: number, source: UnitSource, cfg: ComputeUnitConfig): CalibrationTable {
  if (!Number.isFinite(consumedUnits) || consumedUnits <= 0) return table;
  const samples = [...(table.get(kind)?.samples ?? []), Math.ceil(consumedUnits)].slice(-Math.max(1, cfg.window));
  return new Map(table).set(kind, { samples, source });
}

/**
 * A transaction of `kind` ran out at `limitUnits`: it needed more than that, so the limit counts as consumed and
 * the next one asks for the margin on top, until a re-simulation or a landed transaction measures it again.
 */
export function exhausted(table: CalibrationTable, kind: string, limitUnits: number, cfg: ComputeUnitConfig): CalibrationTable {
  return observe(table, kind, limitUnits, "exhausted", cfg);
}

const EXHAUSTED_LOG = /exceeded CUs meter|Computational budget exceeded/i;

/** True when a transaction error (or its logs) says it ran out of compute units. */
export function ranOutOfComputeUnits(err: unknown, logs: readonly string[] = []): boolean {
  const ie = (err as { InstructionError?: [number, unknown] } | null)?.InstructionError;
  if (ie && ie[1] === "ComputationalBudgetExceeded") return true;
  return logs.some((l) => EXHAUSTED_LOG.test(l));
}
