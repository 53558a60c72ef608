import * as path from "node:path";
import { Connection } from "@solana/web3.js";
import { MAINNET, type MarketSymbol } from "../../programs-client";
import { BlockhashCache } from "../execution/blockhash-cache";
import { PriorityFeeTracker } from "../execution/priority-fee";
import { jupiterQuoter } from "../execution/swap-quote";
import { ConnectionTransactionHistory } from "../market/transaction-history";
import { ConnectionAccountSource } from "../market/account-source";
import { Journal } from "../ops/journal";
import type { KeeperMetrics } from "../ops/metrics";
import { closeWebSocket, routeWebSocketErrors } from "../lib/web3-websocket";
import { EndpointPool } from "../rpc/endpoint-pool";
import { AccountCache } from "../state/account-cache";
import type { AccountStream } from "../state/account-stream";
import { WebSocketAccountStream } from "../state/websocket-stream";
import type { KeeperEvent } from "../mandate/events";
import type { JournalRecord } from "../mandate/records";
import { MandateRunner } from "../mandate/runner";
import { type HistorySample, HistoryRecorder } from "./history";
import type { KeeperConfig } from "./config";
import { loadMandateKey } from "./keypair";
import type { KeeperOptions } from "./keeper";
import { BookSource } from "./mandate-book";

/** What the lifecycle (keeper.ts) gives the parts it owns: where their events, notifications and questions go. */
export interface WiringHooks {
  metrics: KeeperMetrics;
  /** The keeper's emit: metrics, history, the caller. */
  emit: (e: KeeperEvent) => void;
  onAccountsChanged: (keys: readonly string[]) => void;
  killSwitch: () => boolean;
  stopped: () => boolean;
  /** Removes the config's secrets (RPC URLs, API keys) from a message. */
  scrub: (text: string) => string;
}

/** The keeper's parts, built from the config: the composition root's output. */
export interface KeeperParts {
  connection: Connection;
  rpc: EndpointPool;
  blockhash: BlockhashCache;
  fees: PriorityFeeTracker;
  journal: Journal<JournalRecord>;
  historyJournal: Journal<HistorySample>;
  history: HistoryRecorder;
  /** Every account the mandates read, fed by the account stream: decisions read it, never the RPC. */
  cache: AccountCache;
  books: BookSource[];
  runners: MandateRunner[];
  /** Which market an oracle or custody account moves; other accounts (an owner's positions, requests) move all. */
  marketOfKey: Map<string, MarketSymbol>;
  /** Closes the WebSocket the stream runs on when it is not the main connection's. */
  closeStreamConnection: () => void;
}

/**
 * Builds the connection behind the endpoint pool, the blockhash and fee trackers, the journals, the account cache
 * on its stream and one runner per mandate. Nothing starts here: keeper.ts starts and stops what this returns.
 */
export function wireKeeper(cfg: KeeperConfig, opts: KeeperOptions, hooks: WiringHooks): KeeperParts {
  const { emit, metrics } = hooks;
  const nowMs = opts.nowMs ?? Date.now;
  let cache: AccountCache | undefined;
  const rpc = new EndpointPool([{ url: cfg.rpc.url, wsUrl: cfg.rpc.wsUrl }, ...cfg.rpc.fallbacks], {
    timeoutMs: cfg.rpc.timeoutMs,
    onError: (index, kind) => metrics.rpcError(index, kind),
    onSwitch: (index, label) => {
      metrics.rpcSwitch(index);
      emit({ kind: "warning", message: `RPC now served by endpoint ${label}` });
      // Geyser is its own endpoint; the WebSocket stream moves with the RPC.
      if (!hooks.stopped() && cfg.rpc.accountStream === "websocket") void cache!.replaceStream(streams.make());
    },
  });
  const connection = new Connection(cfg.rpc.url, { commitment: "confirmed", wsEndpoint: cfg.rpc.wsUrl, disableRetryOnRateLimit: true, fetch: rpc.fetch });
  const streams = accountStreams(cfg, rpc, connection, hooks);
  const x = cfg.execution;
  const blockhash = new BlockhashCache(connection, x.blockhashRefreshMs, 30_000, nowMs);
  const fees = new PriorityFeeTracker(connection, x.priorityFee, x.priorityFee.refreshMs, nowMs);
  const journal = new Journal<JournalRecord>(path.join(cfg.stateDir, "journal.log"));
  const { records, droppedTornRecord } = journal.open();
  if (droppedTornRecord) emit({ kind: "warning", message: `journal ${journal.file}: dropped a torn last record left by a crash` });
  // Statistics, not decisions: no fsync per sample, so none lands on the hot path (synced on close).
  const historyJournal = new Journal<HistorySample>(path.join(cfg.stateDir, "history.log"), { durable: false });
  historyJournal.open();
  const history = new HistoryRecorder(historyJournal);
  const marketOfKey = new Map<string, MarketSymbol>();
  for (const market of new Set(cfg.mandates.flatMap((m) => m.markets))) {
    const c = MAINNET.custodies[market];
    for (const k of [c.custody, c.pythPriceUpdate, c.dovesAg]) marketOfKey.set(k.toBase58(), market);
  }
  cache = new AccountCache(new ConnectionAccountSource(connection), streams.make(), {
    nowMs: Date.now,
    maxStateAgeMs: cfg.loop.maxStateAgeMs,
    onChange: hooks.onAccountsChanged,
    onError: (e) => emit({ kind: "warning", message: `re-reading the account state failed, retrying: ${hooks.scrub(e.message)}` }),
  });
  const accounts = cache;
  const txHistory = new ConnectionTransactionHistory(connection);
  const quoter = jupiterQuoter({ basePath: x.swapApi.url, apiKey: x.swapApi.apiKey, timeoutMs: x.swapApi.timeoutMs });
  const books: BookSource[] = [];
  const runners: MandateRunner[] = [];
  for (const m of cfg.mandates) {
    const payer = opts.keypairs?.get(m.name) ?? loadMandateKey(m);
    const book = new BookSource(m, emit, nowMs);
    books.push(book);
    runners.push(
      new MandateRunner({
        connection,
        history: txHistory,
        source: accounts,
        refresh: (keys) => accounts.refresh(keys),
        forget: (keys) => accounts.untrack(keys),
        cfg,
        mandate: m,
        payer,
        journal,
        journalRecords: records,
        fees,
        blockhash,
        quoter,
        emit,
        nowMs,
        trace: opts.trace,
        killSwitch: hooks.killSwitch,
        legs: () => book.legs(),
      }),
    );
  }
  return { connection, rpc, blockhash, fees, journal, historyJournal, history, cache, books, runners, marketOfKey, closeStreamConnection: streams.close };
}

/**
 * The account stream on the endpoint the pool is using (or the configured Geyser endpoint). Only the stream's
 * constructor is chosen here; what it follows is whatever the mandates read, through the cache.
 */
function accountStreams(cfg: KeeperConfig, rpc: EndpointPool, connection: Connection, hooks: WiringHooks) {
  const { emit, scrub } = hooks;
  /** The Connection the WebSocket stream runs on when it is not the main one (a fallback endpoint). */
  let streamConnection: Connection | null = null;
  const make = (): AccountStream => {
    if (cfg.rpc.accountStream === "geyser") {
      const g = cfg.rpc.geyser!;
      // Loaded only when chosen: the gRPC client and its native binding stay out of a WebSocket keeper.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { GeyserAccountStream } = require("../state/geyser-stream") as typeof import("../state/geyser-stream");
      return new GeyserAccountStream({
        url: g.url,
        xToken: g.xToken,
        onError: (e) => emit({ kind: "warning", message: `Geyser stream failed, reconnecting: ${scrub(e.message)}` }),
      });
    }
    const endpoint = rpc.activeEndpoint;
    const main = endpoint.url === cfg.rpc.url && endpoint.wsUrl === cfg.rpc.wsUrl;
    if (streamConnection) closeWebSocket(streamConnection);
    streamConnection = main ? null : new Connection(endpoint.url, { commitment: "confirmed", wsEndpoint: endpoint.wsUrl, fetch: rpc.fetch });
    const on = streamConnection ?? connection;
    const stream = new WebSocketAccountStream(on, { silenceGapMs: cfg.loop.streamSilenceMs, nowMs: Date.now });
    const index = rpc.activeIndex;
    routeWebSocketErrors(on, (message) => {
      hooks.metrics.rpcError(index, "websocket");
      emit({ kind: "warning", message: `WebSocket of RPC endpoint ${rpc.label(index)} failed, reconnecting: ${scrub(message)}` });
      stream.gap(`WebSocket error: ${scrub(message)}`);
    });
    return stream;
  };
  const close = () => {
    if (streamConnection) closeWebSocket(streamConnection);
  };
  return { make, close };
}
