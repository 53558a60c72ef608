import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Fork, type ForkOptions, SWAP_QUOTE } from "../fork/fork";
import { LocalChain, type ChainOptions } from "./chain";
import { FaultInjector, type FaultSettings } from "./faults";
import type { GeyserServer, GeyserServerOptions } from "./geyser-server";
import { PubSubServer } from "./pubsub";
import { type HttpAnswer, localQuote } from "../quote-api/quote-api";
import { INVALID_PARAMS, METHOD_NOT_FOUND, RpcError, type RpcHandler, createRpcMethods } from "./rpc-methods";

interface JsonRpcRequest {
  id?: unknown;
  method?: unknown;
  params?: unknown;
}

/** How long close() lets web3.js clients drop their idle WebSockets (they do after 500 ms) before cutting them. */
const CLIENT_DRAIN_MS = 1000;

/**
 * The localnet validator's network face: Solana JSON-RPC over HTTP on 127.0.0.1:port and PubSub over WebSocket on
 * port + 1 (where web3.js looks for it), a slot timer, fault knobs, and the test controls. Plain GETs serve
 * Jupiter's swap quote API at /swap/v1/quote, priced from the chain's oracles.
 */
export class LocalnetServer {
  readonly faults = new FaultInjector();
  readonly pubsub: PubSubServer;
  /** The Yellowstone gRPC server when the localnet serves one (startLocalnet's `geyser`). */
  geyser?: GeyserServer;
  private readonly handlers: Record<string, RpcHandler>;
  private readonly getRoutes: Record<string, (query: URLSearchParams) => HttpAnswer>;
  private http?: Server;
  private slotTimer?: NodeJS.Timeout;
  httpPort = 0;
  wsPort = 0;

  /**
   * `prefetch` runs before each JSON-RPC request and may load what it will read (a fork fetching from its remote);
   * an RpcError it throws is the request's answer.
   */
  constructor(
    readonly chain: LocalChain,
    private readonly prefetch?: (method: string, params: unknown[]) => Promise<void>,
  ) {
    this.pubsub = new PubSubServer(chain);
    this.handlers = createRpcMethods(chain);
    this.getRoutes = { "/swap/v1/quote": (q) => localQuote(chain, q) };
  }

  private async onGet(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const route = this.getRoutes[url.pathname];
    if (route) await this.prefetch?.(SWAP_QUOTE, []).catch(() => undefined); // a fork fetches what the quote reads; a failure shows in the answer
    const answer: HttpAnswer = route ? route(url.searchParams) : { status: 404, body: { error: `no route ${url.pathname}; JSON-RPC is POST /` } };
    res.writeHead(answer.status, { "content-type": "application/json" });
    res.end(JSON.stringify(answer.body));
  }

  /** Test controls, reachable over RPC and never subject to faults. */
  private control(method: string, params: unknown[]): unknown {
    if (method === "localnet_setFaults") {
      try {
        return this.faults.configure((params[0] ?? {}) as Partial<FaultSettings>);
      } catch (e) {
        throw new RpcError(INVALID_PARAMS, `Invalid param: ${(e as Error).message}`);
      }
    }
    if (method === "localnet_disconnectWebSockets") return this.pubsub.disconnectAll();
    if (method === "localnet_silenceWebSockets") return this.pubsub.setSilent(params[0] !== false);
    if (method === "localnet_disconnectGeyser") {
      if (!this.geyser) throw new RpcError(INVALID_PARAMS, "this localnet serves no Geyser gRPC; start it with a Geyser port (--geyser-port)");
      return this.geyser.disconnectAll();
    }
    return undefined;
  }

  /** Answer one JSON-RPC request object. */
  dispatch(request: JsonRpcRequest): object {
    const id = request.id ?? null;
    const method = typeof request.method === "string" ? request.method : "";
    const params = Array.isArray(request.params) ? request.params : [];
    try {
      if (method.startsWith("localnet_") && !this.handlers[method]) {
        const result = this.control(method, params);
        if (result === undefined) throw new RpcError(METHOD_NOT_FOUND, `Method not found: ${method}`);
        return { jsonrpc: "2.0", id, result };
      }
      const handler = this.handlers[method];
      if (!handler) throw new RpcError(METHOD_NOT_FOUND, `Method not found: ${String(request.method)}`);
      return { jsonrpc: "2.0", id, result: handler(params) };
    } catch (e) {
      const code = e instanceof RpcError ? e.code : -32603;
      const data = e instanceof RpcError && e.data !== undefined ? { data: e.data } : {};
      return { jsonrpc: "2.0", id, error: { code, message: e instanceof Error ? e.message : String(e), ...data } };
    }
  }

  /** A request's prefetch; its RpcError as the request's answer, or undefined when the request may run. */
  private async prefetchFor(request: JsonRpcRequest): Promise<object | undefined> {
    if (!this.prefetch || typeof request?.method !== "string") return undefined;
    try {
      await this.prefetch(request.method, Array.isArray(request.params) ? request.params : []);
      return undefined;
    } catch (e) {
      if (!(e instanceof RpcError)) throw e;
      const data = e.data !== undefined ? { data: e.data } : {};
      return { jsonrpc: "2.0", id: request.id ?? null, error: { code: e.code, message: e.message, ...data } };
    }
  }

  /** Answer a batch after every prefetch: the fetches run together, the requests still run in their order. */
  async dispatchAfterPrefetch(requests: JsonRpcRequest[]): Promise<object[]> {
    const refused = await Promise.all(requests.map((r) => this.prefetchFor(r)));
    return requests.map((r, i) => refused[i] ?? this.dispatch(r));
  }

  private onHttp(req: IncomingMessage, res: ServerResponse): void {
    if (req.method === "GET") {
      void this.onGet(req, res);
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        body = undefined;
      }
      const requests = (Array.isArray(body) ? body : [body]) as JsonRpcRequest[];
      const methods = requests.map((r) => String(r?.method ?? ""));
      const isControl = methods.every((m) => m.startsWith("localnet_") || m.startsWith("surfnet_"));
      const fault = isControl ? { kind: "pass" as const, delayMs: 0 } : this.faults.decide(methods);
      const answer = () => {
        if (fault.kind === "drop") {
          req.socket.destroy();
          return;
        }
        if (fault.kind === "fail") {
          res.writeHead(fault.status, { "content-type": "application/json" });
          res.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32005, message: `injected fault: HTTP ${fault.status}` } }));
          return;
        }
        const send = (reply: unknown) => {
          const json = JSON.stringify(reply);
          // With the length known the answer goes out in one write, without chunked framing.
          res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(json) });
          res.end(json);
        };
        if (body === undefined) send({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } });
        else if (!this.prefetch) send(Array.isArray(body) ? body.map((r) => this.dispatch(r)) : this.dispatch(body as JsonRpcRequest));
        else {
          const batch = Array.isArray(body);
          this.dispatchAfterPrefetch(batch ? (body as JsonRpcRequest[]) : [body as JsonRpcRequest]).then(
            (replies) => send(batch ? replies : replies[0]),
            (e: Error) => send({ jsonrpc: "2.0", id: null, error: { code: -32603, message: e.message } }),
          );
        }
      };
      if (fault.delayMs > 0) setTimeout(answer, fault.delayMs).unref();
      else answer();
    });
  }

  /**
   * Listen on 127.0.0.1 only: HTTP on `port` and WebSocket on `port + 1`. Port 0 picks a free pair. Slots advance
   * every `slotMs`.
   */
  async listen(port = 8899, slotMs = 400): Promise<{ url: string; wsUrl: string }> {
    for (let attempt = 0; ; attempt++) {
      const http = createServer((req, res) => this.onHttp(req, res));
      await new Promise<void>((resolve, reject) => {
        http.once("error", reject);
        http.listen(port, "127.0.0.1", resolve);
      });
      const httpPort = (http.address() as AddressInfo).port;
      try {
        this.wsPort = await this.pubsub.listen(httpPort + 1);
        this.http = http;
        this.httpPort = httpPort;
        break;
      } catch (e) {
        await new Promise<void>((resolve) => http.close(() => resolve()));
        // With a fixed port the WebSocket port is fixed too; with an ephemeral one, try another pair.
        if (port !== 0 || attempt >= 20) throw new Error(`cannot listen for WebSockets on 127.0.0.1:${httpPort + 1}: ${(e as Error).message}`);
      }
    }
    this.slotTimer = setInterval(() => this.chain.advanceSlot(), slotMs);
    this.slotTimer.unref();
    return { url: `http://127.0.0.1:${this.httpPort}`, wsUrl: `ws://127.0.0.1:${this.wsPort}` };
  }

  async close(): Promise<void> {
    clearInterval(this.slotTimer);
    const deadline = Date.now() + CLIENT_DRAIN_MS;
    while (this.pubsub.clientCount > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await this.pubsub.close();
    const http = this.http;
    if (!http) return;
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  }
}

export interface LocalnetOptions extends ChainOptions {
  /** HTTP port; WebSocket is port + 1. 0 picks a free pair (tests). Default 8899. */
  port?: number;
  /** Milliseconds per slot. Default 400, as on mainnet. */
  slotMs?: number;
  /** Fork a remote cluster: accounts the chain lacks are fetched from it on first read (localnet/fork/fork.ts). */
  fork?: ForkOptions;
  /** Serve Yellowstone gRPC (Geyser) on 127.0.0.1:port too (0 picks a free one); off when absent. */
  geyser?: GeyserServerOptions & { port: number };
}

/** A chain and its RPC and PubSub servers, started in-process. */
export async function startLocalnet(opts: LocalnetOptions = {}) {
  const chain = new LocalChain(opts);
  const fork = opts.fork ? new Fork(chain, opts.fork) : undefined;
  await fork?.start();
  const server = new LocalnetServer(chain, fork && ((method, params) => fork.prefetch(method, params)));
  let served: { url: string; wsUrl: string };
  try {
    served = await server.listen(opts.port ?? 8899, opts.slotMs ?? 400);
  } catch (e) {
    fork?.stop();
    throw e;
  }
  let geyserUrl: string | undefined;
  if (opts.geyser) {
    try {
      // Loaded only when asked for: a localnet without Geyser never loads gRPC.
      const { GeyserServer } = require("./geyser-server") as typeof import("./geyser-server");
      server.geyser = new GeyserServer(chain, opts.geyser);
      geyserUrl = `http://127.0.0.1:${await server.geyser.listen(opts.geyser.port)}`;
    } catch (e) {
      fork?.stop();
      await server.close();
      throw e;
    }
  }
  const close = async () => {
    fork?.stop();
    await server.geyser?.close();
    await server.close();
  };
  return { chain, server, fork, ...served, geyserUrl, close };
}

export type Localnet = Awaited<ReturnType<typeof startLocalnet>>;
