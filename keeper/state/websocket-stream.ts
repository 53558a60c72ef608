import { type AccountInfo, type Connection, PublicKey } from "@solana/web3.js";
import bs58 from "bs58";
import type { MemcmpFilter, RawAccount } from "../../programs-client";
import { onWebSocketClose } from "../lib/web3-websocket";
import type { AccountStream, AccountUpdate } from "./account-stream";

/** An account notification of a closed account: lamports 0 and no data is what the RPC sends after a close. */
export function rawFromNotification(info: AccountInfo<Buffer>): RawAccount | null {
  if (info.lamports === 0 && info.data.length === 0) return null;
  return { owner: info.owner, data: Buffer.from(info.data), lamports: info.lamports, executable: info.executable };
}

export interface WebSocketStreamOptions {
  /** With no slot notification for this long the stream counts as dropped: a gap, so the cache re-reads. */
  silenceGapMs: number;
  nowMs: () => number;
}

/**
 * The RPC's PubSub as an AccountStream: accountSubscribe per address, programSubscribe per owner query, and
 * slotSubscribe as the heartbeat. web3.js reconnects and resubscribes a dropped socket by itself but says nothing
 * of what was missed meanwhile, so a socket error, or a silence of `silenceGapMs` in the slot heartbeat, is
 * reported as a gap and the cache re-reads.
 */
export class WebSocketAccountStream implements AccountStream {
  private readonly accounts = new Map<string, number>();
  private readonly programIds: number[] = [];
  private slotId: number | null = null;
  private readonly updateListeners: ((u: AccountUpdate) => void)[] = [];
  private readonly gapListeners: ((reason: string) => void)[] = [];
  private readonly slotListeners: ((slot: number) => void)[] = [];
  private lastSlotMs: number;
  private silent = false;
  private readonly watchdog: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly connection: Connection,
    private readonly o: WebSocketStreamOptions,
  ) {
    this.lastSlotMs = o.nowMs();
    this.slotId = connection.onSlotChange((s) => this.onSlotNotification(s.slot));
    onWebSocketClose(connection, (code) => {
      if (!this.closed) this.gap(`WebSocket closed (code ${code}); web3.js reconnects and resubscribes`);
    });
    this.watchdog = setInterval(() => this.checkSilence(), Math.max(50, Math.floor(o.silenceGapMs / 4)));
    this.watchdog.unref();
  }

  private onSlotNotification(slot: number) {
    this.lastSlotMs = this.o.nowMs();
    if (this.silent) {
      this.silent = false;
      // Back after a silence: what happened meanwhile was not notified. Re-read once more now that it flows again.
      this.gap("slot notifications resumed after a silence");
    }
    for (const l of this.slotListeners) l(slot);
  }

  private checkSilence() {
    if (this.closed || this.silent) return;
    const quietMs = this.o.nowMs() - this.lastSlotMs;
    if (quietMs > this.o.silenceGapMs) {
      this.silent = true;
      this.gap(`no slot notification for ${quietMs} ms`);
    }
  }

  /** A socket error seen by the caller's WebSocket watcher (lib/web3-websocket.ts). */
  gap(reason: string) {
    for (const l of this.gapListeners) l(reason);
  }

  private deliver(u: AccountUpdate) {
    for (const l of this.updateListeners) l(u);
  }

  watchAccounts(keys: readonly PublicKey[]): void {
    for (const key of keys) {
      const k = key.toBase58();
      if (this.accounts.has(k)) continue;
      const id = this.connection.onAccountChange(key, (info, ctx) => this.deliver({ pubkey: key, account: rawFromNotification(info), slot: ctx.slot }), { commitment: "confirmed" });
      this.accounts.set(k, id);
    }
  }

  unwatchAccounts(keys: readonly PublicKey[]): void {
    for (const key of keys) {
      const id = this.accounts.get(key.toBase58());
      if (id === undefined) continue;
      this.accounts.delete(key.toBase58());
      void this.connection.removeAccountChangeListener(id).catch(() => {});
    }
  }

  watchProgram(program: PublicKey, filters: readonly MemcmpFilter[]): void {
    const rpcFilters = filters.map((f) => ({ memcmp: { offset: f.memcmp.offset, bytes: bs58.encode(f.memcmp.bytes) } }));
    const id = this.connection.onProgramAccountChange(
      program,
      (keyed, ctx) => this.deliver({ pubkey: new PublicKey(keyed.accountId), account: rawFromNotification(keyed.accountInfo), slot: ctx.slot }),
      { commitment: "confirmed", filters: rpcFilters },
    );
    this.programIds.push(id);
  }

  onUpdate(listener: (u: AccountUpdate) => void): void {
    this.updateListeners.push(listener);
  }

  onGap(listener: (reason: string) => void): void {
    this.gapListeners.push(listener);
  }

  onSlot(listener: (slot: number) => void): void {
    this.slotListeners.push(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.watchdog);
    const removals = [
      ...[...this.accounts.values()].map((id) => this.connection.removeAccountChangeListener(id)),
      ...this.programIds.map((id) => this.connection.removeProgramAccountChangeListener(id)),
      ...(this.slotId !== null ? [this.connection.removeSlotChangeListener(this.slotId)] : []),
    ];
    this.accounts.clear();
    this.programIds.length = 0;
    this.slotId = null;
    await Promise.all(removals.map((p) => p.catch(() => {})));
  }
}
