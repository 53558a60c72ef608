import { type Connection, VersionedTransaction } from "@solana/web3.js";
import { type CalibrationTable, type ComputeUnitConfig, type UnitLimit, exhausted, limitFor, observe, ranOutOfComputeUnits } from "./compute-units";
import { describeSimulationFailure } from "./transaction";

export type CalibrationResult = { ok: true; units: number } | { ok: false; reason: string };

/**
 * The compute-unit table of a keeper's request kinds, measured off the send path: by simulating a kind's real
 * request (at start, and again when one ran out), and from the units a landed request consumed (its
 * getTransaction meta). The send path only reads `limit`.
 */
export class ComputeUnitCalibrator {
  private table: CalibrationTable = new Map();

  constructor(
    private readonly connection: Connection,
    readonly cfg: ComputeUnitConfig,
  ) {}

  limit(kind: string): UnitLimit {
    return limitFor(this.table, kind, this.cfg);
  }

  /** The largest units measured for `kind`, or null before any. */
  measured(kind: string): number | null {
    const s = this.table.get(kind)?.samples;
    return s?.length ? Math.max(...s) : null;
  }

  /** Simulates a transaction of `kind` compiled at the policy's ceiling; a failure leaves the kind as it was. */
  async simulate(kind: string, bytes: Uint8Array): Promise<CalibrationResult> {
    try {
      const sim = await this.connection.simulateTransaction(VersionedTransaction.deserialize(bytes), { sigVerify: false, replaceRecentBlockhash: true, commitment: "confirmed" });
      const logs = sim.value.logs ?? [];
      if (sim.value.err) return { ok: false, reason: describeSimulationFailure(sim.value.err, logs) };
      const units = sim.value.unitsConsumed;
      if (!units) return { ok: false, reason: "the simulation reported no units consumed" };
      this.table = observe(this.table, kind, units, "simulated", this.cfg);
      return { ok: true, units };
    } catch (e) {
      return { ok: false, reason: (e as Error).message };
    }
  }

  /** Reads what a landed transaction of `kind` consumed; a lookup that fails changes nothing. */
  async measureLanded(kind: string, signature: string): Promise<CalibrationResult> {
    try {
      const tx = await this.connection.getTransaction(signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
      const units = tx?.meta?.computeUnitsConsumed;
      if (!units) return { ok: false, reason: `no units consumed in ${signature}'s meta` };
      this.table = observe(this.table, kind, units, "landed", this.cfg);
      return { ok: true, units };
    } catch (e) {
      return { ok: false, reason: (e as Error).message };
    }
  }

  /**
   * Whether a transaction that landed with `err` ran out of compute units. The error alone does not always say so: a
   * program that exhausts its meter fails with ProgramFailedToComplete, and only its logs ("exceeded CUs meter") tell.
   */
  async ranOutOfUnits(signature: string, err: unknown): Promise<boolean> {
    if (ranOutOfComputeUnits(err)) return true;
    try {
      const tx = await this.connection.getTransaction(signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
      return ranOutOfComputeUnits(err, tx?.meta?.logMessages ?? []);
    } catch {
      return false;
    }
  }

  /** A transaction of `kind` ran out of units at `limitUnits`. */
  ranOut(kind: string, limitUnits: number): void {
    this.table = exhausted(this.table, kind, limitUnits, this.cfg);
  }
}
