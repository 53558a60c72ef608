import * as fs from "node:fs";
import { type Connection, type Keypair, SYSVAR_CLOCK_PUBKEY } from "@solana/web3.js";
import type { MarketSymbol } from "../../programs-client";
import { scrubSecrets } from "../lib/redact";
import type { TraceHook } from "../lib/trace";
import { HealthServer, type Probe } from "../ops/health-server";
import { KeeperMetrics } from "../ops/metrics";
import { closeWebSocket } from "../lib/web3-websocket";
import type { EndpointPool } from "../rpc/endpoint-pool";
import { type AccountCache, StaleStateError } from "../state/account-cache";
import type { KeeperEvent } from "../mandate/events";
import type { MandateRunner } from "../mandate/runner";
import { configSecrets } from "./config-load";
import type { KeeperConfig } from "./config";
import { type KeeperParts, wireKeeper } from "./wiring";

const CLOCK = SYSVAR_CLOCK_PUBKEY.toBase58();

export interface KeeperOptions {
  emit: (e: KeeperEvent) => void;
  nowMs?: () => number;
  /** Hot-path timestamps for benchmarks (keeper/bench): off unless given; must not throw or block. */
  trace?: TraceHook;
  /** Keys by mandate name, instead of reading keypairFile (the in-process localnet demo). */
  keypairs?: ReadonlyMap<string, Keypair>;
  /** Called when what holds the kill switch changes (`by` empty: released; `was`: what held it before). */
  onKillSwitch?: (change: { engaged: boolean; by: string[]; was: string[] }) => void;
}

/**
 * The live keeper's lifecycle over the parts wiring.ts builds (shared blockhash and fee trackers, the account cache,
 * one runner per mandate): start, stop, the kill switch, the probes and an event-driven loop.
 * Oracle and position/request account notifications trigger a cycle; a timer backs the subscriptions up.
 * Cycles never overlap: a trigger during a cycle schedules exactly one more. Every event goes to the caller,
 * the metrics and the history file.
 */
export class Keeper {
  readonly connection: Connection;
  readonly runners: MandateRunner[];
  readonly metrics = new KeeperMetrics();
  readonly rpc: EndpointPool;
  /** Every account the mandates read, fed by the account stream: decisions read it, never the RPC. */
  readonly cache: AccountCache;
  /** What wiring.ts built from the config; this class starts, drives and stops it. */
  private readonly parts: KeeperParts;
  private readonly secrets: string[];
  /** The caller's emit, fanned out to the metrics and the history first. */
  private readonly emit: (e: KeeperEvent) => void;
  /** Markets whose accounts changed since their last decision; "all" after a timer or a re-read. */
  private dirty: Set<MarketSymbol> | "all" = "all";
  private reconcileTimer: NodeJS.Timeout | null = null;
  private staleReported = false;
  private health: HealthServer | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private scheduled = false;
  private started = false;
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
    this.secrets = configSecrets(cfg);
    this.emit = (e: KeeperEvent) => {
      this.metrics.observe(e);
      // Unset while wiring: a torn journal record is reported before the history exists.
      this.parts?.history.observe(e);
      opts.emit(e);
      // A settled request frees its market, which is decided again at once, price move or not.
      if (e.kind === "outcome" && this.dirty !== "all") {
        this.dirty.add(e.market);
        this.trigger(false);
      }
    };
    this.parts = wireKeeper(cfg, opts, {
      metrics: this.metrics,
      emit: this.emit,
      onAccountsChanged: (keys) => this.onAccountsChanged(keys),
      killSwitch: () => this.killSwitch().length > 0,
      stopped: () => this.stopped,
      scrub: (text) => this.scrub(text),
    });
    ({ connection: this.connection, runners: this.runners, rpc: this.rpc, cache: this.cache } = this.parts);
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
    this.parts.blockhash.start();
    this.parts.fees.start();
    await this.parts.blockhash.refresh().catch((e: Error) => this.emit({ kind: "warning", message: `first blockhash read failed, retrying in the background: ${this.scrub(e.message)}` }));
    this.started = true;
    this.reconcileTimer = setInterval(() => void this.cache.rereadAll(), this.cfg.loop.reconcileSec * 1000);
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
    const { ageMs, gap, streamQuietMs } = this.cache.staleness();
    const limit = `limit ${this.cfg.loop.maxStateAgeMs / 1000}s`;
    if (gap) reasons.push(`account stream gap (${gap}): re-reading`);
    else if (ageMs > this.cfg.loop.maxStateAgeMs) reasons.push(`account state ${(ageMs / 1000).toFixed(1)}s old, no stream message or re-read since (${limit}): stream down`);
    // Cycles then read over RPC and keep hedging, slower: down all the same, and said so.
    else if (streamQuietMs > this.cfg.loop.maxStateAgeMs) reasons.push(`no account stream message for ${(streamQuietMs / 1000).toFixed(1)}s (${limit}): stream down, deciding on RPC reads`);
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

  /** A changed account marks its market (or, for an owner's account or a re-read, every market) for the next cycle. */
  private onAccountsChanged(keys: readonly string[]) {
    this.opts.trace?.("notified", {});
    this.lastNotificationMs = Date.now();
    this.metrics.notifications.inc(keys.length);
    // The Clock moves every slot and decides nothing by itself: the timer covers time passing.
    const moved = keys.filter((k) => k !== CLOCK);
    if (keys.length > 0 && moved.length === 0) return;
    const markets = moved.map((k) => this.parts.marketOfKey.get(k));
    if (keys.length === 0 || markets.includes(undefined)) this.dirty = "all";
    else if (this.dirty !== "all") for (const m of markets) this.dirty.add(m!);
    this.trigger(false);
  }

  private scrub(text: string) {
    return scrubSecrets(text, this.secrets);
  }

  /**
   * Ask for a decision cycle. Coalesces: at most one cycle runs and at most one waits, and a burst of notifications
   * (a price update moves Pyth, Doves and the custody, each notified apart) in one turn of the event loop makes one
   * cycle. `all` (the timer, the start): every market; otherwise only the markets whose accounts changed.
   */
  trigger(all = true): void {
    if (this.stopped || !this.started) return;
    if (all) this.dirty = "all";
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.stopped || this.running) return;
      const markets = this.dirty;
      this.dirty = new Set();
      this.opts.trace?.("cycle", {});
      this.running = this.cycle(markets).finally(() => {
        this.running = null;
        if (this.again && !this.stopped) {
          this.again = false;
          this.trigger(false);
        }
      });
    });
  }

  /** Resolves when no cycle is running or queued. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Every mandate at once over the same cache; a mandate's failure is its own. */
  private async cycle(markets: Set<MarketSymbol> | "all"): Promise<void> {
    // Looked at every cycle, trade or not: an operator's `touch` is logged, exported and on /ready while holding too.
    this.killSwitch();
    if (markets !== "all" && markets.size === 0) return;
    // The stream has a gap or has gone quiet: read over RPC first and decide on that, as a polling keeper would,
    // rather than stop hedging. An RPC that hangs too holds the loop, which /health then reports.
    const { ageMs, gap } = this.cache.staleness();
    if (gap || ageMs > this.cfg.loop.maxStateAgeMs / 2) await this.cache.rereadAll();
    await Promise.all(
      this.runners.map(async (r) => {
        try {
          await r.tick({ send: true, markets: markets === "all" ? undefined : markets });
        } catch (e) {
          if (e instanceof StaleStateError) return this.reportStale(e);
          this.emit({ kind: "warning", mandate: r.name, message: `cycle failed, will retry: ${this.scrub((e as Error).message)} (RPC ${this.rpc.label(this.rpc.activeIndex)})` });
        }
      }),
    );
    // Every mandate has decided and written its requests: one fsync releases all their broadcasts (a group commit).
    this.parts.journal.flush();
    if (this.staleReported && this.cache.staleness().ageMs <= this.cfg.loop.maxStateAgeMs && !this.cache.staleness().gap) {
      this.staleReported = false;
      this.emit({ kind: "warning", message: "account state current again: deciding resumed" });
    }
    this.lastTickMs = Date.now();
    this.metrics.lastTick.set(this.lastTickMs / 1000);
    this.ticks++;
  }

  /** Once per episode, not every cycle: deciding is suspended until the stream or the re-read catches up. */
  private reportStale(e: StaleStateError) {
    if (this.staleReported) return;
    this.staleReported = true;
    this.emit({ kind: "warning", message: this.scrub(e.message) });
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
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    await this.cache.close();
    this.parts.closeStreamConnection();
    await Promise.all(this.runners.map((r) => r.stop(abortSends)));
    const { blockhash, fees, books, history, historyJournal, journal } = this.parts;
    blockhash.stop();
    fees.stop();
    for (const b of books) b.close();
    history.flush();
    historyJournal.close();
    journal.close();
    closeWebSocket(this.connection);
    await this.health?.close();
  }
}
