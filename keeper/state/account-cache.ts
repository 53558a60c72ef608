import { PublicKey } from "@solana/web3.js";
import { type KeyedAccount, type MemcmpFilter, type RawAccount, matchesFilters } from "../../programs-client";
import { addressKey } from "../lib/address-key";
import type { AccountStream, AccountUpdate } from "./account-stream";

/** What the cache reads from when it has no answer: an RPC (the market reader's AccountSource, structurally). */
export interface SeedSource {
  getMultipleAccounts(keys: PublicKey[]): Promise<{ slot: number; accounts: (RawAccount | null)[] }>;
  getProgramAccounts(program: PublicKey, filters: MemcmpFilter[]): Promise<{ slot: number; accounts: KeyedAccount[] }>;
}

interface Entry {
  key: PublicKey;
  account: RawAccount | null;
  slot: number;
}

/**
 * The one ordering rule: a write for a slot older than the one held is dropped. Equal slots apply, so a
 * duplicate is a no-op and an RPC read of the slot a notification came from agrees with it.
 */
export function supersedes(heldSlot: number | undefined, incomingSlot: number): boolean {
  return heldSlot === undefined || incomingSlot >= heldSlot;
}

interface ProgramWatch {
  program: PublicKey;
  filters: MemcmpFilter[];
  /** Every address ever seen matching; which still match is decided on read. */
  keys: Set<string>;
  seeded: boolean;
}

export interface AccountCacheOptions {
  /** Wall clock, injected so tests drive time. */
  nowMs: () => number;
  /** Reads of state known to be older than this are refused (see `staleness`). */
  maxStateAgeMs: number;
  /** Called when a gap was re-read, or an update arrived: the keeper triggers a cycle. */
  onChange?: (keys: readonly string[]) => void;
  /** A re-read failed: the cache keeps trying; the caller logs it. */
  onError?: (e: Error) => void;
}

/** The cache is not current: state is older than allowed, or a gap has not been re-read yet. */
export class StaleStateError extends Error {
  constructor(readonly ageMs: number, readonly reason: string) {
    super(`account state is ${(ageMs / 1000).toFixed(1)}s old (${reason}); not deciding on it until the stream or the re-read catches up`);
  }
}

const programWatchKey = (program: PublicKey, filters: readonly MemcmpFilter[]) =>
  `${program.toBase58()}|${filters.map((f) => `${f.memcmp.offset}:${f.memcmp.bytes.toString("hex")}`).join(",")}`;

/**
 * Accounts as the stream last said they were, never moved backwards (see `supersedes`). Every address or program
 * query the keeper reads is seeded once over RPC and followed by the stream from then on, so a decision costs no
 * round trip. When the stream says it may have missed updates (`onGap`), or at every `reconcile()`, everything is
 * read again over RPC and applied under the same slot rule; until a gap is re-read, `staleness` says so and
 * reads fail once the state is older than the bound, instead of deciding on a picture the chain has left.
 */
export class AccountCache {
  private readonly entries = new Map<string, Entry>();
  private readonly programs = new Map<string, ProgramWatch>();
  /** Addresses the stream follows one by one (watchAccounts), as opposed to through a program query. */
  private readonly byAddress = new Set<string>();
  /** Unix ms at which the cache last knew itself current: a stream message with no gap open, or a finished re-read. */
  private currentAtMs: number;
  /** Unix ms of the stream's last message (update or slot): re-reads keep the state current, not the stream alive. */
  private streamAtMs: number;
  private gap: { sinceMs: number; reason: string } | null = null;
  private reread: Promise<void> | null = null;
  private highestSlot = 0;
  updates = 0;
  dropped = 0;
  rereads = 0;

  constructor(
    private readonly seed: SeedSource,
    private stream: AccountStream,
    private readonly o: AccountCacheOptions,
  ) {
    this.currentAtMs = o.nowMs();
    this.streamAtMs = this.currentAtMs;
    this.listen(stream);
  }

  /** Only the current stream's messages count: a replaced one may still deliver, and must not mark the cache live. */
  private listen(stream: AccountStream) {
    stream.onUpdate((u) => stream === this.stream && this.onStreamUpdate(u));
    stream.onGap((reason) => stream === this.stream && this.onGap(reason));
    stream.onSlot?.((slot) => stream === this.stream && this.onStreamSlot(slot));
  }

  /** Highest slot of any write applied. */
  get slot(): number {
    return this.highestSlot;
  }

  /**
   * How old the cache's picture may be, and why; ageMs 0 while the stream is flowing. streamQuietMs: since the
   * stream's last message, which re-reads do not reset (a keeper polling over RPC is current, its stream still down).
   */
  staleness(): { ageMs: number; gap: string | null; streamQuietMs: number } {
    const now = this.o.nowMs();
    return { ageMs: Math.max(0, now - this.currentAtMs), gap: this.gap?.reason ?? null, streamQuietMs: Math.max(0, now - this.streamAtMs) };
  }

  private assertFresh() {
    const { ageMs, gap } = this.staleness();
    if (ageMs > this.o.maxStateAgeMs) throw new StaleStateError(ageMs, gap ? `stream gap: ${gap}` : "no stream message or re-read since");
  }

  /** Apply one write under the slot rule; true if it changed what the cache holds. */
  apply(u: AccountUpdate): boolean {
    const k = addressKey(u.pubkey);
    const held = this.entries.get(k);
    if (!supersedes(held?.slot, u.slot)) {
      this.dropped++;
      return false;
    }
    this.highestSlot = Math.max(this.highestSlot, u.slot);
    this.entries.set(k, { key: u.pubkey, account: u.account, slot: u.slot });
    if (u.account) for (const w of this.programs.values()) if (u.account.owner.equals(w.program) && matchesFilters(u.account, w.filters)) w.keys.add(k);
    return held === undefined || held.slot !== u.slot || !sameAccount(held.account, u.account);
  }

  private onStreamUpdate(u: AccountUpdate) {
    this.updates++;
    this.streamAtMs = this.o.nowMs();
    if (!this.gap) this.currentAtMs = this.streamAtMs;
    if (this.apply(u)) this.o.onChange?.([addressKey(u.pubkey)]);
  }

  private onStreamSlot(slot: number) {
    this.highestSlot = Math.max(this.highestSlot, slot);
    this.streamAtMs = this.o.nowMs();
    if (!this.gap) this.currentAtMs = this.streamAtMs;
  }

  private onGap(reason: string) {
    this.gap ??= { sinceMs: this.o.nowMs(), reason };
    void this.rereadAll();
  }

  /**
   * Read everything followed again over RPC (the slow background reconciliation, and the repair after a gap).
   * Concurrent calls share one pass; a failed pass leaves the gap open and is retried by the next call.
   */
  rereadAll(): Promise<void> {
    // Forgotten in a `.finally` of its own, which runs after `??=` stored the pass: a pass with nothing to await (an
    // empty cache, a gap before the first read) would otherwise finish before the store, and stay stored, settled,
    // answering every later call without reading.
    this.reread ??= (async () => {
      const openedGap = this.gap;
      try {
        const keys = [...this.entries.values()].map((e) => e.key);
        const started = this.o.nowMs();
        if (keys.length) await this.readKeys(keys);
        for (const w of this.programs.values()) await this.readProgram(w);
        this.rereads++;
        // A gap opened during the pass may hide updates the pass read before it: only the gap it started with closes.
        if (this.gap === openedGap) {
          this.gap = null;
          this.currentAtMs = Math.max(this.currentAtMs, started);
        }
        this.o.onChange?.([]);
      } catch (e) {
        this.o.onError?.(e as Error);
      }
    })().finally(() => {
      this.reread = null;
    });
    return this.reread;
  }

  private async readKeys(keys: PublicKey[]) {
    const res = await this.seed.getMultipleAccounts(keys);
    keys.forEach((key, i) => this.apply({ pubkey: key, account: res.accounts[i] ?? null, slot: res.slot }));
  }

  /**
   * A program query over RPC: what it returns is applied; a member it no longer returns was closed (programSubscribe
   * never reports closures), unless the stream has a newer write for it.
   */
  private async readProgram(w: ProgramWatch) {
    const res = await this.seed.getProgramAccounts(w.program, w.filters);
    const seen = new Set<string>();
    for (const { pubkey, account } of res.accounts) {
      seen.add(addressKey(pubkey));
      this.apply({ pubkey, account, slot: res.slot });
    }
    for (const k of w.keys) if (!seen.has(k)) this.apply({ pubkey: new PublicKey(k), account: null, slot: res.slot });
    w.seeded = true;
  }

  /**
   * Read these addresses over RPC now, at one slot, and apply them: how an outcome is judged (a request gone and its
   * position changed must be seen together, which two notifications do not promise) and how the decision after it
   * sees at least that slot.
   */
  async refresh(keys: PublicKey[]): Promise<{ slot: number; accounts: (RawAccount | null)[] }> {
    this.watchByAddress(keys);
    const res = await this.seed.getMultipleAccounts(keys);
    keys.forEach((key, i) => this.apply({ pubkey: key, account: res.accounts[i] ?? null, slot: res.slot }));
    return res;
  }

  /** Follow everything through another stream (the RPC failed over): what the old one may have missed is re-read. */
  replaceStream(stream: AccountStream): Promise<void> {
    const old = this.stream;
    this.stream = stream;
    this.listen(stream);
    stream.watchAccounts([...this.byAddress].map((k) => new PublicKey(k)));
    for (const w of this.programs.values()) stream.watchProgram(w.program, w.filters);
    void old.close().catch(() => {});
    this.gap ??= { sinceMs: this.o.nowMs(), reason: "account stream replaced" };
    return this.rereadAll();
  }

  async close(): Promise<void> {
    await this.stream.close();
  }

  /** Start following addresses ahead of need (a request about to be sent), read once now. */
  async track(keys: readonly PublicKey[]): Promise<void> {
    this.watchByAddress(keys);
    const fresh = keys.filter((k) => !this.entries.has(addressKey(k)));
    if (fresh.length) await this.readKeys(fresh);
  }

  /**
   * An address read by address is followed by address, even when a program query already holds it: programSubscribe
   * never reports a closure (a filled request's), accountSubscribe does.
   */
  private watchByAddress(keys: readonly PublicKey[]) {
    const unwatched = keys.filter((k) => !this.byAddress.has(addressKey(k)));
    if (!unwatched.length) return;
    for (const k of unwatched) this.byAddress.add(addressKey(k));
    this.stream.watchAccounts(unwatched);
  }

  /** Stop following addresses (a settled request); they are forgotten, and read again if asked for. */
  untrack(keys: readonly PublicKey[]): void {
    this.stream.unwatchAccounts(keys);
    for (const k of keys) {
      this.entries.delete(addressKey(k));
      this.byAddress.delete(addressKey(k));
      for (const w of this.programs.values()) w.keys.delete(addressKey(k));
    }
  }

  /** The market reader's AccountSource: held accounts from memory; the first read of an address seeds it. */
  async getMultipleAccounts(keys: PublicKey[]): Promise<{ slot: number; accounts: (RawAccount | null)[] }> {
    await this.track(keys);
    this.assertFresh();
    let slot = 0;
    const accounts = keys.map((k) => {
      const e = this.entries.get(addressKey(k))!;
      slot = Math.max(slot, e.slot);
      return e.account;
    });
    return { slot, accounts };
  }

  async getProgramAccounts(program: PublicKey, filters: MemcmpFilter[]): Promise<{ slot: number; accounts: KeyedAccount[] }> {
    const id = programWatchKey(program, filters);
    let w = this.programs.get(id);
    if (!w) {
      w = { program, filters: [...filters], keys: new Set(), seeded: false };
      this.programs.set(id, w);
      this.stream.watchProgram(program, filters);
      await this.readProgram(w);
    }
    this.assertFresh();
    const accounts: KeyedAccount[] = [];
    let slot = 0;
    for (const k of w.keys) {
      const e = this.entries.get(k);
      if (!e) continue;
      slot = Math.max(slot, e.slot);
      if (e.account && e.account.owner.equals(program) && matchesFilters(e.account, filters)) accounts.push({ pubkey: e.key, account: e.account });
    }
    return { slot: Math.max(slot, this.highestSlot), accounts };
  }
}

function sameAccount(a: RawAccount | null, b: RawAccount | null): boolean {
  if (a === null || b === null) return a === b;
  return a.lamports === b.lamports && a.owner.equals(b.owner) && a.data.equals(b.data);
}
