import type { Connection, TransactionError } from "@solana/web3.js";

export interface SendOptions {
  /** Resend the same signed bytes this often until the transaction lands or its blockhash expires. */
  rebroadcastMs: number;
  /** Status polling period, the fallback when the WebSocket notification does not come. */
  pollMs: number;
  signal?: AbortSignal;
  /** Called as the first broadcast is handed to the RPC client (the hot path's last stage, for benchmarks). */
  onFirstBroadcast?: () => void;
}

export type SendOutcome =
  | { status: "landed"; slot: number; err: TransactionError | null }
  | { status: "expired"; blockHeight: number }
  | { status: "aborted" };

export interface Broadcast {
  signature: string;
  bytes: Uint8Array;
  lastValidBlockHeight: number;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });

/**
 * Send with maxRetries 0 and rebroadcast the same bytes until the transaction is confirmed or its blockhash
 * expires. Confirmation races a signature subscription against status polling; an error in the landed
 * transaction is returned, never dropped. Expiry is declared only after the block height passed the
 * blockhash's last valid height and a history lookup still finds nothing, so a caller may then re-sign safely.
 */
export async function sendUntilSettled(connection: Connection, tx: Broadcast, opts: SendOptions): Promise<SendOutcome> {
  let settled: SendOutcome | null = null;
  let wake: () => void = () => {};
  const settle = (o: SendOutcome) => {
    settled ??= o;
    wake();
  };
  let subscription: number | null = null;
  let finished = false;
  const subscribe = () => {
    if (finished) return;
    try {
      subscription = connection.onSignature(
        tx.signature,
        (result, ctx) => {
          subscription = null; // web3.js drops a signature subscription once it fires
          settle({ status: "landed", slot: ctx.slot, err: result.err });
        },
        "confirmed",
      );
    } catch {
      // No WebSocket: polling alone decides.
    }
  };
  const broadcast = () =>
    connection.sendRawTransaction(tx.bytes, { skipPreflight: true, maxRetries: 0 }).catch(() => {
      // A failed send is retried on the next rebroadcast; the status poll reports what landed.
    });

  try {
    opts.onFirstBroadcast?.();
    const first = broadcast();
    // Subscribed once the sends released with this one are handed to the RPC client too (the web3.js subscription
    // work is not on their path); still before any reply can be read, since microtasks run before I/O callbacks.
    queueMicrotask(subscribe);
    await first;
    let lastBroadcast = Date.now();
    while (!settled) {
      if (opts.signal?.aborted) return { status: "aborted" };
      await Promise.race([sleep(opts.pollMs, opts.signal), new Promise<void>((r) => (wake = r))]);
      if (settled) break;
      const status = await connection.getSignatureStatuses([tx.signature]).catch(() => null);
      const s = status?.value[0];
      if (s && (s.confirmationStatus === "confirmed" || s.confirmationStatus === "finalized")) {
        settle({ status: "landed", slot: s.slot, err: s.err });
        break;
      }
      const height = await connection.getBlockHeight("confirmed").catch(() => null);
      if (height !== null && height > tx.lastValidBlockHeight) {
        const history = await connection.getSignatureStatuses([tx.signature], { searchTransactionHistory: true }).catch(() => null);
        const h = history?.value[0];
        if (h) settle({ status: "landed", slot: h.slot, err: h.err });
        else settle({ status: "expired", blockHeight: height });
        break;
      }
      if (Date.now() - lastBroadcast >= opts.rebroadcastMs) {
        await broadcast();
        lastBroadcast = Date.now();
      }
    }
    return settled!;
  } finally {
    finished = true;
    if (subscription !== null) void connection.removeSignatureListener(subscription).catch(() => {});
  }
}
