import { Connection } from "@solana/web3.js";
import { closeWebSocket, routeWebSocketErrors } from "../keeper/lib/web3-websocket";
import { CUSTODY_SYMBOLS, type CustodySymbol, MAINNET, PROGRAM_IDS } from "../programs-client";
import { FillKeeper, type FillKeeperKnobs } from "./fill-keeper/fill-keeper";
import { loadWorld } from "./fixtures/load";
import { DEFAULT_PRICES_USD } from "./fixtures/params";
import { PriceDriver, type PriceDriverOptions, type PriceScenario } from "./fixtures/price-driver";
import { addPerpsProgram } from "./programs/deploy";
import { type LocalnetOptions, startLocalnet } from "./validator/server";

export interface LocalWorldOptions extends LocalnetOptions {
  /** Price scenarios by custody; markets without one stay at their starting price (still restamped). */
  scenarios?: Partial<Record<CustodySymbol, PriceScenario>>;
  priceDriver?: PriceDriverOptions;
  /** Fill-keeper knobs; `false` runs no fill keeper. */
  fillKeeper?: Partial<FillKeeperKnobs> | false;
  /** Where the fill keeper's failures go (an RPC fault, a rejected fill); default: one line on stderr. */
  onFillKeeperError?: (e: Error) => void;
}

/**
 * The whole localnet: the validator with the fixtures and the stand-in Jupiter Perps program loaded, the price
 * driver moving the oracles, and the fill keeper filling requests over JSON-RPC.
 */
export async function startLocalWorld(opts: LocalWorldOptions = {}) {
  // A fork re-fetches the oracles the price driver does not move (by default every custody's).
  const driven = new Set(Object.keys(opts.scenarios ?? {}));
  const fork = opts.fork && {
    ...opts.fork,
    refreshAccounts: opts.fork.refreshAccounts ?? CUSTODY_SYMBOLS.filter((s) => !driven.has(s)).flatMap((s) => [MAINNET.custodies[s].pythPriceUpdate, MAINNET.custodies[s].dovesAg]),
  };
  const net = await startLocalnet({ ...opts, fork });
  try {
    // A fork's world is the remote's, fetched as it is read: no fixtures, and the program is the remote's unless
    // the fork keeps the stand-in. Its oracles move only if asked (the remote's on a timer, or a price scenario).
    const loaded = opts.fork ? [] : loadWorld(net.chain);
    if (!opts.fork) addPerpsProgram(net.chain);
    const scenarios: Partial<Record<CustodySymbol, PriceScenario>> = {};
    for (const [symbol, price] of Object.entries(DEFAULT_PRICES_USD) as [CustodySymbol, number][]) {
      const scenario = opts.scenarios?.[symbol] ?? (opts.fork ? undefined : { kind: "constant", priceUsd: price });
      if (scenario) scenarios[symbol] = scenario;
    }
    const prices = new PriceDriver(net.chain, scenarios, opts.priceDriver);
    prices.start();
    const connection = new Connection(net.url, "confirmed");
    const fills = opts.fillKeeper === false ? undefined : new FillKeeper({ connection, ...opts.fillKeeper });
    if (fills) {
      // An EventEmitter's unheard 'error' is thrown: one failed fill must not take the whole process down.
      fills.on("error", opts.onFillKeeperError ?? ((e) => console.error(`localnet fill keeper: ${e.message}`)));
      net.chain.airdrop(fills.publicKey, 1_000_000_000_000n);
      fills.start();
    }
    const close = async () => {
      prices.stop();
      await fills?.stop();
      // Stopped right after start, the fill keeper's subscription may still be connecting; web3.js would then
      // reconnect to the closed port forever and keep the process alive (seen as `localnet` ignoring its stop).
      // The socket's error for that interrupted connect is expected, not news for stderr.
      routeWebSocketErrors(connection, () => {});
      closeWebSocket(connection);
      await net.close();
    };
    return { ...net, connection, prices, fills, loaded, program: PROGRAM_IDS.perpetuals, close };
  } catch (e) {
    await net.close();
    throw e;
  }
}

export type LocalWorld = Awaited<ReturnType<typeof startLocalWorld>>;
