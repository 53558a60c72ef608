import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { PublicKey } from "@solana/web3.js";
import bs58 from "bs58";
import type { AccountFilter, RawAccount } from "../../keeper/market/account-source";
import { LocalChain } from "./chain";

/** A JSON-RPC error with its code, sent back to the caller as { error: { code, message } }. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const INVALID_PARAMS = -32602;
const METHOD_NOT_FOUND = -32601;
const MIN_CONTEXT_SLOT_NOT_REACHED = -32016;
// Solana's RPC version string; web3.js only displays it.
const VERSION = { "solana-core": "2.2.0", "feature-set": 0 };

type Params = unknown[];
type Handler = (params: Params) => unknown;

function pubkeyParam(value: unknown, what: string): PublicKey {
  try {
    return new PublicKey(value as string);
  } catch {
    throw new RpcError(INVALID_PARAMS, `Invalid param: ${what} is not a base58 pubkey`);
  }
}

function toRpcAccount(a: RawAccount | null, dataSlice?: { offset: number; length: number }) {
  if (!a) return null;
  const data = dataSlice ? a.data.subarray(dataSlice.offset, dataSlice.offset + dataSlice.length) : a.data;
  return {
    data: [data.toString("base64"), "base64"],
    executable: a.executable ?? false,
    lamports: a.lamports,
    owner: a.owner.toBase58(),
    rentEpoch: 18446744073709551615,
    space: a.data.length,
  };
}

function parseFilters(raw: unknown): AccountFilter[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new RpcError(INVALID_PARAMS, "Invalid param: filters must be an array");
  return raw.map((f: { dataSize?: number; memcmp?: { offset: number; bytes: string; encoding?: string } }) => {
    if (typeof f.dataSize === "number") return { dataSize: f.dataSize };
    if (f.memcmp && typeof f.memcmp.offset === "number" && typeof f.memcmp.bytes === "string") {
      const bytes = f.memcmp.encoding === "base64" ? Buffer.from(f.memcmp.bytes, "base64") : Buffer.from(bs58.decode(f.memcmp.bytes));
      return { memcmp: { offset: f.memcmp.offset, bytes } };
    }
    throw new RpcError(INVALID_PARAMS, `Invalid param: unsupported filter ${JSON.stringify(f)}`);
  });
}

/**
 * Solana JSON-RPC over HTTP for a LocalChain: the read methods a web3.js Connection uses, plus surfpool's
 * test controls. Transactions and PubSub come with the rest of the localnet.
 */
export class RpcServer {
  private readonly handlers: Record<string, Handler>;
  private server?: Server;
  private slotTimer?: NodeJS.Timeout;

  constructor(readonly chain: LocalChain) {
    const context = (config?: unknown) => {
      const min = (config as { minContextSlot?: number } | undefined)?.minContextSlot;
      if (min !== undefined && BigInt(min) > chain.slot) {
        throw new RpcError(MIN_CONTEXT_SLOT_NOT_REACHED, `Minimum context slot has not been reached`);
      }
      return { apiVersion: VERSION["solana-core"], slot: Number(chain.slot) };
    };
    this.handlers = {
      getHealth: () => "ok",
      getVersion: () => VERSION,
      getSlot: () => Number(chain.slot),
      getBalance: ([key, config]) => ({ context: context(config), value: chain.getAccount(pubkeyParam(key, "pubkey"))?.lamports ?? 0 }),
      getAccountInfo: ([key, config]) => {
        const cfg = config as { dataSlice?: { offset: number; length: number } } | undefined;
        return { context: context(cfg), value: toRpcAccount(chain.getAccount(pubkeyParam(key, "pubkey")), cfg?.dataSlice) };
      },
      getMultipleAccounts: ([keys, config]) => {
        if (!Array.isArray(keys)) throw new RpcError(INVALID_PARAMS, "Invalid param: expected an array of pubkeys");
        const cfg = config as { dataSlice?: { offset: number; length: number } } | undefined;
        const ctx = context(cfg);
        return { context: ctx, value: keys.map((k, i) => toRpcAccount(chain.getAccount(pubkeyParam(k, `pubkey ${i}`)), cfg?.dataSlice)) };
      },
      getProgramAccounts: ([program, config]) => {
        const cfg = (config ?? {}) as { filters?: unknown; withContext?: boolean; dataSlice?: { offset: number; length: number } };
        const ctx = context(cfg);
        const value = chain
          .programAccounts(pubkeyParam(program, "program id"), parseFilters(cfg.filters))
          .map(({ pubkey, account }) => ({ pubkey: pubkey.toBase58(), account: toRpcAccount(account, cfg.dataSlice) }));
        return cfg.withContext ? { context: ctx, value } : value;
      },
      getMinimumBalanceForRentExemption: ([bytes]) => Number(chain.minimumBalanceForRentExemption(Number(bytes))),
      surfnet_setAccount: ([key, update]) => {
        const address = pubkeyParam(key, "pubkey");
        const u = (update ?? {}) as { lamports?: number; data?: string; owner?: string; executable?: boolean };
        const current = chain.getAccount(address) ?? { owner: PublicKey.default, data: Buffer.alloc(0), lamports: 0 };
        chain.setAccount(address, {
          lamports: u.lamports ?? current.lamports,
          data: u.data !== undefined ? Buffer.from(u.data, "hex") : current.data,
          owner: u.owner !== undefined ? pubkeyParam(u.owner, "owner") : current.owner,
          executable: u.executable ?? current.executable,
        });
        return { context: context(), value: null };
      },
      surfnet_timeTravel: ([config]) => {
        const c = (config ?? {}) as { absoluteTimestamp?: number; absoluteSlot?: number };
        try {
          chain.timeTravel({
            unixMs: c.absoluteTimestamp,
            slot: c.absoluteSlot === undefined ? undefined : BigInt(c.absoluteSlot),
          });
        } catch (e) {
          throw new RpcError(INVALID_PARAMS, e instanceof Error ? e.message : String(e));
        }
        return { absoluteSlot: Number(chain.slot), unixTimestamp: Number(chain.nowSec()) };
      },
    };
  }

  /** Answer one JSON-RPC request object. */
  dispatch(request: { id?: unknown; method?: unknown; params?: unknown }): object {
    const id = request.id ?? null;
    const handler = typeof request.method === "string" ? this.handlers[request.method] : undefined;
    if (!handler) return { jsonrpc: "2.0", id, error: { code: METHOD_NOT_FOUND, message: `Method not found: ${String(request.method)}` } };
    try {
      const params = Array.isArray(request.params) ? request.params : [];
      return { jsonrpc: "2.0", id, result: handler(params) };
    } catch (e) {
      const code = e instanceof RpcError ? e.code : -32603;
      return { jsonrpc: "2.0", id, error: { code, message: e instanceof Error ? e.message : String(e) } };
    }
  }

  private onHttp(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        body = undefined;
      }
      const reply =
        body === undefined
          ? { jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } }
          : Array.isArray(body)
            ? body.map((r) => this.dispatch(r))
            : this.dispatch(body as object);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(reply));
    });
  }

  /** Listen on 127.0.0.1 only; port 0 picks a free one. Slots advance every `slotMs`. */
  async listen(port = 8899, slotMs = 400): Promise<string> {
    this.server = createServer((req, res) => this.onHttp(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(port, "127.0.0.1", resolve);
    });
    this.slotTimer = setInterval(() => this.chain.advanceSlot(), slotMs);
    this.slotTimer.unref();
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    clearInterval(this.slotTimer);
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A chain and its RPC server, started in-process (tests use port 0 for a free port). */
export async function startLocalnet(opts: { port?: number; slotMs?: number } = {}) {
  const chain = new LocalChain();
  const server = new RpcServer(chain);
  const url = await server.listen(opts.port ?? 8899, opts.slotMs ?? 400);
  return { chain, server, url, close: () => server.close() };
}
