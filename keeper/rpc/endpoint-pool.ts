import { redactUrl } from "../lib/redact";

export interface Endpoint {
  url: string;
  wsUrl?: string;
}

export interface EndpointPoolOptions {
  /** Deadline of every HTTP call. */
  timeoutMs: number;
  /** First backoff after a failure; doubles per consecutive failure up to maxBackoffMs. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** Told when the endpoint in use changes (index into the pool, redacted label). */
  onSwitch?: (index: number, label: string) => void;
  /** Told about every failed attempt (index into the pool; kind: timeout, network, http-429, http-5xx). */
  onError?: (index: number, kind: string) => void;
  nowMs?: () => number;
}

interface Health {
  failures: number;
  /** Not tried before this time unless every endpoint is backing off. */
  retryAtMs: number;
}

/** An HTTP answer the pool treats as the endpoint's fault, not the request's. */
const retryable = (status: number) => status === 429 || status >= 500;

/**
 * Several JSON-RPC endpoints behind one `fetch` for web3.js's Connection: every call has a deadline; a timeout,
 * a network error, 429 or 5xx marks that endpoint unhealthy (exponential backoff) and the same request goes to
 * the next one. The healthiest endpoint in configuration order serves, so the primary is used again once it
 * answers. Errors name endpoints by scheme and host only.
 */
export class EndpointPool {
  private readonly health: Health[];
  private active = 0;

  constructor(
    readonly endpoints: readonly Endpoint[],
    private readonly opts: EndpointPoolOptions,
  ) {
    if (endpoints.length === 0) throw new Error("EndpointPool needs at least one endpoint");
    this.health = endpoints.map(() => ({ failures: 0, retryAtMs: 0 }));
  }

  get activeIndex(): number {
    return this.active;
  }

  get activeEndpoint(): Endpoint {
    return this.endpoints[this.active]!;
  }

  label(i: number): string {
    return `#${i} ${redactUrl(this.endpoints[i]!.url)}`;
  }

  /** Endpoints in the order to try now: those not backing off first (configuration order), then the rest. */
  private order(): number[] {
    const now = (this.opts.nowMs ?? Date.now)();
    const all = this.endpoints.map((_, i) => i);
    return [...all.filter((i) => this.health[i]!.retryAtMs <= now), ...all.filter((i) => this.health[i]!.retryAtMs > now).sort((a, b) => this.health[a]!.retryAtMs - this.health[b]!.retryAtMs)];
  }

  private failed(i: number, kind: string) {
    const h = this.health[i]!;
    h.failures++;
    const base = this.opts.baseBackoffMs ?? 500;
    h.retryAtMs = (this.opts.nowMs ?? Date.now)() + Math.min(this.opts.maxBackoffMs ?? 30_000, base * 2 ** (h.failures - 1));
    this.opts.onError?.(i, kind);
  }

  private succeeded(i: number) {
    this.health[i] = { failures: 0, retryAtMs: 0 };
    if (i !== this.active) {
      this.active = i;
      this.opts.onSwitch?.(i, this.label(i));
    }
  }

  /** A `fetch` for `new Connection(url, { fetch })`: the URL web3.js passes is replaced by the pool's choice. */
  readonly fetch = async (_input: unknown, init?: RequestInit): Promise<Response> => {
    let last = "";
    for (const i of this.order()) {
      let res: Response;
      try {
        res = await fetch(this.endpoints[i]!.url, { ...init, signal: AbortSignal.timeout(this.opts.timeoutMs) });
      } catch (e) {
        const kind = (e as Error).name === "TimeoutError" ? "timeout" : "network";
        this.failed(i, kind);
        last = `${this.label(i)}: ${kind === "timeout" ? `no answer within ${this.opts.timeoutMs} ms` : "connection failed"}`;
        continue;
      }
      if (retryable(res.status)) {
        this.failed(i, res.status === 429 ? "http-429" : "http-5xx");
        last = `${this.label(i)}: HTTP ${res.status}`;
        await res.body?.cancel().catch(() => {});
        continue;
      }
      this.succeeded(i);
      return res;
    }
    throw new Error(`every RPC endpoint failed (last: ${last}); check the endpoints in rpc.url and rpc.fallbacks`);
  };
}
