import { PublicKey } from "@solana/web3.js";
import type { RawAccount } from "../../programs-client";
import { redactUrl, scrubSecrets } from "../../keeper/lib/redact";

/** The read methods a fork may send to its remote; nothing else ever leaves the fork. */
export const REMOTE_METHODS = ["getMultipleAccounts", "getProgramAccounts"] as const;
type RemoteMethod = (typeof REMOTE_METHODS)[number];

/** Agave's limit on keys per getMultipleAccounts. */
export const MAX_KEYS_PER_CALL = 100;

export interface RemoteOptions {
  /** Milliseconds before one HTTP call to the remote is abandoned. Default 10,000. */
  timeoutMs?: number;
  /** Further attempts after a failed call (timeout, connection error, HTTP 429/5xx, JSON-RPC error). Default 2. */
  retries?: number;
  /** Calls to the remote in flight at once. Default 4. */
  concurrency?: number;
}

/** The remote failed to answer; the message names the redacted endpoint, never its path or query. */
export class RemoteUnavailable extends Error {}

interface WireAccount {
  lamports: number;
  data: [string, string];
  owner: string;
  executable: boolean;
}

function fromWire(a: WireAccount): RawAccount {
  if (a.data?.[1] !== "base64") throw new Error(`remote answered data in ${String(a.data?.[1])}, expected base64`);
  return { lamports: a.lamports, data: Buffer.from(a.data[0], "base64"), owner: new PublicKey(a.owner), executable: a.executable };
}

/**
 * A read-only JSON-RPC client for the cluster a fork copies: batched account reads, bounded concurrency, a
 * timeout and retries per call. Its type only has read methods, so a fork cannot write to the remote by mistake.
 */
export class RemoteCluster {
  readonly label: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly concurrency: number;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly url: string,
    opts: RemoteOptions = {},
  ) {
    this.label = redactUrl(url);
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.retries = opts.retries ?? 2;
    this.concurrency = opts.concurrency ?? 4;
  }

  /** Accounts by address, null where the remote has none; split into calls of at most 100 keys. */
  async getAccounts(keys: PublicKey[]): Promise<(RawAccount | null)[]> {
    const batches: PublicKey[][] = [];
    for (let i = 0; i < keys.length; i += MAX_KEYS_PER_CALL) batches.push(keys.slice(i, i + MAX_KEYS_PER_CALL));
    const answers = await Promise.all(
      batches.map(async (batch) => {
        const r = await this.call<{ value: (WireAccount | null)[] }>("getMultipleAccounts", [batch.map((k) => k.toBase58()), { encoding: "base64", commitment: "confirmed" }]);
        if (!Array.isArray(r?.value) || r.value.length !== batch.length) throw new RemoteUnavailable(`${this.label} answered getMultipleAccounts with ${JSON.stringify(r).slice(0, 100)}`);
        return r.value.map((a) => (a ? fromWire(a) : null));
      }),
    );
    return answers.flat();
  }

  /** getProgramAccounts with the caller's filters, always full data (a fork caches whole accounts). */
  async getProgramAccounts(program: PublicKey, filters: unknown[] | undefined): Promise<{ pubkey: PublicKey; account: RawAccount }[]> {
    const r = await this.call<{ pubkey: string; account: WireAccount }[]>("getProgramAccounts", [program.toBase58(), { encoding: "base64", commitment: "confirmed", ...(filters ? { filters } : {}) }]);
    if (!Array.isArray(r)) throw new RemoteUnavailable(`${this.label} answered getProgramAccounts with ${JSON.stringify(r).slice(0, 100)}`);
    return r.map((e) => ({ pubkey: new PublicKey(e.pubkey), account: fromWire(e.account) }));
  }

  private async slot<T>(run: () => Promise<T>): Promise<T> {
    while (this.inFlight >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.inFlight++;
    try {
      return await run();
    } finally {
      this.inFlight--;
      this.waiting.shift()?.();
    }
  }

  private async call<T>(method: RemoteMethod, params: unknown[]): Promise<T> {
    let last: Error | undefined;
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 100 * 2 ** (attempt - 1)));
      try {
        return await this.slot(() => this.once<T>(method, params));
      } catch (e) {
        last = e as Error;
      }
    }
    throw new RemoteUnavailable(`${method} to ${this.label} failed after ${this.retries + 1} attempts: ${scrubSecrets(last?.message ?? "unknown error", [this.url])}`);
  }

  private async once<T>(method: RemoteMethod, params: unknown[]): Promise<T> {
    let body: { result?: T; error?: { code: number; message: string } };
    try {
      const res = await fetch(this.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      body = (await res.json()) as typeof body;
    } catch (e) {
      if ((e as Error).name === "TimeoutError") throw new Error(`no answer within ${this.timeoutMs} ms`);
      const cause = (e as { cause?: { code?: string } }).cause?.code;
      throw cause ? new Error(`${(e as Error).message} (${cause})`) : e;
    }
    if (body.error) throw new Error(`JSON-RPC error ${body.error.code}: ${body.error.message}`);
    return body.result as T;
  }
}
