#!/usr/bin/env node
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, CommanderError } from "commander";
import { packageRoot } from "../lib/package-root";
import type { BacktestCliOptions } from "./backtest";
import { CliError, EXIT_RUNTIME, EXIT_USAGE } from "./cli-error";
import type { FundCliOptions } from "./fund";
import type { LocalnetCliOptions } from "./localnet";
import type { ReportCliOptions } from "./report";
import type { RunCliOptions } from "./run";
import type { PreflightCliOptions } from "./preflight";
import { DEFAULT_RPC_URL, RPC_ENV } from "./rpc-env";
import { untilSignal } from "./signals";

// Each command's module is loaded when the command runs, so --help, --version and a keeper run against a real
// cluster load neither LiteSVM, the localnet nor the simulator (tests/cli/lazy-load.test.ts). require, not
// import(): under mocha's tsx/cjs hook a dynamic import() of a .ts file is not transpiled.
const inspect = (): typeof import("./inspect") => require("./inspect");
const localnet = (): typeof import("./localnet") => require("./localnet");
const positions = (): typeof import("./positions") => require("./positions");
const report = (): typeof import("./report") => require("./report");
const run = (): typeof import("./run") => require("./run");
const preflight = (): typeof import("./preflight") => require("./preflight");
const backtest = (): typeof import("./backtest") => require("./backtest");
const fund = (): typeof import("./fund") => require("./fund");
const keygen = (): typeof import("./keygen") => require("./keygen");
const watch = (): typeof import("./watch") => require("./watch");
const configCheck = (): typeof import("./config-check") => require("./config-check");

/** Errors that name a file, a field or a key the user can fix; their modules are loaded only once something failed. */
function isInputError(e: unknown): boolean {
  const kinds = [
    (require("../app/config-load") as typeof import("../app/config-load")).ConfigError,
    (require("../app/keypair") as typeof import("../app/keypair")).KeypairError,
    (require("../ops/journal") as typeof import("../ops/journal")).JournalError,
    (require("../exposure/book-file") as typeof import("../exposure/book-file")).BookFileError,
  ];
  return kinds.some((kind) => e instanceof kind);
}

const ENV_FILE_HELP =
  "read KEY=VALUE lines (systemd EnvironmentFile syntax, e.g. /etc/gamma-keeper/env) into the environment first, over what it holds; values are never printed";

const RPC_HELP = `RPC endpoint (default: $${RPC_ENV} or ${DEFAULT_RPC_URL}); its path and query are never printed`;

type Print = (s: string) => void;

/** The version in gamma-keeper's package.json, so it works from the source and from dist/. */
export function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(packageRoot(), "package.json"), "utf8")) as { version: string }).version;
}

/** `outIsTerminal`: `out` is the process's stdout and that is a TTY, which `run --log auto` needs to know. */
export function buildCli(out: Print, err: Print, stop: () => Promise<unknown> = untilSignal, outIsTerminal = false): Command {
  // Output settings first: subcommands copy them when they are created.
  const program = new Command("gamma-keeper")
    .description("Delta-hedging keeper for Jupiter Perpetuals on Solana")
    .version(packageVersion(), "-V, --version", "print the version and exit")
    .configureOutput({ writeOut: (s) => out(s.trimEnd()), writeErr: (s) => err(s.trimEnd()) })
    .showHelpAfterError()
    .exitOverride();
  // Before the action loads the config and the keys: `config check --environment-file /etc/gamma-keeper/env` run as
  // root sees the variables the service will (the file is root-only, so the service user cannot read it). Not
  // --env-file: Node 20 claims that one even after the script's name (nodejs/node#54232) and exits before we run.
  program.hook("preAction", (_program, command) => {
    const file = command.opts().environmentFile as string | undefined;
    if (file !== undefined) (require("./env-file") as typeof import("./env-file")).applyEnvFile(file);
  });

  program
    .command("inspect")
    .description(
      "Decode a Jupiter Perps, Pyth, Doves or SPL Token account and print it as JSON (integers as strings), or a transaction's " +
        "Jupiter Perps instructions (name, arguments, named accounts; unknown ones by discriminator) and emitted events",
    )
    .argument("<target>", "account address or transaction signature (read over RPC), a `solana account --output json` file, or a getTransaction JSON file (the response or its result)")
    .option("--rpc <url>", RPC_HELP)
    .option("--json", "print a transaction as JSON instead of text (accounts are always JSON)")
    .action((target: string, opts: { rpc?: string; json?: boolean }) => inspect().runInspect(target, opts, out));

  program
    .command("positions")
    .description("List an owner's Jupiter Perps positions: side, size, entry, collateral, leverage, delta, uPnL")
    .requiredOption("--owner <pubkey>", "wallet that owns the positions")
    .option("--rpc <url>", RPC_HELP)
    .option("--json", "print the whole snapshot as JSON instead of a table")
    .action((opts: { owner: string; rpc?: string; json?: boolean }) => positions().runPositions(opts, out));

  const localnetCommand = program
    .command("localnet")
    .description(
      "Run the local validator (LiteSVM behind JSON-RPC and PubSub on 127.0.0.1) with mainnet-shaped Jupiter Perps " +
        "fixtures, the stand-in program, moving oracle prices and the fill keeper, until interrupted",
    )
    .option("--port <n>", "HTTP JSON-RPC port; WebSocket is port + 1; 0 picks a free pair", "8899")
    .option("--slot-ms <ms>", "milliseconds per slot", "400")
    .option("--markets <list>", "markets whose price the scenario drives (SOL,ETH,BTC)", "SOL")
    .option("--scenario <kind>", "price scenario: constant, gbm, jump or csv", "constant")
    .option("--vol <annual>", "gbm: annual volatility (0.8 = 80%)", "0.8")
    .option("--seed <n>", "gbm: seed (each further market adds 1)", "1")
    .option("--jump-pct <pct>", "jump: size of the jump in percent", "-10")
    .option("--jump-at-sec <s>", "jump: when, in scenario seconds", "60")
    .option("--csv <file>", "csv: rows of timestamp,price (unix seconds or ISO dates) replayed step by step")
    .option("--speed <x>", "scenario seconds per wall second", "1")
    .option("--price-interval-ms <ms>", "how often the oracle accounts are rewritten", "400")
    .option("--fill-delay-ms <ms>", "fill keeper: wait before acting on a request", "1000")
    .option("--reject-rate <p>", "fill keeper: share of requests refunded without a fill (0..1)", "0")
    .option("--fill-past-expiry", "fill keeper: act only after requests expire, so every fill fails with 6035")
    .option("--no-liquidate", "fill keeper: do not liquidate positions below their maintenance margin")
    .option("--no-fill-keeper", "run no fill keeper")
    .option("--fork <url>", "fork this cluster instead of loading the fixtures: accounts are fetched on first read, then local; only reads are sent to it")
    .option("--stand-in", "fork: keep the project's stand-in program at the Jupiter Perps address instead of the remote's")
    .option("--fork-refresh-sec <s>", "fork: re-fetch the remote's oracle accounts this often (default: frozen as first fetched); with --scenario, those of the markets it does not drive")
    .option("--fork-cache <dir>", "fork: keep fetched accounts in this directory and load them at start (no remote reads for them)")
    .option("--geyser-port <n>", "also serve Yellowstone gRPC (Geyser: account and slot streams, for rpc.accountStream: geyser) on 127.0.0.1:<n>, e.g. 10000; 0 picks a free one; off by default")
    .action((opts: LocalnetCliOptions, cmd: Command) =>
      localnet().runLocalnet({ ...opts, scenarioGiven: cmd.getOptionValueSource("scenario") !== "default" }, out, stop),
    );
  localnetCommand
    .command("fund")
    .description("Give a wallet test SOL (airdrop) and tokens (added to its associated token accounts) on a running localnet; any other endpoint is refused")
    .requiredOption("--owner <pubkey>", "wallet to fund")
    .option("--sol <amount>", "SOL to airdrop, a decimal such as 2.5 (exact to the lamport)")
    .option("--usdc <amount>", "USDC to add")
    .option("--usdt <amount>", "USDT to add")
    .option("--eth <amount>", "ETH (the pool's ETH mint) to add")
    .option("--btc <amount>", "BTC (the pool's BTC mint) to add")
    .option("--rpc <url>", RPC_HELP)
    .action((opts: FundCliOptions) => fund().runFund(opts, out));

  program
    .command("keygen")
    .description("Write a new keypair in the Solana CLI format to FILE, created with mode 0600 (never over an existing file), and print its public key (only)")
    .requiredOption("--out <file>", "keypair file to create, e.g. config/wallet.json (git ignores wallet files under config/)")
    .action((opts: { out: string }) => keygen().runKeygen(opts, out));

  const collect = (v: string, prev: string[] = []) => [...prev, v];
  program
    .command("run")
    .description("Run the keeper until SIGINT/SIGTERM; SIGUSR1 engages the kill switch (no new requests), SIGUSR2 releases it. Without --config: the embedded localnet demo (a long SOL straddle hedged on SOL perps)")
    .option("--config <file>", "keeper config (YAML or JSON); see config/")
    .option("--dry-run", "decide and simulate each request's exact transaction, but send nothing")
    .option("--duration <sec>", "stop after this many seconds")
    .option("--set <path=value>", "override a config value after the file and GAMMA_KEEPER__* variables (repeatable)", collect)
    .option("--log <format>", "log format: auto (pretty when stdout is a terminal, JSON otherwise), json or pretty")
    .option("--keep-state", "demo only: keep its temporary state directory on exit and print the `report` command that reads it (default: removed)")
    .action((opts: { config?: string; dryRun?: boolean; duration?: string; set?: string[]; log?: string; keepState?: boolean }) =>
      run().runKeeper({ config: opts.config, dryRun: opts.dryRun, durationSec: opts.duration, set: opts.set, log: opts.log, keepState: opts.keepState, terminal: outIsTerminal } satisfies RunCliOptions, out, stop),
    );

  program
    .command("config")
    .description("Config tools")
    .command("check")
    .description(
      "Validate a config: every problem of it, its mandate files and its mandates' keys at once, each with its path and fix, or the effective config with " +
        "secrets redacted. A mandate file (a DAO's) is checked on its own, its key only where it is present",
    )
    .argument("<file>", "keeper config, or one mandate's file (YAML or JSON)")
    .option("--set <path=value>", "override a config value (repeatable)", collect)
    .option("--mandate", "check FILE as one mandate's file even if it does not look like one")
    .option("--environment-file <file>", ENV_FILE_HELP)
    .action((file: string, opts: { set?: string[]; mandate?: boolean }) => configCheck().runConfigCheck({ file, set: opts.set, mandate: opts.mandate }, out));

  program
    .command("report")
    .description("A mandate's trades, fees, borrow, P&L attribution and hedge quality (time-weighted |net delta|, time outside the band)")
    .requiredOption("--config <file>", "keeper config (its stateDir holds the journal and history)")
    .requiredOption("--mandate <name>", "mandate to report on")
    .option("--since <date>", "only from this date (ISO-8601)")
    .option("--csv <file>", "also write the per-market table to FILE, the requests to FILE-trades.csv and the liquidations to FILE-liquidations.csv; a .csv ending of FILE is dropped first (r.csv gives r-trades.csv)")
    .option("--set <path=value>", "override a config value (repeatable)", collect)
    .option("--environment-file <file>", ENV_FILE_HELP)
    .action((opts: ReportCliOptions) => report().runReport(opts, out));

  program
    .command("plan")
    .description("Run one decision cycle and print it; nothing is sent")
    .requiredOption("--config <file>", "keeper config (YAML or JSON)")
    .option("--set <path=value>", "override a config value (repeatable)", collect)
    .option("--environment-file <file>", ENV_FILE_HELP)
    .action((opts: { config: string; set?: string[] }) => run().runPlan(opts, out));

  program
    .command("status")
    .description("Per mandate and market: price and age, exposures, perp delta, net delta, band, the request in flight, today's fees")
    .requiredOption("--config <file>", "keeper config (YAML or JSON)")
    .option("--set <path=value>", "override a config value (repeatable)", collect)
    .option("--watch [sec]", "refresh every SEC seconds (default 5) until Ctrl-C: redrawn in place on a terminal, one block per refresh otherwise")
    .option("--environment-file <file>", ENV_FILE_HELP)
    .action((opts: { config: string; set?: string[]; watch?: string | true }) =>
      opts.watch === undefined ? run().runStatus(opts, out) : watch().runStatusWatch({ ...opts, watch: opts.watch }, out, stop),
    );

  program
    .command("preflight")
    .description("Run the exact requests the keeper would send now (each mandate, market and collateral path) on a fork against the real program, then cancel each; a table of compute units, fees and results; exit 0 only if none failed")
    .requiredOption("--config <file>", "keeper config (YAML or JSON)")
    .option("--fork <url>", "run on this fork (e.g. `gamma-keeper localnet --fork <RPC>`) instead of forking the config's RPC in the process; an endpoint that is not a fork is refused")
    .option("--set <path=value>", "override a config value (repeatable)", collect)
    .option("--environment-file <file>", ENV_FILE_HELP)
    .action((opts: PreflightCliOptions) => preflight().runPreflightCli(opts, out));

  program
    .command("backtest")
    .description(
      "Backtest hedging policies over simulated or recorded prices with the keeper's own decision code and Jupiter's costs; " +
        "prints a table and writes results.csv and results.json (and frontier.svg with --sweep). Flags override the scenario file.",
    )
    .argument("[scenario]", "scenario file (YAML or JSON), e.g. config/scenarios/b3-jupiter-gamma-scalping.yaml")
    .option("--spot <usd>", "starting price")
    .option("--days <n>", "horizon in days")
    .option("--step-minutes <n>", "decision grid (default 5)")
    .option("--paths <n>", "number of paths (default 20000)")
    .option("--seed <n>", "seed; results depend only on it, not on --workers")
    .option("--model <kind>", "price model: gbm, merton, heston or replay")
    .option("--vol <annual>", "gbm/merton: realised vol (0.8 = 80%)")
    .option("--drift <annual>", "drift of the price (default 0)")
    .option("--jumps-per-year <n>", "merton: jump intensity")
    .option("--jump-mean <log>", "merton: mean log jump")
    .option("--jump-std <log>", "merton: std of the log jump")
    .option("--v0 <var>", "heston: initial variance")
    .option("--theta <var>", "heston: long-run variance")
    .option("--kappa <n>", "heston: mean reversion per year")
    .option("--xi <n>", "heston: vol of variance")
    .option("--rho <n>", "heston: price-variance correlation")
    .option("--replay <csv>", "replay recorded timestamp,price rows (implies --model replay); each path is a different window")
    .option("--option <spec>", "option leg kind:strike:expiryDays:quantity:impliedVol, e.g. call:100:30:1:0.6 (repeatable; replaces the file's)", collect)
    .option("--static-tokens <n>", "tokens held outright (a vault's holdings)")
    .option("--jlp-delta <tokens>", "a JLP holding's delta in tokens")
    .option("--jlp-flow-vol <tokens>", "how fast pool flows move that delta, tokens per √year")
    .option("--hedge-vol <annual>", "vol the hedge's greeks use (default: each leg's implied vol)")
    .option("--hedge-ratio <x>", "share of the delta to hedge (default 1)")
    .option("--fee-bps <bps>", "increase and decrease fee (default 6)")
    .option("--increase-bps <bps>", "increase fee")
    .option("--decrease-bps <bps>", "decrease fee")
    .option("--impact-scalar <n>", "custody tradeImpactFeeScalar (0 = no impact fee)")
    .option("--borrow-pct-per-hour <pct>", "borrow on the hedge's notional, percent per hour (0.002 = 0.002%/h)")
    .option("--tx-cost-usd <usd>", "base plus priority fee per transaction")
    .option("--latency-sec <s>", "decision-to-fill delay; fills at the oracle price then")
    .option("--min-trade <tokens>", "smallest trade worth sending")
    .option("--max-trade <tokens>", "largest single trade")
    .option("--cooldown-sec <s>", "no new trade this soon after the last")
    .option("--policy <spec>", "ww:<γ>, zak:<γ>, fixed:<tokens>, clock:<interval like 4h> or clock:<N>steps (repeatable; replaces the file's)", collect)
    .option("--initial-hedge <mode>", "target: every policy trades to the target hedge at inception (default); policy: start unhedged, the policy decides at t = 0")
    .option("--utility-risk-aversion <γ>", "risk aversion of the certainty equivalent (default 1)")
    .option("--target-leverage <x>", "model the hedge's collateral at this size/collateral and Jupiter's liquidation")
    .option("--collateral-policy", "model collateral with the keeper's collateral policy (deposit below the floor, withdraw above the ceiling)")
    .option("--no-collateral-policy", "model collateral and liquidation without the policy")
    .option("--floor-sigmas <n>", "collateral policy: deposit below this many daily σ from liquidation (default 3)")
    .option("--ceiling-sigmas <n>", "collateral policy: withdraw above this many (default: never)")
    .option("--sweep", "also run each policy kind over a range of its parameter and draw the cost-vs-tracking-error frontiers")
    .option("--workers <n>", "worker threads (default: all cores)")
    .option("--out <dir>", "where results.csv, results.json and frontier.svg go (default backtest-<scenario name>)")
    .option("--quiet", "no progress lines")
    .action((file: string | undefined, opts: BacktestCliOptions) => backtest().runBacktest(file, opts, out, err));

  return program;
}

/** Run the CLI; resolves to the exit code instead of exiting, so tests can call it in-process. */
export async function main(
  argv: string[],
  out?: Print,
  err: Print = (s) => console.error(s),
  stop?: () => Promise<unknown>,
): Promise<number> {
  // Only the process's own stdout can be a terminal; a caller's `out` (a test's) never is.
  const program = buildCli(out ?? ((s) => console.log(s)), err, stop, out === undefined && process.stdout.isTTY === true);
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : EXIT_USAGE;
    if (e instanceof CliError) {
      err(`gamma-keeper: ${e.message}`);
      return e.exitCode;
    }
    // Errors that name a file, a field or a key the user can fix: the message is the whole answer.
    if (isInputError(e)) {
      err(`gamma-keeper: ${(e as Error).message}`);
      return EXIT_USAGE;
    }
    err(`gamma-keeper: unexpected error: ${e instanceof Error ? e.stack : String(e)}`);
    return EXIT_RUNTIME;
  }
}

/**
 * Resolves when the process's stdout can no longer be written: its reader closed it (`run ... | head -2`: EPIPE on
 * the next write). Unheard, that error is uncaught and ends the program with a stack mid-run; heard, the rest of the
 * output is dropped and a running keeper stops as on SIGTERM (journal flushed), so the program ends with its usual
 * code. Other stdout errors are said once on stderr.
 */
function stdoutClosed(): Promise<void> {
  return new Promise((resolve) => {
    let said = false;
    process.stdout.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EPIPE" && !said) console.error(`gamma-keeper: stdout failed (${e.code ?? e.message}); output is dropped from here on`);
      said = true;
      resolve();
    });
  });
}

if (require.main === module) {
  const closed = stdoutClosed();
  main(process.argv.slice(2), undefined, undefined, () => Promise.race([untilSignal(), closed])).then((code) => {
    process.exitCode = code;
  });
}
