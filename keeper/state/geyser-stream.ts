import { PublicKey } from "@solana/web3.js";
import type * as Yellowstone from "@triton-one/yellowstone-grpc";
import type { ClientDuplexStream, SubscribeRequest, SubscribeUpdate } from "@triton-one/yellowstone-grpc";
import type { MemcmpFilter, RawAccount } from "../../programs-client";
import { redactUrl } from "../lib/redact";
import type { AccountStream, AccountUpdate } from "./account-stream";

export type GeyserCommitment = "processed" | "confirmed" | "finalized";

export interface GeyserStreamOptions {
  /** The Yellowstone gRPC endpoint, e.g. https://host:443 (http:// for a plaintext one such as the localnet's). */
  url: string;
  /** The provider's access token, sent as `x-token` metadata. */
  xToken?: string;
  /** Default confirmed. */
  commitment?: GeyserCommitment;
  /** First reconnect delay after a drop; it doubles per failed attempt up to reconnectMaxMs. Default 100 ms. */
  reconnectMinMs?: number;
  /** Default 5,000 ms. */
  reconnectMaxMs?: number;
  /** No message at all (update, slot, ping) for this long: the stream is dead, reconnect. Default 30 s (3 server pings). */
  silenceMs?: number;
  /** Each failed session (connect refused, stream error), with the URL redacted; a gap is reported besides. */
  onError?: (e: Error) => void;
}

interface ProgramWatch {
  program: string;
  filters: { offset: number; bytes: Buffer }[];
}

/** geyser.CommitmentLevel, whose numbers geyser.SlotStatus shares for the same three levels. */
const COMMITMENT: Record<GeyserCommitment, number> = { processed: 0, confirmed: 1, finalized: 2 };

/** The Subscribe request for everything followed: one filter for the addresses, one per program query. */
export function subscribeRequest(accounts: Iterable<string>, programs: readonly ProgramWatch[], commitment: number): Partial<SubscribeRequest> {
  const filters: SubscribeRequest["accounts"] = {};
  const keys = [...accounts];
  if (keys.length > 0) filters.accounts = { account: keys, owner: [], filters: [] };
  programs.forEach((p, i) => {
    filters[`program${i}`] = { account: [], owner: [p.program], filters: p.filters.map((f) => ({ memcmp: { offset: String(f.offset), bytes: f.bytes } })) };
  });
  // Slots at our commitment are the heartbeat that shows the stream alive while no followed account changes.
  return { accounts: filters, slots: { slots: { filterByCommitment: true } }, commitment };
}

/**
 * An account update as the cache takes it. Geyser reports a closed account as Agave's default account, 0 lamports and
 * owned by the System program (rpcpool/yellowstone-grpc#275), so a filter by owner never sees the closure: only a
 * filter by address does, and the cache's re-reads find the rest.
 */
export function accountFromUpdate(info: NonNullable<NonNullable<SubscribeUpdate["account"]>["account"]>): RawAccount | null {
  if (info.lamports === "0") return null;
  return { owner: new PublicKey(info.owner), data: Buffer.from(info.data), lamports: Number(info.lamports), executable: info.executable };
}

/** The native client's errors say "subscribe stream receive failed" and keep the gRPC status in `cause`. */
function describeError(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : undefined;
  return cause ? `${message} (${cause})` : message;
}

/**
 * Yellowstone gRPC (Geyser) as an AccountStream, through @triton-one/yellowstone-grpc (loaded on first use, so a
 * WebSocket keeper never loads it). One Subscribe stream carries everything: each change of what is followed writes
 * the whole filter again (a Subscribe request replaces the previous one). Server pings are answered; a stream that
 * ends, fails or stays silent for `silenceMs` is reopened with backoff. A drop is reported as a gap at once, and
 * again when the new stream is live (its filter acknowledged by a pong), which is when a re-read can no longer
 * miss anything.
 */
export class GeyserAccountStream implements AccountStream {
  private readonly accounts = new Set<string>();
  private readonly programs = new Map<string, ProgramWatch>();
  private readonly updateListeners: ((u: AccountUpdate) => void)[] = [];
  private readonly slotListeners: ((slot: number) => void)[] = [];
  private readonly gapListeners: ((reason: string) => void)[] = [];
  private readonly commitment: number;
  private stream: ClientDuplexStream | null = null;
  private mod: typeof Yellowstone | null = null;
  private closed = false;
  private writeQueued = false;
  /** Every request we send is followed by a ping; pongs come back in order, so one for an id at or past the latest
   * filter's says the server applies that filter. */
  private nextPingId = 1;
  private filterPingId = Infinity;
  private ackedPingId = 0;
  private syncWaiters: (() => void)[] = [];
  private lastMessageMs = Date.now();
  private readonly watchdog: NodeJS.Timeout;
  private wake: (() => void) | null = null;
  private readonly running: Promise<void>;
  /** A connect in progress cannot be cancelled (up to the client's 10 s connect timeout); close() does not wait for it. */
  private connecting = false;

  constructor(private readonly o: GeyserStreamOptions) {
    this.commitment = COMMITMENT[o.commitment ?? "confirmed"];
    const silenceMs = o.silenceMs ?? 30_000;
    this.watchdog = setInterval(() => {
      if (this.stream && Date.now() - this.lastMessageMs > silenceMs) this.stream.destroy(new Error(`no message for ${silenceMs} ms`));
    }, Math.max(50, Math.floor(silenceMs / 4)));
    this.watchdog.unref();
    this.running = this.run();
  }

  watchAccounts(keys: readonly PublicKey[]): void {
    const before = this.accounts.size;
    for (const k of keys) this.accounts.add(k.toBase58());
    if (this.accounts.size !== before) this.queueWrite();
  }

  unwatchAccounts(keys: readonly PublicKey[]): void {
    let changed = false;
    for (const k of keys) changed = this.accounts.delete(k.toBase58()) || changed;
    if (changed) this.queueWrite();
  }

  watchProgram(program: PublicKey, filters: readonly MemcmpFilter[]): void {
    const watch = { program: program.toBase58(), filters: filters.map((f) => ({ offset: f.memcmp.offset, bytes: Buffer.from(f.memcmp.bytes) })) };
    const id = `${watch.program}:${watch.filters.map((f) => `${f.offset}=${f.bytes.toString("hex")}`).join(",")}`;
    if (this.programs.has(id)) return;
    this.programs.set(id, watch);
    this.queueWrite();
  }

  onUpdate(listener: (u: AccountUpdate) => void): void {
    this.updateListeners.push(listener);
  }

  onSlot(listener: (slot: number) => void): void {
    this.slotListeners.push(listener);
  }

  onGap(listener: (reason: string) => void): void {
    this.gapListeners.push(listener);
  }

  /** Resolves once the server applies everything watched so far (a pong after the latest filter), or on close. */
  synced(): Promise<void> {
    return new Promise((resolve) => {
      this.syncWaiters.push(resolve);
      this.settleSyncs();
    });
  }

  private settleSyncs(): void {
    if (!this.closed && (this.writeQueued || this.ackedPingId < this.filterPingId)) return;
    for (const resolve of this.syncWaiters.splice(0)) resolve();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.watchdog);
    this.wake?.();
    this.stream?.destroy();
    this.settleSyncs();
    if (!this.connecting) await this.running;
  }

  private gap(reason: string): void {
    for (const l of this.gapListeners) l(reason);
  }

  private queueWrite(): void {
    if (this.writeQueued) return;
    this.writeQueued = true;
    // Watches made in one turn go out as one request.
    queueMicrotask(() => {
      this.writeQueued = false;
      this.writeFilter();
    });
  }

  private writeFilter(): void {
    const stream = this.stream;
    const mod = this.mod;
    if (!stream || !mod || stream.destroyed) return;
    stream.write(mod.SubscribeRequest.fromPartial(subscribeRequest(this.accounts, [...this.programs.values()], this.commitment)));
    this.filterPingId = this.ping(stream);
  }

  private ping(stream: ClientDuplexStream): number {
    const id = this.nextPingId++;
    stream.write(this.mod!.SubscribeRequest.fromPartial({ ping: { id } }));
    return id;
  }

  private async run(): Promise<void> {
    let delayMs = this.o.reconnectMinMs ?? 100;
    let outage: string | null = null;
    while (!this.closed) {
      let live = false;
      let reason: string;
      try {
        await this.session(() => {
          live = true;
          delayMs = this.o.reconnectMinMs ?? 100;
          if (outage !== null) this.gap(`Geyser stream resubscribed after: ${outage}`);
          outage = null;
        });
        reason = "the server ended the stream";
      } catch (e) {
        reason = describeError(e);
      }
      this.stream = null;
      if (this.closed) return;
      const why = `Geyser stream to ${redactUrl(this.o.url)} ${live ? "dropped" : "could not open"}: ${this.scrub(reason)}`;
      this.o.onError?.(new Error(why));
      if (outage === null) {
        outage = why;
        this.gap(why);
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, delayMs).unref();
      });
      delayMs = Math.min(this.o.reconnectMaxMs ?? 5_000, delayMs * 2);
    }
  }

  /** One connection and Subscribe stream, until it ends (resolves) or fails (rejects). */
  private async session(onLive: () => void): Promise<void> {
    this.mod ??= require("@triton-one/yellowstone-grpc") as typeof Yellowstone;
    const client = new this.mod.default(this.o.url, this.o.xToken, undefined);
    this.connecting = true;
    let stream: ClientDuplexStream;
    try {
      await client.connect();
      stream = await client.subscribe();
    } finally {
      this.connecting = false;
    }
    if (this.closed) {
      stream.destroy();
      return;
    }
    this.stream = stream;
    this.lastMessageMs = Date.now();
    this.ackedPingId = 0;
    await new Promise<void>((resolve, reject) => {
      stream.on("data", (u: SubscribeUpdate) => {
        this.lastMessageMs = Date.now();
        const wasLive = this.ackedPingId >= this.filterPingId;
        this.onMessage(stream, u);
        if (!wasLive && this.ackedPingId >= this.filterPingId && !this.closed) onLive();
      });
      stream.on("error", reject);
      stream.on("close", resolve);
      this.writeFilter();
    });
  }

  private onMessage(stream: ClientDuplexStream, u: SubscribeUpdate): void {
    if (u.account?.account) {
      const info = u.account.account;
      const update: AccountUpdate = { pubkey: new PublicKey(info.pubkey), account: accountFromUpdate(info), slot: Number(u.account.slot) };
      for (const l of this.updateListeners) l(update);
    } else if (u.slot && u.slot.status === this.commitment) {
      for (const l of this.slotListeners) l(Number(u.slot.slot));
    } else if (u.ping) {
      // Answered so proxies in between see traffic both ways (Yellowstone's client examples do the same).
      this.ping(stream);
    } else if (u.pong) {
      this.ackedPingId = Math.max(this.ackedPingId, u.pong.id);
      this.settleSyncs();
    }
  }

  /** Errors from the native client may quote the endpoint; the token and the URL's path never leave here. */
  private scrub(text: string): string {
    let out = text.split(this.o.url).join(redactUrl(this.o.url));
    if (this.o.xToken) out = out.split(this.o.xToken).join("***");
    return out;
  }
}
