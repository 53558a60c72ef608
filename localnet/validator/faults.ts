import { seededUniform } from "../../keeper/lib/random";

/**
 * Fault knobs for reliability tests: every HTTP request can be delayed, dropped (the connection is cut with no
 * answer) or failed (an HTTP error status, as an overloaded provider answers). Decisions come from a seeded PRNG,
 * so a test that sets a seed sees the same faults on every run.
 */
export interface FaultSettings {
  /** Added to every answer, in milliseconds. */
  latencyMs: number;
  /** Share of requests whose connection is cut without an answer, 0..1. */
  dropRate: number;
  /** Share of requests answered with `failStatus`, 0..1. */
  failRate: number;
  /** The HTTP status of a failed request: 429 (rate limited) or a 5xx. */
  failStatus: number;
  /** Only these methods are affected; empty means all (test controls are never affected). */
  methods: string[];
  seed: number;
}

export const NO_FAULTS: FaultSettings = { latencyMs: 0, dropRate: 0, failRate: 0, failStatus: 503, methods: [], seed: 1 };

export type FaultDecision = { kind: "pass"; delayMs: number } | { kind: "drop"; delayMs: number } | { kind: "fail"; delayMs: number; status: number };

function checkRate(name: string, v: number): void {
  if (!(v >= 0 && v <= 1)) throw new RangeError(`${name} must be between 0 and 1, got ${v}`);
}

export class FaultInjector {
  private settings: FaultSettings = NO_FAULTS;
  private random = seededUniform(NO_FAULTS.seed);

  get current(): FaultSettings {
    return this.settings;
  }

  /** Replace the knobs (unset ones take their no-fault value) and restart the PRNG from the seed. */
  configure(update: Partial<FaultSettings>): FaultSettings {
    const next = { ...NO_FAULTS, ...update };
    checkRate("dropRate", next.dropRate);
    checkRate("failRate", next.failRate);
    if (!(next.latencyMs >= 0)) throw new RangeError(`latencyMs must be >= 0, got ${next.latencyMs}`);
    if (!(next.failStatus >= 400 && next.failStatus <= 599)) throw new RangeError(`failStatus must be an HTTP error status, got ${next.failStatus}`);
    this.settings = next;
    this.random = seededUniform(next.seed);
    return next;
  }

  /** What to do with a request for `methods` (several for a batch). */
  decide(methods: string[]): FaultDecision {
    const s = this.settings;
    const targeted = s.methods.length === 0 || methods.some((m) => s.methods.includes(m));
    if (!targeted) return { kind: "pass", delayMs: 0 };
    const r = this.random();
    if (r < s.dropRate) return { kind: "drop", delayMs: s.latencyMs };
    if (r < s.dropRate + s.failRate) return { kind: "fail", delayMs: s.latencyMs, status: s.failStatus };
    return { kind: "pass", delayMs: s.latencyMs };
  }
}
