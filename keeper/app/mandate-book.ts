import * as fs from "node:fs";
import * as path from "node:path";
import { parseBookFile, parseLeg } from "../exposure/book-file";
import { type OptionLeg, expiredLegs, expiredLegsMessage, legKey, newlyExpiredLegs } from "../exposure/options-book";
import type { KeeperConfig, MandateConfig } from "./config";
import type { KeeperEvent } from "../mandate/events";
import { jlpBandProblems } from "./jlp-band";

/** A mandate's config legs, a relative expiry ("+30d") counted from `loadedSec`, the moment the keeper loads them. */
export function configLegs(m: MandateConfig, loadedSec: number): OptionLeg[] {
  return m.exposures.options.map((raw, i) => parseLeg(raw, `mandates.${m.name}.exposures.options.${i}`, loadedSec));
}

export function readBookFile(file: string): OptionLeg[] {
  return parseBookFile(fs.readFileSync(file, "utf8"), path.basename(file));
}

/** One line per mandate with expired legs (config and options file), for `config check` before anything runs. */
export function expiredLegWarnings(cfg: KeeperConfig, nowSec: number): string[] {
  return cfg.mandates.flatMap((m) => {
    const legs = [...configLegs(m, nowSec), ...(m.exposures.optionsFile ? readBookFile(m.exposures.optionsFile) : [])];
    const expired = expiredLegs(legs, nowSec);
    return expired.length ? [`warning: mandate ${m.name}: ${expiredLegsMessage(expired)}`] : [];
  });
}

/**
 * An options book from the config plus an optional file that is re-read whenever it changes. Legs that have
 * expired (at start, in a reload, or as time passes) are reported once each: the keeper hedges them as zero.
 */
export class BookSource {
  private fileLegs: OptionLeg[] = [];
  private readonly configLegs: OptionLeg[];
  /** Config and file legs, rebuilt on a reload only: the same array until then, so its greeks are shared (exposure/shared-greeks). */
  private book: OptionLeg[];
  private watching = false;
  private readonly warnedExpired = new Set<string>();

  constructor(
    private readonly m: MandateConfig,
    private readonly emit: (e: KeeperEvent) => void,
    private readonly nowMs: () => number,
  ) {
    this.configLegs = configLegs(m, Math.floor(nowMs() / 1000));
    this.book = this.configLegs;
    const file = m.exposures.optionsFile;
    if (file) {
      this.load(file, true);
      fs.watchFile(file, { interval: 1000 }, () => this.load(file, false));
      this.watching = true;
    }
    this.legs();
  }

  private load(file: string, first: boolean) {
    try {
      this.fileLegs = readBookFile(file);
      this.book = this.fileLegs.length ? [...this.configLegs, ...this.fileLegs] : this.configLegs;
      if (!first) this.emit({ kind: "warning", mandate: this.m.name, message: `options book ${file} reloaded: ${this.fileLegs.length} legs` });
      if (!first) this.legs();
    } catch (e) {
      if (first) throw e;
      this.emit({ kind: "warning", mandate: this.m.name, message: `options book ${file} not reloaded, keeping the previous ${this.fileLegs.length} legs: ${(e as Error).message}` });
    }
  }

  legs(): OptionLeg[] {
    const legs = this.book;
    const expired = newlyExpiredLegs(legs, Math.floor(this.nowMs() / 1000), this.warnedExpired);
    if (expired.length) {
      for (const leg of expired) this.warnedExpired.add(legKey(leg));
      this.emit({ kind: "warning", mandate: this.m.name, message: expiredLegsMessage(expired) });
      // config check refuses a JLP hedge with no band to size; an expiry can take the band away while the keeper runs.
      for (const problem of jlpBandProblems(this.m, legs, "", Math.floor(this.nowMs() / 1000))) {
        this.emit({ kind: "warning", mandate: this.m.name, message: `the expiry leaves a JLP hedge without a band: ${problem}` });
      }
    }
    return legs;
  }

  close() {
    if (this.watching && this.m.exposures.optionsFile) fs.unwatchFile(this.m.exposures.optionsFile);
  }
}
