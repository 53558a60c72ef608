import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { type PublicKey, SystemProgram } from "@solana/web3.js";
import { packageRoot } from "../../keeper/lib/package-root";
import type { RawAccount } from "../../programs-client";
import type { LocalChain } from "./chain";
import { type DecodedSubscribeRequest, EMPTY_SUBSCRIPTION, type Subscription, matchingFilters, parseSubscription } from "./geyser-filter";

/** rpcpool/yellowstone-grpc's geyser.proto and solana-storage.proto, vendored (their header names the commit). */
export const GEYSER_PROTO_DIR = join(packageRoot(), "localnet", "geyser-proto");

// grpc-js prints its own errors to stderr ("E No address added..."); ours say the same with the fix, once.
grpc.setLogVerbosity(grpc.logVerbosity.NONE);

/** Yellowstone pings every stream every 10 s, so load balancers keep it open and dead clients are found. */
const DEFAULT_PING_INTERVAL_MS = 10_000;

/** geyser.SlotStatus: the localnet's slots are processed, confirmed and finalized at once. */
const SLOT_STATUSES = [0, 1, 2] as const;

/**
 * What Agave hands Geyser for a closed account: the default account, 0 lamports, owned by the System program
 * (Yellowstone's maintainer in rpcpool/yellowstone-grpc#275: deleted accounts are "owner = system program + lamports = 0").
 */
const CLOSED: RawAccount = { lamports: 0, owner: SystemProgram.programId, data: Buffer.alloc(0), executable: false };

export interface GeyserServerOptions {
  pingIntervalMs?: number;
  /** When set, every call must carry this `x-token` metadata (as providers require), else UNAUTHENTICATED. */
  xToken?: string;
}

interface Client {
  call: grpc.ServerDuplexStream<DecodedSubscribeRequest, object>;
  sub: Subscription;
}

type Unary = (call: grpc.ServerUnaryCall<Record<string, unknown>, object>, done: grpc.sendUnaryData<object>) => void;

function loadGeyserService(): grpc.ServiceDefinition {
  const definition = protoLoader.loadSync(join(GEYSER_PROTO_DIR, "geyser.proto"), {
    includeDirs: [GEYSER_PROTO_DIR],
    keepCase: false,
    longs: String,
    enums: Number,
    defaults: false,
    oneofs: true,
  });
  const geyser = grpc.loadPackageDefinition(definition).geyser as grpc.GrpcObject;
  return (geyser.Geyser as grpc.ServiceClientConstructor).service;
}

/**
 * Yellowstone gRPC (Geyser) for a LocalChain, on 127.0.0.1: Subscribe with accounts filters (address, owner,
 * memcmp, datasize) and slots, pings every stream and answers its pings with pongs; each new request replaces the
 * stream's filter, as Yellowstone does. Plus the unary GetSlot, GetLatestBlockhash, GetBlockHeight,
 * IsBlockhashValid, GetVersion and Ping. The chain is final at once, so every commitment is served alike.
 */
export class GeyserServer {
  private readonly server = new grpc.Server();
  private readonly clients = new Set<Client>();
  private pingTimer?: NodeJS.Timeout;
  private writeVersion = 0n;
  private readonly onAccounts = (keys: PublicKey[]) => this.notifyAccounts(keys);
  private readonly onSlot = (slot: bigint) => this.notifySlot(slot);

  constructor(
    private readonly chain: LocalChain,
    private readonly opts: GeyserServerOptions = {},
  ) {
    const unary = (answer: (req: Record<string, unknown>) => object): Unary => (call, done) => {
      if (!this.authorized(call.metadata)) done({ code: grpc.status.UNAUTHENTICATED, details: "x-token missing or wrong" });
      else done(null, answer(call.request));
    };
    this.server.addService(loadGeyserService(), {
      subscribe: (call: Client["call"]) => this.subscribe(call),
      ping: unary((r) => ({ count: r.count ?? 0 })),
      getSlot: unary(() => ({ slot: String(chain.slot) })),
      getBlockHeight: unary(() => ({ blockHeight: String(chain.blockHeight) })),
      getLatestBlockhash: unary(() => {
        const { blockhash, lastValidBlockHeight } = chain.latestBlockhash();
        return { slot: String(chain.slot), blockhash, lastValidBlockHeight: String(lastValidBlockHeight) };
      }),
      isBlockhashValid: unary((r) => ({ slot: String(chain.slot), valid: chain.isBlockhashValid(String(r.blockhash ?? "")) })),
      getVersion: unary(() => ({ version: JSON.stringify({ version: { package: "gamma-keeper-localnet", proto: "yellowstone-grpc 7" }, extra: { hostname: "localnet" } }) })),
      subscribeReplayInfo: unary(() => ({})),
    });
  }

  /** Listen on 127.0.0.1:port (0 picks a free one); returns the port. */
  async listen(port: number): Promise<number> {
    const bound = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(new Error(`cannot serve Geyser gRPC on 127.0.0.1:${port} (${e.message}); fix: choose another port, or 0 for a free one`)) : resolve(p),
      ),
    );
    this.chain.on("accounts", this.onAccounts);
    this.chain.on("slot", this.onSlot);
    this.pingTimer = setInterval(() => this.pingAll(), this.opts.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS);
    this.pingTimer.unref();
    return bound;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** End every Subscribe stream with UNAVAILABLE, as a provider's restart does (a fault knob: clients reconnect). */
  disconnectAll(): number {
    const n = this.clients.size;
    for (const c of [...this.clients]) this.fail(c, grpc.status.UNAVAILABLE, "localnet: Geyser stream cut by a test control");
    return n;
  }

  async close(): Promise<void> {
    clearInterval(this.pingTimer);
    this.chain.off("accounts", this.onAccounts);
    this.chain.off("slot", this.onSlot);
    this.disconnectAll();
    // Streams were just ended; a client that does not hang up is cut rather than waited for.
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 500);
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  private authorized(metadata: grpc.Metadata): boolean {
    return this.opts.xToken === undefined || metadata.get("x-token")[0] === this.opts.xToken;
  }

  private subscribe(call: Client["call"]): void {
    if (!this.authorized(call.metadata)) {
      call.emit("error", { code: grpc.status.UNAUTHENTICATED, details: "x-token missing or wrong" });
      return;
    }
    // Tonic (Yellowstone) sends the response headers as soon as the stream opens; the Triton client's subscribe()
    // waits for them, and grpc-js would hold them back until the first message (a ping, 10 s later).
    call.sendMetadata(new grpc.Metadata());
    const client: Client = { call, sub: EMPTY_SUBSCRIPTION };
    this.clients.add(client);
    const drop = () => this.clients.delete(client);
    call.on("error", drop);
    call.on("cancelled", drop);
    call.on("close", drop);
    call.on("data", (req: DecodedSubscribeRequest) => {
      // A ping is answered and leaves the filter as it is (Yellowstone's rule).
      if (req.ping) return this.write(client, { filters: [], pong: { id: req.ping.id ?? 0 } });
      const sub = parseSubscription(req);
      if ("error" in sub) this.fail(client, grpc.status.INVALID_ARGUMENT, `failed to create filter: ${sub.error}`);
      else client.sub = sub;
    });
    // The client half-closed: Yellowstone keeps streaming until it hangs up; the localnet ends the call.
    call.on("end", () => {
      drop();
      call.end();
    });
  }

  private fail(client: Client, code: grpc.status, details: string): void {
    this.clients.delete(client);
    client.call.emit("error", { code, details });
  }

  private write(client: Client, update: object): void {
    if (!client.call.writable) return;
    client.call.write({ ...update, createdAt: timestamp() });
  }

  private pingAll(): void {
    for (const c of this.clients) this.write(c, { filters: [], ping: {} });
  }

  private notifySlot(slot: bigint): void {
    for (const c of this.clients) {
      for (const s of c.sub.slots) {
        const statuses = s.filterByCommitment ? [c.sub.commitment] : SLOT_STATUSES;
        for (const status of statuses) this.write(c, { filters: [s.name], slot: { slot: String(slot), parent: String(slot - 1n), status } });
      }
    }
  }

  private notifyAccounts(keys: PublicKey[]): void {
    if (this.clients.size === 0) return;
    const slot = String(this.chain.slot);
    for (const key of keys) {
      const pubkey = key.toBase58();
      const account = this.chain.getAccount(key) ?? CLOSED;
      let info: object | undefined;
      for (const c of this.clients) {
        const filters = matchingFilters(c.sub, pubkey, account);
        if (filters.length === 0) continue;
        info ??= {
          pubkey: key.toBuffer(),
          lamports: String(account.lamports),
          owner: account.owner.toBuffer(),
          executable: account.executable ?? false,
          rentEpoch: "18446744073709551615",
          data: account.data,
          writeVersion: String(++this.writeVersion),
        };
        this.write(c, { filters, account: { account: info, slot, isStartup: false } });
      }
    }
  }
}

function timestamp(): { seconds: string; nanos: number } {
  const ms = Date.now();
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}
