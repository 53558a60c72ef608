import * as fs from "node:fs";
import * as path from "node:path";
import { Connection, type Keypair, PublicKey } from "@solana/web3.js";
import { MAINNET, PROGRAM_IDS } from "../../programs-client";
import { parseBookFile, parseLeg } from "../exposure/book-file";
import type { OptionLeg } from "../exposure/options-book";
import { BlockhashCache } from "../execution/blockhash-cache";
import { PriorityFeeTracker } from "../execution/priority-fee";
import { jupiterQuoter } from "../execution/swap-quote";
import { ConnectionAccountSource } from "../market/account-source";
import { Journal } from "../ops/journal";
import { redactUrl, scrubSecrets } from "../ops/redact";
import type { KeeperConfig, MandateConfig } from "./config";
import type { KeeperEvent } from "./events";
import { loadKeypairFile } from "./keypair";
import { MandateRunner } from "./mandate-runner";
import type { JournalRecord } from "./records";

export interface KeeperOptions {
  emit: (e: KeeperEvent) => void;
  nowMs?: () => number;
  /** Keys by mandate name, instead of reading keypairFile (the in-process localnet demo). */
  keypairs?: ReadonlyMap<string, Keypair>;
}

/** An options book from the config plus an optional file that is re-read whenever it changes. */
class BookSource {
  private fileLegs: OptionLeg[] = [];
  private readonly configLegs: OptionLeg[];
  private watching = false;

  constructor(
    private readonly m: MandateConfig,
    private readonly emit: (e: KeeperEvent) => void,
  ) {
    this.configLegs = m.exposures.options.map((raw, i) => parseLeg(raw, `mandates.${m.name}.exposures.options.${i}`));
    const file = m.exposures.optionsFile;
    if (file) {
      this.load(file, true);
      fs.watchFile(file, { interval: 1000 }, () => this.load(file, false));
      this.watching = true;
    }
  }

  private load(file: string, first: boolean) {
    try {
      this.fileLegs = parseBookFile(fs.readFileSync(file, "utf8"), path.basename(file));
      if (!first) this.emit({ kind: "warning", mandate: this.m.name, message: `options book ${file} reloaded: ${this.fileLegs.length} legs` });
    } catch (e) {
      if (first) throw e;
      this.emit({ kind: "warning", mandate: this.m.name, message: `options book ${file} not reloaded, keeping the previous ${this.fileLegs.length} legs: ${(e as Error).message}` });
    }
  }

  legs(): OptionLeg[] {
    return this.fileLegs.length ? [...this.configLegs, ...this.fileLegs] : this.configLegs;
  }

  close() {
    if (this.watching && this.m.exposures.optionsFile) fs.unwatchFile(this.m.exposures.optionsFile);
  }
}

/**
 * The live keeper: shared blockhash and fee trackers, one runner per mandate, and an event-driven loop.
 * Oracle and position/request account notifications trigger a cycle; a timer backs the subscriptions up.
 * Cycles never overlap: a trigger during a cycle schedules exactly one more.
 */
export class Keeper {
  readonly connection: Connection;
  readonly runners: MandateRunner[] = [];
  private readonly journal: Journal<JournalRecord>;
  private readonly blockhash: BlockhashCache;
  private readonly fees: PriorityFeeTracker;
  private readonly books: BookSource[] = [];
  private readonly subscriptions: { id: number; program: boolean }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private killSignal = false;
  /** Unix ms of the last completed cycle: the liveness heartbeat. */
  lastTickMs = 0;
  ticks = 0;

  constructor(
    readonly cfg: KeeperConfig,
    private readonly opts: KeeperOptions,
  ) {
    const nowMs = opts.nowMs ?? Date.now;
    this.connection = new Connection(cfg.rpc.url, { commitment: "confirmed", wsEndpoint: cfg.rpc.wsUrl, disableRetryOnRateLimit: true });
    const x = cfg.execution;
    this.blockhash = new BlockhashCache(this.connection, x.blockhashRefreshMs, 30_000, nowMs);
    this.fees = new PriorityFeeTracker(this.connection, x.priorityFee, x.priorityFee.refreshMs, nowMs);
    this.journal = new Journal<JournalRecord>(path.join(cfg.stateDir, "journal.log"));
    const { records, droppedTornRecord } = this.journal.open();
    if (droppedTornRecord) opts.emit({ kind: "warning", message: `journal ${this.journal.file}: dropped a torn last record left by a crash` });
    const source = new ConnectionAccountSource(this.connection);
    const quoter = jupiterQuoter({ basePath: x.swapApi.url, apiKey: x.swapApi.apiKey, timeoutMs: x.swapApi.timeoutMs });
    for (const m of cfg.mandates) {
      const wallet = new PublicKey(m.wallet);
      const payer = opts.keypairs?.get(m.name) ?? loadKeypairFile(m.keypairFile, wallet);
      const book = new BookSource(m, opts.emit);
      this.books.push(book);
      this.runners.push(
        new MandateRunner({
          connection: this.connection,
          source,
          cfg,
          mandate: m,
          payer,
          journal: this.journal,
          journalRecords: records,
          fees: this.fees,
          blockhash: this.blockhash,
          quoter,
          emit: opts.emit,
          nowMs,
          killSwitch: () => this.killSignal || (cfg.killFile !== undefined && fs.existsSync(cfg.killFile)),
          legs: () => book.legs(),
        }),
      );
    }
  }

  /** Engage or release the kill switch (the CLI maps a signal to it): no new requests while engaged. */
  setKillSwitch(on: boolean) {
    this.killSignal = on;
  }

  /** Resume journaled requests, start background refreshers and subscriptions, run the first cycle. */
  async start(): Promise<void> {
    for (const r of this.runners) r.resume();
    this.blockhash.start();
    this.fees.start();
    await this.blockhash.refresh();
    this.subscribe();
    this.timer = setInterval(() => this.trigger(), this.cfg.loop.backupPollMs);
    this.trigger();
    await this.idle();
  }

  private subscribe() {
    const markets = new Set(this.cfg.mandates.flatMap((m) => m.markets));
    const onChange = () => this.trigger();
    try {
      for (const market of markets) {
        const c = MAINNET.custodies[market];
        this.subscriptions.push({ id: this.connection.onAccountChange(c.pythPriceUpdate, onChange, { commitment: "confirmed" }), program: false });
        this.subscriptions.push({ id: this.connection.onAccountChange(c.dovesAg, onChange, { commitment: "confirmed" }), program: false });
      }
      for (const m of this.cfg.mandates) {
        const owner = new PublicKey(m.wallet);
        const id = this.connection.onProgramAccountChange(PROGRAM_IDS.perpetuals, onChange, { commitment: "confirmed", filters: [{ memcmp: { offset: 8, bytes: owner.toBase58() } }] });
        this.subscriptions.push({ id, program: true });
      }
    } catch (e) {
      this.opts.emit({ kind: "warning", message: `subscriptions unavailable, polling only: ${this.scrub((e as Error).message)}` });
    }
  }

  private scrub(text: string) {
    return scrubSecrets(text, [this.cfg.rpc.url, this.cfg.rpc.wsUrl ?? ""]);
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
        this.opts.emit({ kind: "warning", mandate: r.name, message: `cycle failed, will retry: ${this.scrub((e as Error).message)} (RPC ${redactUrl(this.cfg.rpc.url)})` });
      }
    }
    this.lastTickMs = Date.now();
    this.ticks++;
  }

  /**
   * Stop deciding. With `abortSends`, sends stop rebroadcasting and stay journaled as sent, so the next run
   * resumes them; otherwise in-flight sends are followed until they land or expire first.
   */
  async stop(abortSends = true): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.idle();
    for (const s of this.subscriptions.splice(0)) {
      const remove = s.program ? this.connection.removeProgramAccountChangeListener(s.id) : this.connection.removeAccountChangeListener(s.id);
      await remove.catch(() => {});
    }
    await Promise.all(this.runners.map((r) => r.stop(abortSends)));
    this.blockhash.stop();
    this.fees.stop();
    for (const b of this.books) b.close();
    this.journal.close();
  }
}
