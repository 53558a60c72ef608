#!/usr/bin/env node
import { Command, CommanderError } from "commander";
import { CliError, EXIT_RUNTIME, EXIT_USAGE } from "./cli-error";
import { runInspect } from "./inspect";
import { runPositions } from "./positions";
import { DEFAULT_RPC_URL, RPC_ENV } from "./rpc";

const RPC_HELP = `RPC endpoint (default: $${RPC_ENV} or ${DEFAULT_RPC_URL}); its path and query are never printed`;

type Print = (s: string) => void;

export function buildCli(out: Print, err: Print): Command {
  // Output settings first: subcommands copy them when they are created.
  const program = new Command("gamma-keeper")
    .description("Delta-hedging keeper for Jupiter Perpetuals on Solana")
    .configureOutput({ writeOut: (s) => out(s.trimEnd()), writeErr: (s) => err(s.trimEnd()) })
    .showHelpAfterError()
    .exitOverride();

  program
    .command("inspect")
    .description("Decode a Jupiter Perps, Pyth, Doves or SPL Token account and print it as JSON (integers as strings)")
    .argument("<target>", "account address (read over RPC) or a `solana account --output json` file")
    .option("--rpc <url>", RPC_HELP)
    .action((target: string, opts: { rpc?: string }) => runInspect(target, opts, out));

  program
    .command("positions")
    .description("List an owner's Jupiter Perps positions: side, size, entry, collateral, leverage, delta, uPnL")
    .requiredOption("--owner <pubkey>", "wallet that owns the positions")
    .option("--rpc <url>", RPC_HELP)
    .option("--json", "print the whole snapshot as JSON instead of a table")
    .action((opts: { owner: string; rpc?: string; json?: boolean }) => runPositions(opts, out));

  return program;
}

/** Run the CLI; resolves to the exit code instead of exiting, so tests can call it in-process. */
export async function main(argv: string[], out: Print = (s) => console.log(s), err: Print = (s) => console.error(s)): Promise<number> {
  const program = buildCli(out, err);
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : EXIT_USAGE;
    if (e instanceof CliError) {
      err(`gamma-keeper: ${e.message}`);
      return e.exitCode;
    }
    err(`gamma-keeper: unexpected error: ${e instanceof Error ? e.stack : String(e)}`);
    return EXIT_RUNTIME;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
