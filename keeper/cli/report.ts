import * as fs from "node:fs";
import * as path from "node:path";
import type { HistorySample } from "../app/history";
import type { JournalRecord } from "../mandate/records";
import { buildReport, formatReport, liquidationsCsv, summaryCsv, tradesCsv } from "../app/report";
import { Journal } from "../ops/journal";
import { CliError, EXIT_USAGE } from "./cli-error";
import { loadConfig } from "./run";

type Print = (s: string) => void;

export interface ReportCliOptions {
  config: string;
  mandate: string;
  since?: string;
  csv?: string;
  set?: string[];
}

/** `report`: a mandate's trades, fees, borrow, P&L attribution and hedge quality from the state directory. */
export function runReport(opts: ReportCliOptions, out: Print): void {
  const cfg = loadConfig(opts.config, { set: opts.set });
  if (!cfg.mandates.some((m) => m.name === opts.mandate)) {
    throw new CliError(`no mandate "${opts.mandate}" in ${opts.config}; mandates: ${cfg.mandates.map((m) => m.name).join(", ")}`, EXIT_USAGE);
  }
  const sinceMs = opts.since === undefined ? 0 : Date.parse(opts.since);
  if (Number.isNaN(sinceMs)) throw new CliError(`--since must be a date such as 2026-11-01 or 2026-11-01T12:00:00Z, got "${opts.since}"`, EXIT_USAGE);
  const csvFiles = opts.csv === undefined ? null : csvTargets(opts.csv);
  const journalFile = path.join(cfg.stateDir, "journal.log");
  if (!fs.existsSync(journalFile)) throw new CliError(`no journal at ${journalFile}: has the keeper run with stateDir ${cfg.stateDir}?`, EXIT_USAGE);
  const records = new Journal<JournalRecord>(journalFile).read().records;
  const samples = new Journal<HistorySample>(path.join(cfg.stateDir, "history.log")).read().records;
  const report = buildReport(records, samples, opts.mandate, sinceMs);
  for (const line of formatReport(report)) out(line);
  if (csvFiles) {
    const [summaryFile, tradesFile, liquidationsFile] = csvFiles;
    const contents = [summaryCsv(report), tradesCsv(report), liquidationsCsv(report)];
    for (const [i, f] of csvFiles.entries()) {
      try {
        fs.writeFileSync(f, contents[i]!);
      } catch (e) {
        throw new CliError(`--csv: cannot write ${f} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); fix: write the CSV somewhere writable`, EXIT_USAGE);
      }
    }
    out(`wrote ${summaryFile} (per market), ${tradesFile} (per request) and ${liquidationsFile}`);
  }
}

/**
 * FILE, FILE-trades.csv and FILE-liquidations.csv, a `.csv` ending of FILE dropped first so that `r.csv` gives
 * `r-trades.csv` beside it, not `r.csv-trades.csv`. Checked before the journal is read: a folder that exists, no
 * folder in the way.
 */
function csvTargets(csv: string): [string, string, string] {
  const files: [string, string, string] = [csv, csv.replace(/(\.csv)?$/i, "-trades.csv"), csv.replace(/(\.csv)?$/i, "-liquidations.csv")];
  const folder = path.dirname(path.resolve(csv));
  if (!fs.statSync(folder, { throwIfNoEntry: false })?.isDirectory()) throw new CliError(`--csv: folder ${folder} does not exist; fix: create it or write the CSV elsewhere`, EXIT_USAGE);
  for (const f of files) {
    const stat = fs.statSync(f, { throwIfNoEntry: false });
    if (stat && !stat.isFile()) throw new CliError(`--csv: ${f} exists and is not a regular file; fix: name a new file or a CSV to overwrite`, EXIT_USAGE);
  }
  return files;
}
