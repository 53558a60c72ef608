import pino, { type Logger } from "pino";
import pretty from "pino-pretty";
import type { KeeperEvent } from "../mandate/events";
import { logMessage } from "./terminal-format";
import { scrubSecrets } from "../lib/redact";

export interface LoggerOptions {
  level: string;
  /** "auto": human lines on a TTY, JSON otherwise. */
  format: LogFormat;
  /** Strings never to print (RPC URLs, API keys); replaced wherever they appear in a message. */
  secrets: readonly string[];
  /** Where lines go (default stdout); tests pass a stream to scan. */
  destination?: NodeJS.WritableStream;
  /**
   * Whether the lines end up on a terminal, which decides "auto" and colours. The caller says so: the destination
   * may be a wrapper around stdout that has no `isTTY` (which made "auto" print JSON on a terminal). Default: the
   * real stdout's, when the destination is stdout itself.
   */
  terminal?: boolean;
}

export type LogFormat = "auto" | "json" | "pretty";

/** Human lines for "pretty", and for "auto" on a terminal; JSON for log shippers and pipes. */
export function humanLog(format: LogFormat, terminal: boolean): boolean {
  return format === "pretty" || (format === "auto" && terminal);
}

/** Field names that could hold key material, censored wherever they appear. */
const SECRET_PATHS = ["secretKey", "*.secretKey", "keypair", "*.keypair", "apiKey", "*.apiKey", "privateKey", "*.privateKey"];

/**
 * The keeper's pino logger: JSON lines for log shippers, pino-pretty on a terminal. Every string argument is
 * scrubbed of the configured secrets before it is written, and key-like fields are censored.
 */
export function createLogger(o: LoggerOptions): Logger {
  const dest = o.destination ?? process.stdout;
  const terminal = o.terminal ?? (o.destination === undefined && process.stdout.isTTY === true);
  const human = humanLog(o.format, terminal);
  const scrub = (v: unknown) => (typeof v === "string" ? scrubSecrets(v, o.secrets) : v);
  const options: pino.LoggerOptions = {
    level: o.level,
    base: { app: "gamma-keeper" },
    redact: { paths: SECRET_PATHS, censor: "***" },
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map(scrub) as Parameters<typeof method>);
      },
    },
  };
  // One line per event: the message is the event's human line, its fields stay in the JSON log.
  const stream = human ? pretty({ destination: dest, colorize: terminal, sync: true, hideObject: true, translateTime: "HH:MM:ss", ignore: "pid,hostname,app" }) : dest;
  return pino(options, stream);
}

const LEVEL: Record<KeeperEvent["kind"], "info" | "warn" | "debug" | "error"> = {
  decision: "info",
  veto: "warn",
  request: "info",
  outcome: "info",
  warning: "warn",
  // The hedge vanished in the move that hurt: an operator must look now. `alert: true` is what log alerting keys on.
  liquidation: "error",
  collateral: "info",
  shortfall: "error",
};

/** Holds, every cycle: logged at debug, and summed up by the heartbeat at info. */
export function isRoutine(e: KeeperEvent): boolean {
  return (e.kind === "decision" || e.kind === "collateral") && e.action === "hold";
}

/**
 * One log line per event: its fields (mandate, market, request address, figures) as JSON, and the human line as
 * the message. Holds are logged at debug so a quiet market does not flood the log at info.
 */
export function logEvent(log: Logger, e: KeeperEvent): void {
  const level = isRoutine(e) ? "debug" : LEVEL[e.kind];
  // Holds come every cycle for every mandate and market: not formatted at all when the level drops them.
  if (!log.isLevelEnabled(level)) return;
  const { kind, ...fields } = e;
  log[level]({ event: kind, ...(kind === "liquidation" || kind === "shortfall" ? { alert: true } : {}), ...fields }, logMessage(e));
}
