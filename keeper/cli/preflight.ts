import { SYSVAR_CLOCK_PUBKEY, clockUnixTimestamp } from "../../programs-client";
import { jupiterQuoter } from "../execution/swap-quote";
import { type ForkControls, formatPreflight, runPreflight } from "../app/preflight";
import { redactUrl } from "../lib/redact";
import { CliError, EXIT_RUNTIME, EXIT_USAGE } from "./cli-error";
import { connect, rawRpc, resolveRpcUrl, rpcCall } from "./rpc";
import { loadConfig, loadSigners } from "./run";
import { startLocalWorld } from "../../localnet/world";

type Print = (s: string) => void;

/**
 * The fork's clock control, after proving the endpoint is a fork: a real cluster has no surfnet_timeTravel, so the
 * pre-flight refuses it before building anything (it would otherwise broadcast real requests with real collateral).
 */
async function forkControls(url: string): Promise<ForkControls> {
  const connection = connect(url);
  const clock = await rpcCall(url, "reading the fork's clock", () => connection.getAccountInfo(SYSVAR_CLOCK_PUBKEY, "confirmed"));
  if (!clock) throw new CliError(`${redactUrl(url)} has no Clock sysvar: is it a Solana RPC?`, EXIT_RUNTIME);
  const travel = async (unixMs: number) => {
    const r = await rpcCall(url, "moving the fork's clock", () => rawRpc(url, "surfnet_timeTravel", [{ absoluteTimestamp: unixMs }]));
    if (r.error) throw new CliError(`${redactUrl(url)} is not a fork (surfnet_timeTravel: ${r.error.message}); the pre-flight never sends to a real cluster. Start one with \`gamma-keeper localnet --fork <your RPC>\` and pass its URL to --fork`, EXIT_USAGE);
  };
  await travel(Number(clockUnixTimestamp(clock.data)) * 1000);
  return { timeTravel: travel };
}

export interface PreflightCliOptions {
  config: string;
  fork?: string;
  set?: string[];
}

/** `preflight`: the keeper's exact requests on a fork, then cancelled; a table; exit 0 only if none failed. */
export async function runPreflightCli(opts: PreflightCliOptions, out: Print): Promise<void> {
  const cfg = loadConfig(opts.config, { set: opts.set });
  const keypairs = loadSigners(cfg);
  // Without --fork: a fork of the config's own RPC, in this process, for the length of the pre-flight.
  const own = opts.fork === undefined ? await startOwnFork(cfg.rpc.url, out) : null;
  try {
    const url = own?.url ?? resolveRpcUrl(opts.fork);
    const fork = await forkControls(url);
    const x = cfg.execution;
    const rows = await runPreflight({
      connection: connect(url),
      fork,
      cfg,
      keypairs,
      quoter: jupiterQuoter({ basePath: x.swapApi.url, apiKey: x.swapApi.apiKey, timeoutMs: x.swapApi.timeoutMs }),
      nowMs: () => Date.now(),
    });
    report(rows, out);
  } finally {
    await own?.close();
  }
}

async function startOwnFork(remoteUrl: string, out: Print) {
  // No fill keeper: on a fork of mainnet nobody fills requests, and the pre-flight cancels its own.
  const world = await rpcCall(remoteUrl, "forking the config's RPC", () => startLocalWorld({ port: 0, fillKeeper: false, fork: { url: remoteUrl } }));
  out(`pre-flight on a fork of ${redactUrl(remoteUrl)} (in this process; nothing is sent to it)`);
  return world;
}

function report(rows: Awaited<ReturnType<typeof runPreflight>>, out: Print) {
  for (const line of formatPreflight(rows)) out(line);
  const failed = rows.filter((r) => r.result === "fail").length;
  const passed = rows.filter((r) => r.result === "pass").length;
  if (failed) throw new CliError(`pre-flight failed: ${failed} of ${rows.length} requests did not work on the fork; fix them before a live start`, EXIT_RUNTIME);
  out(`pre-flight passed: ${passed} requests created, decoded and cancelled on the fork (${rows.length - passed} skipped)`);
}
