import { type CustodySymbol, MAINNET, associatedTokenAddress, decodeTokenAccount } from "../../programs-client";
import { parseDecimalUnits } from "../lib/decimal-units";
import { redactUrl } from "../lib/redact";
import { formatUnits } from "../market/position-math";
import { CliError, EXIT_RUNTIME, EXIT_USAGE } from "./cli-error";
import { connect, parsePubkey, rawRpc, resolveRpcUrl, rpcCall } from "./rpc";

export interface FundCliOptions {
  owner: string;
  sol?: string;
  usdc?: string;
  usdt?: string;
  eth?: string;
  btc?: string;
  rpc?: string;
}

/** The tokens `fund` can give, as the pool's custody mints (the ones a hedge is funded in). */
const TOKENS = [
  ["usdc", "USDC"],
  ["usdt", "USDT"],
  ["eth", "ETH"],
  ["btc", "BTC"],
] as const satisfies readonly (readonly [keyof FundCliOptions, CustodySymbol])[];

const SOL_DECIMALS = 9;
/** JSON-RPC's JSON number: requestAirdrop takes lamports as one, so they must be exact in a double. */
const MAX_AIRDROP_LAMPORTS = BigInt(Number.MAX_SAFE_INTEGER);
/** A token account's amount is a u64. */
const U64_MAX = (1n << 64n) - 1n;
/** JSON-RPC "invalid params": what the localnet answers a test control called with none; a real cluster has no such method. */
const INVALID_PARAMS = -32602;

function amount(text: string, flag: string, decimals: number): bigint {
  const units = parseDecimalUnits(text, decimals);
  if (typeof units !== "bigint") throw new CliError(`${flag} ${units.error}`, EXIT_USAGE);
  return units;
}

/** The most a token account can hold, in the token's units, for the messages that refuse more. */
function u64Max(decimals: number, symbol: string): string {
  return `${formatUnits(U64_MAX, decimals)} ${symbol} (the u64 maximum)`;
}

/**
 * `localnet fund`: SOL by airdrop and tokens by the localnet's surfnet_setTokenAccount (added to the balance held),
 * so a developer needs no hand-written curl. An endpoint without the localnet's test controls is refused before
 * anything is sent: an airdrop to a real cluster would otherwise be tried.
 */
export async function runFund(o: FundCliOptions, out: (s: string) => void): Promise<void> {
  const url = resolveRpcUrl(o.rpc);
  const owner = parsePubkey(o.owner, "--owner");
  const lamports = o.sol === undefined ? 0n : amount(o.sol, "--sol", SOL_DECIMALS);
  if (lamports > MAX_AIRDROP_LAMPORTS) throw new CliError(`--sol ${o.sol} is more than one airdrop can carry (${formatUnits(MAX_AIRDROP_LAMPORTS, SOL_DECIMALS)} SOL)`, EXIT_USAGE);
  const tokens = TOKENS.flatMap(([flag, symbol]) => {
    const text = o[flag];
    const c = MAINNET.custodies[symbol];
    if (text === undefined) return [];
    const units = amount(text, `--${flag}`, c.decimals);
    if (units > U64_MAX) throw new CliError(`--${flag} ${text} is more than a token account can hold: at most ${u64Max(c.decimals, symbol)}`, EXIT_USAGE);
    return [{ symbol, mint: c.mint, decimals: c.decimals, units }];
  });
  if (lamports === 0n && tokens.length === 0) throw new CliError(`nothing to fund: give --sol and/or ${TOKENS.map(([f]) => `--${f}`).join(", ")}`, EXIT_USAGE);

  const where = redactUrl(url);
  const probe = await rawRpc(url, "surfnet_setTokenAccount", []).catch((e: unknown) => {
    // fetch says only "fetch failed"; its cause says why (ECONNREFUSED: nothing listens).
    const { cause } = e as { cause?: { code?: string; message?: string } };
    const why = cause?.code ?? cause?.message ?? "no answer";
    throw new CliError(`the RPC at ${where} is unreachable (${why}); localnet fund needs a running localnet: start one with \`gamma-keeper localnet\` (or pass its URL to --rpc)`, EXIT_RUNTIME);
  });
  if (probe.error?.code !== INVALID_PARAMS)
    throw new CliError(`${where} is not a gamma-keeper localnet (it has no surfnet_setTokenAccount${probe.error ? `: ${probe.error.message}` : ""}); fund only gives test money. Start one with \`gamma-keeper localnet\` and pass its URL to --rpc`, EXIT_USAGE);

  const connection = connect(url);
  if (lamports > 0n) {
    await rpcCall(url, "the SOL airdrop", async () => {
      const signature = await connection.requestAirdrop(owner, Number(lamports));
      await connection.confirmTransaction({ signature, ...(await connection.getLatestBlockhash()) });
    });
    const balance = await rpcCall(url, "reading the SOL balance", () => connection.getBalance(owner));
    out(`+${formatUnits(lamports, SOL_DECIMALS)} SOL: ${formatUnits(BigInt(balance), SOL_DECIMALS)} SOL held`);
  }
  for (const t of tokens) {
    const ata = associatedTokenAddress(t.mint, owner);
    const info = await rpcCall(url, `reading ${t.symbol} account ${ata.toBase58()}`, () => connection.getAccountInfo(ata));
    const decoded = info && decodeTokenAccount(info.data);
    const held = decoded && decoded.ok ? decoded.value.amount : 0n;
    if (held + t.units > U64_MAX)
      throw new CliError(`+${formatUnits(t.units, t.decimals)} ${t.symbol} on the ${formatUnits(held, t.decimals)} held would be more than a token account can hold: at most ${u64Max(t.decimals, t.symbol)}; fund less`, EXIT_USAGE);
    const r = await rpcCall(url, `funding ${t.symbol}`, () => rawRpc(url, "surfnet_setTokenAccount", [owner.toBase58(), t.mint.toBase58(), { amount: (held + t.units).toString() }]));
    if (r.error) throw new CliError(`funding ${t.symbol} at ${where} failed: ${r.error.message}`, EXIT_RUNTIME);
    out(`+${formatUnits(t.units, t.decimals)} ${t.symbol}: ${formatUnits(held + t.units, t.decimals)} ${t.symbol} held in ${ata.toBase58()}`);
  }
  out(`funded ${owner.toBase58()} on ${where}`);
}
