import * as fs from "node:fs";
import * as path from "node:path";
import { Connection, type Keypair, PublicKey } from "@solana/web3.js";
import { MAINNET, PROGRAM_IDS } from "../../programs-client";
import { BlockhashCache } from "../execution/blockhash-cache";
import { PriorityFeeTracker } from "../execution/priority-fee";
import { jupiterQuoter } from "../execution/swap-quote";
import { ConnectionTransactionHistory } from "../market/transaction-history";
import { ConnectionAccountSource } from "../market/account-source";
import { Journal } from "../ops/journal";
import { scrubSecrets } from "../lib/redact";
import { HealthServer, type Probe } from "../ops/health-server";
import { KeeperMetrics } from "../ops/metrics";
import { closeWebSocket, routeWebSocketErrors } from "../rpc/web3-websocket";
import { EndpointPool } from "../rpc/endpoint-pool";
import { configSecrets } from "./config-load";
import { type HistorySample, HistoryRecorder } from "./history";
import type { KeeperConfig, MandateConfig } from "./config";
import type { KeeperEvent } from "./events";
import { loadMandateKey } from "./keypair";
import { BookSource } from "./mandate-book";
import { MandateRunner } from "./mandate-runner";
import type { JournalRecord } from "./records";

export interface KeeperOptions {
  emit: (e: KeeperEvent) => void;
  nowMs?: () => number;
  /** Keys by mandate name, instead of reading keypairFile (the in-process localnet demo). */
  keypairs?: ReadonlyMap<string, Keypair>;
  /** Called when what holds the kill switch changes (`by` empty: released; `was`: what held it before). */
  onKillSwitch?: (change: { engaged: boolean; by: string[]; was: string[] }) => void;
}

/**
 * The live keeper: shared blockhash and fee trackers, one runner per mandate, and an event-driven loop.
 * Oracle and position/request account notifications trigger a cycle; a timer backs the subscriptions up.
 * Cycles never overlap: a trigger during a cycle schedules exactly one more. Every event goes to the caller,
 * the metrics and the history file.
 */
export class Keeper {
  readonly connection: Connection;
  readonly runners: MandateRunner[] = [];
  readonly metrics = new KeeperMetrics();
  readonly rpc: EndpointPool;
  private readonly journal: Journal<JournalRecord>;
  private readonly historyJournal: Journal<HistorySample>;
  private readonly history: HistoryRecorder;
  private readonly blockhash: BlockhashCache;
  private readonly fees: PriorityFeeTracker;
  private readonly books: BookSource[] = [];
  private readonly secrets: string[];
  /** The caller's emit, fanned out to the metrics and the history first. */
  private readonly emit: (e: KeeperEvent) => void;
  private subs: { connection: Connection; ids: { id: number; program: boolean }[] } | null = null;
  private health: HealthServer | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private killSignal = false;
  /** What held the kill switch at the last look: "SIGUSR1" and/or "kill file PATH". */
  private killHolders: string[] = [];
  /** Unix ms of the last completed cycle: the liveness heartbeat. */
  lastTickMs = 0;
  /** Unix ms of the last account notification: are the subscriptions alive? */
  lastNotificationMs = 0;
  ticks = 0;

  constructor(
    readonly cfg: KeeperConfig,
    private readonly opts: KeeperOptions,
  ) {
    const nowMs = opts.nowMs ?? Date.now;
    this.secrets = configSecrets(cfg);
    const emit = (e: KeeperEvent) => {
      this.metrics.observe(e);
      this.history?.observe(e);
      opts.emit(e);
    };
    this.emit = emit;
    this.rpc = new EndpointPool([{ url: cfg.rpc.url, wsUrl: cfg.rpc.wsUrl }, ...cfg.rpc.fallbacks], {
      timeoutMs: cfg.rpc.timeoutMs,
      onError: (index, kind) => this.metrics.rpcError(index, kind),
      onSwitch: (index, label) => {
        this.metrics.rpcSwitch(index);
        emit({ kind: "warning", message: `RPC now served by endpoint ${label}` });
        if (this.subs && !this.stopped) void this.resubscribe();
      },
    });
    this.connection = new Connection(cfg.rpc.url, { commitment: "confirmed", wsEndpoint: cfg.rpc.wsUrl, disableRetryOnRateLimit: true, fetch: this.rpc.fetch });
    this.watchWebSocket(this.connection, 0);
    const x = cfg.execution;
    this.blockhash = new BlockhashCache(this.connection, x.blockhashRefreshMs, 30_000, nowMs);
    this.fees = new PriorityFeeTracker(this.connection, x.priorityFee, x.priorityFee.refreshMs, nowMs);
    this.journal = new Journal<JournalRecord>(path.join(cfg.stateDir, "journal.log"));
    const { records, droppedTornRecord } = this.journal.open();
    if (droppedTornRecord) emit({ kind: "warning", message: `journal ${this.journal.file}: dropped a torn last record left by a crash` });
    this.historyJournal = new Journal<HistorySample>(path.join(cfg.stateDir, "history.log"));
    this.historyJournal.open();
    this.history = new HistoryRecorder(this.historyJournal);
    const source = new ConnectionAccountSource(this.connection);
    const history = new ConnectionTransactionHistory(this.connection);
    const quoter = jupiterQuoter({ basePath: x.swapApi.url, apiKey: x.swapApi.apiKey, timeoutMs: x.swapApi.timeoutMs });
    for (const m of cfg.mandates) {
      const payer = opts.keypairs?.get(m.name) ?? loadMandateKey(m);
      const book = new BookSource(m, emit, nowMs);
      this.books.push(book);
      this.runners.push(
        new MandateRunner({
          connection: this.connection,
          history,
          source,
          cfg,
          mandate: m,
          payer,
          journal: this.journal,
          journalRecords: records,
          fees: this.fees,
          blockhash: this.blockhash,
          quoter,
          emit,
          nowMs,
          killSwitch: () => this.killSwitch().length > 0,
          legs: () => book.legs(),
        }),
      );
    }
  }

  /** Engage or release the kill switch (the CLI maps a signal to it): no new requests while engaged. */
  setKillSwitch(on: boolean) {
    this.killSignal = on;
    this.killSwitch();
  }

  /**
   * What holds the kill switch now (nothing: released). The file is looked at on every call, so an operator's
   * `touch` is seen at the next cycle; each change is exported and reported once, not every cycle.
   */
  killSwitch(): string[] {
    const by = [...(this.killSignal ? ["SIGUSR1"] : []), ...(this.cfg.killFile !== undefined && fs.existsSync(this.cfg.killFile) ? [`kill file ${this.cfg.killFile}`] : [])];
    if (by.join("\n") !== this.killHolders.join("\n")) {
      const was = this.killHolders;
      this.killHolders = by;
      this.metrics.killSwitch.set(by.length > 0 ? 1 : 0);
      this.opts.onKillSwitch?.({ engaged: by.length > 0, by, was });
    }
    return by;
  }

  /** Resume journaled requests, start background refreshers, subscriptions and the metrics port, run the first cycle. */
  async start(): Promise<void> {
    if (this.cfg.metrics.port !== undefined) {
      this.health = new HealthServer({ registry: this.metrics.registry, health: () => this.healthProbe(), ready: () => this.readyProbe() });
      await this.health.listen(this.cfg.metrics.port, this.cfg.metrics.host);
    }
    for (const r of this.runners) r.resume();
    this.blockhash.start();
    this.fees.start();
    await this.blockhash.refresh().catch((e: Error) => this.emit({ kind: "warning", message: `first blockhash read failed, retrying in the background: ${this.scrub(e.message)}` }));
    this.subscribe();
    this.timer = setInterval(() => this.trigger(), this.cfg.loop.backupPollMs);
    this.trigger();
    await this.idle();
  }

  /** The port /metrics, /health and /ready are served on, once started with metrics.port set. */
  get metricsPort(): number | null {
    return this.health?.port ?? null;
  }

  /** Live: not stopped, and a cycle completed within metrics.maxTickAgeSec. */
  healthProbe(nowMs = Date.now()): Probe {
    const reasons: string[] = [];
    if (this.stopped) reasons.push("keeper stopped");
    else if (this.lastTickMs === 0) reasons.push("no decision cycle completed yet");
    else if (nowMs - this.lastTickMs > this.cfg.metrics.maxTickAgeSec * 1000) reasons.push(`last cycle ${((nowMs - this.lastTickMs) / 1000).toFixed(1)}s ago (limit ${this.cfg.metrics.maxTickAgeSec}s)`);
    return { ok: reasons.length === 0, reasons };
  }

  /** Ready to hedge: kill switch released, notifications arriving, every market's oracle fresh, every wallet holding SOL for fees. */
  readyProbe(nowMs = Date.now()): Probe {
    const reasons = [...this.healthProbe(nowMs).reasons];
    const kill = this.killSwitch();
    if (kill.length) reasons.push(`kill switch engaged by ${kill.join(" and ")}: no new requests`);
    const quietMs = Math.max(10_000, 3 * this.cfg.loop.backupPollMs);
    if (nowMs - this.lastNotificationMs > quietMs) reasons.push(`no account notification for over ${quietMs / 1000}s: subscriptions down`);
    const minLamports = BigInt(Math.round(this.cfg.metrics.minWalletSol * 1e9));
    for (const r of this.runners) {
      const snap = r.lastSnapshot;
      if (!snap) {
        reasons.push(`${r.name}: no market snapshot yet`);
        continue;
      }
      for (const m of snap.markets) {
        const ages = [m.pyth, m.doves].flatMap((p) => (p.ok ? [Number(p.value.ageSec)] : []));
        const age = ages.length ? Math.min(...ages) : Infinity;
        if (age > this.cfg.oracle.maxAgeSec) reasons.push(`${r.name} ${m.symbol}: oracle ${Number.isFinite(age) ? `${age}s old` : "unreadable"} (limit ${this.cfg.oracle.maxAgeSec}s)`);
      }
      const lamports = r.lastExternal?.walletLamports ?? 0n;
      if (lamports < minLamports) reasons.push(`${r.name}: wallet holds ${Number(lamports) / 1e9} SOL, below ${this.cfg.metrics.minWalletSol} for fees`);
    }
    return { ok: reasons.length === 0, reasons };
  }

  /**
   * Oracle accounts and each wallet's perps accounts, on the endpoint the pool is using. web3.js reconnects a
   * dropped WebSocket and resubscribes by itself; a change of endpoint moves the subscriptions here.
   */
  private subscribe() {
    const endpoint = this.rpc.activeEndpoint;
    const connection =
      endpoint.url === this.cfg.rpc.url && endpoint.wsUrl === this.cfg.rpc.wsUrl
        ? this.connection
        : new Connection(endpoint.url, { commitment: "confirmed", wsEndpoint: endpoint.wsUrl, fetch: this.rpc.fetch });
    if (connection !== this.connection) this.watchWebSocket(connection, this.rpc.activeIndex);
    const ids: { id: number; program: boolean }[] = [];
    const onChange = () => {
      this.lastNotificationMs = Date.now();
      this.metrics.notifications.inc();
      this.trigger();
    };
    try {
      for (const market of new Set(this.cfg.mandates.flatMap((m) => m.markets))) {
        const c = MAINNET.custodies[market];
        ids.push({ id: connection.onAccountChange(c.pythPriceUpdate, onChange, { commitment: "confirmed" }), program: false });
        ids.push({ id: connection.onAccountChange(c.dovesAg, onChange, { commitment: "confirmed" }), program: false });
      }
      for (const m of this.cfg.mandates) {
        const filters = [{ memcmp: { offset: 8, bytes: new PublicKey(m.wallet).toBase58() } }];
        ids.push({ id: connection.onProgramAccountChange(PROGRAM_IDS.perpetuals, onChange, { commitment: "confirmed", filters }), program: true });
      }
    } catch (e) {
      this.emit({ kind: "warning", message: `subscriptions unavailable, polling only: ${this.scrub((e as Error).message)}` });
    }
    this.subs = { connection, ids };
  }

  private watchWebSocket(connection: Connection, endpointIndex: number) {
    routeWebSocketErrors(connection, (message) => {
      this.metrics.rpcError(endpointIndex, "websocket");
      this.emit({ kind: "warning", message: `WebSocket of RPC endpoint ${this.rpc.label(endpointIndex)} failed, reconnecting: ${this.scrub(message)}` });
    });
  }

  private async unsubscribe() {
    const subs = this.subs;
    this.subs = null;
    if (!subs) return;
    for (const s of subs.ids) {
      const remove = s.program ? subs.connection.removeProgramAccountChangeListener(s.id) : subs.connection.removeAccountChangeListener(s.id);
      await remove.catch(() => {});
    }
    // A connection made for a fallback endpoint is done with; the main one still carries signature subscriptions.
    if (subs.connection !== this.connection) closeWebSocket(subs.connection);
  }

  private async resubscribe() {
    await this.unsubscribe();
    if (!this.stopped) this.subscribe();
  }

  private scrub(text: string) {
    return scrubSecrets(text, this.secrets);
  }

  /** Ask for a decision cycle now. Coalesces: at most one cycle runs and at most one waits. */
  trigger(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.cycle().finally(() => {
      this.running = null;
      if (this.again && !this.stopped) {
        this.again = false;
        this.trigger();
      }
    });
  }

  /** Resolves when no cycle is running or queued. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async cycle(): Promise<void> {
    for (const r of this.runners) {
      try {
        await r.tick();
      } catch (e) {
        this.emit({ kind: "warning", mandate: r.name, message: `cycle failed, will retry: ${this.scrub((e as Error).message)} (RPC ${this.rpc.label(this.rpc.activeIndex)})` });
      }
    }
    this.lastTickMs = Date.now();
    this.metrics.lastTick.set(this.lastTickMs / 1000);
    this.ticks++;
  }

  /**
   * Stop deciding. With `abortSends`, sends stop rebroadcasting and stay journaled as sent, so the next run
   * resumes them; otherwise in-flight sends are followed until they land or expire first. The journal and the
   * history are flushed and closed; the metrics port closes last.
   */
  async stop(abortSends = true): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.idle();
    await this.unsubscribe();
    await Promise.all(this.runners.map((r) => r.stop(abortSends)));
    this.blockhash.stop();
    this.fees.stop();
    for (const b of this.books) b.close();
    this.history.flush();
    this.historyJournal.close();
    this.journal.close();
    closeWebSocket(this.connection);
    await this.health?.close();
  }
}
