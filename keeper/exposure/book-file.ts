import { isMarketSymbol } from "../../programs-client";
import type { OptionLeg } from "./options-book";

/**
 * Options books from files: a JSON array of legs, or CSV with the header
 *   underlying,kind,strike,expiry,quantity,impliedVol
 * where expiry is an ISO-8601 time or unix seconds (not a relative "+30d": see expirySeconds). Every bad field is
 * reported with its row and column.
 */

export class BookFileError extends Error {}

export interface RawLeg {
  underlying: unknown;
  kind: unknown;
  strike: unknown;
  expiry: unknown;
  quantity: unknown;
  impliedVol: unknown;
}

/** A relative expiry such as "+30d" or "+12h": days or hours after the moment the config was loaded. */
const RELATIVE_EXPIRY = /^\+(\d+)([dh])$/;
const RELATIVE_UNIT_SEC = { d: 86_400, h: 3_600 } as const;

function isDateSeconds(sec: number): boolean {
  return Number.isFinite(sec) && !Number.isNaN(new Date(sec * 1000).getTime());
}

interface Relative {
  text: string;
  offsetSec: number;
}

function relative(v: unknown): Relative | null {
  const text = typeof v === "string" ? v.trim() : "";
  const m = RELATIVE_EXPIRY.exec(text);
  return m ? { text, offsetSec: Number(m[1]) * RELATIVE_UNIT_SEC[m[2] as "d" | "h"] } : null;
}

/** What is wrong with `v` as a relative expiry (+0d, out of range) counted from `relativeToSec`; null if it is none, or a good one. */
export function relativeExpiryProblem(v: unknown, relativeToSec: number): string | null {
  const rel = relative(v);
  return rel ? relativeProblem(rel, relativeToSec) : null;
}

/** What is wrong with a relative expiry counted from `relativeToSec`, or null when it is a date after it. */
function relativeProblem({ text, offsetSec }: Relative, relativeToSec: number): string | null {
  if (offsetSec === 0) return `expiry "${text}" is the keeper's start, so the leg would be expired from the first cycle; fix: +1h or later`;
  if (!isDateSeconds(relativeToSec + offsetSec)) return `expiry "${text}" is out of range (after the year 275760, the last a date can hold); fix: a nearer expiry`;
  return null;
}

function absoluteSeconds(v: unknown): number | null {
  const sec = typeof v === "number" ? v : typeof v !== "string" || v.trim() === "" ? NaN : /^\d+$/.test(v.trim()) ? Number(v.trim()) : Math.floor(Date.parse(v) / 1000);
  return isDateSeconds(sec) ? sec : null;
}

/**
 * Why `v` is not an expiry (the message a user reads), or null when expirySeconds takes it. `relativeToSec` as for
 * expirySeconds: without it a relative expiry is refused.
 */
export function expiryProblem(v: unknown, relativeToSec?: number): string | null {
  const rel = relative(v);
  if (rel && relativeToSec === undefined)
    return `expiry "${rel.text}" is relative, which only the config's exposures.options accept (a reload of this file would roll it forward); fix: write an ISO-8601 time or unix seconds`;
  if (rel) return relativeProblem(rel, relativeToSec!);
  if (absoluteSeconds(v) !== null) return null;
  return `expiry "${String(v)}" must be an ISO-8601 time or unix seconds${relativeToSec === undefined ? "" : ", or +Nd / +Nh from now"}`;
}

/**
 * An expiry as unix seconds, or null unless it is a date a Date can hold (ISO-8601 text or unix seconds) or, when
 * `relativeToSec` is given, a relative expiry ("+30d", "+12h", at least one hour) counted from it. Book files pass
 * no `relativeToSec`: each reload would roll a relative expiry forward, so a leg would never expire.
 */
export function expirySeconds(v: unknown, relativeToSec?: number): number | null {
  const rel = relative(v);
  if (!rel) return absoluteSeconds(v);
  return relativeToSec === undefined || relativeProblem(rel, relativeToSec) !== null ? null : relativeToSec + rel.offsetSec;
}

function num(v: unknown): number {
  return typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
}

/**
 * Validates one leg; `where` prefixes every message (e.g. "book.csv row 3"). `relativeToSec` resolves a relative
 * expiry ("+30d"): the config's legs pass the load time, book files pass nothing and refuse one.
 */
export function parseLeg(raw: RawLeg, where: string, relativeToSec?: number): OptionLeg {
  if (typeof raw !== "object" || raw === null) throw new BookFileError(`${where}: ${JSON.stringify(raw)} is not a leg; expected {underlying, kind, strike, expiry, quantity, impliedVol}`);
  const errors: string[] = [];
  const underlying = String(raw.underlying ?? "").toUpperCase();
  if (!isMarketSymbol(underlying)) errors.push(`underlying "${String(raw.underlying)}" is not SOL, ETH or BTC`);
  const kind = String(raw.kind ?? "").toLowerCase();
  if (kind !== "call" && kind !== "put") errors.push(`kind "${String(raw.kind)}" must be call or put`);
  const strike = num(raw.strike);
  if (!(strike > 0)) errors.push(`strike "${String(raw.strike)}" must be a positive number (USD)`);
  const expirySec = expirySeconds(raw.expiry, relativeToSec);
  if (expirySec === null) errors.push(expiryProblem(raw.expiry, relativeToSec)!);
  const quantity = num(raw.quantity);
  if (!Number.isFinite(quantity)) errors.push(`quantity "${String(raw.quantity)}" must be a number (+ long, - short)`);
  const impliedVol = num(raw.impliedVol);
  if (!(impliedVol > 0 && impliedVol < 20)) errors.push(`impliedVol "${String(raw.impliedVol)}" must be an annual vol like 0.8`);
  if (errors.length) throw new BookFileError(errors.map((e) => `${where}: ${e}`).join("\n"));
  return { underlying: underlying as OptionLeg["underlying"], kind: kind as OptionLeg["kind"], strike, expirySec: expirySec!, quantity, impliedVol };
}

const CSV_COLUMNS = ["underlying", "kind", "strike", "expiry", "quantity", "impliedVol"] as const;

export function parseBookCsv(text: string, name: string): OptionLeg[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const header = (lines[0] ?? "").split(",").map((h) => h.trim());
  const index = CSV_COLUMNS.map((c) => header.indexOf(c));
  const absent = CSV_COLUMNS.filter((_, i) => index[i] === -1);
  if (absent.length) throw new BookFileError(`${name}: header lacks ${absent.join(", ")}; expected ${CSV_COLUMNS.join(",")}`);
  const legs: OptionLeg[] = [];
  const errors: string[] = [];
  lines.slice(1).forEach((line, i) => {
    if (line === "" || line.startsWith("#")) return;
    const cells = line.split(",");
    const raw = Object.fromEntries(CSV_COLUMNS.map((c, k) => [c, cells[index[k]!]?.trim()])) as unknown as RawLeg;
    try {
      legs.push(parseLeg(raw, `${name} row ${i + 2}`));
    } catch (e) {
      errors.push((e as Error).message);
    }
  });
  if (errors.length) throw new BookFileError(errors.join("\n"));
  return legs;
}

export function parseBookJson(text: string, name: string): OptionLeg[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new BookFileError(`${name}: not valid JSON (${(e as Error).message.split("\n")[0]})`);
  }
  const list = Array.isArray(data) ? data : (data as { legs?: unknown })?.legs;
  if (!Array.isArray(list)) throw new BookFileError(`${name}: expected an array of legs or {"legs": [...]}`);
  const errors: string[] = [];
  const legs: OptionLeg[] = [];
  list.forEach((raw, i) => {
    try {
      legs.push(parseLeg(raw as RawLeg, `${name} leg ${i}`));
    } catch (e) {
      errors.push((e as Error).message);
    }
  });
  if (errors.length) throw new BookFileError(errors.join("\n"));
  return legs;
}

export function parseBookFile(text: string, name: string): OptionLeg[] {
  return name.toLowerCase().endsWith(".csv") ? parseBookCsv(text, name) : parseBookJson(text, name);
}
