import type { AddressInfo } from "node:net";
import { type PublicKey, SystemProgram } from "@solana/web3.js";
import { type WebSocket, WebSocketServer } from "ws";
import { type RpcAccountFilter as AccountFilter, type RawAccount, matchesFilters } from "../../programs-client";
import type { LocalChain } from "./chain";
import type { TxStatus } from "./ledger";
import { INVALID_PARAMS, METHOD_NOT_FOUND, RpcError, parseFilters, pubkeyParam, toRpcAccount } from "./rpc-methods";

type Subscription =
  | { kind: "account"; key: string; last: string }
  | { kind: "program"; program: string; filters: AccountFilter[] }
  | { kind: "signature"; signature: string }
  | { kind: "slot" }
  | { kind: "root" };

interface Client {
  socket: WebSocket;
  subs: Map<number, Subscription>;
}

const UNSUBSCRIBE: Record<string, Subscription["kind"]> = {
  accountUnsubscribe: "account",
  programUnsubscribe: "program",
  signatureUnsubscribe: "signature",
  slotUnsubscribe: "slot",
  rootUnsubscribe: "root",
};

/**
 * Solana PubSub over WebSocket for a LocalChain: account, program, signature, slot and root subscriptions with
 * the notifications web3.js 1.x parses. Everything is final at once, so every commitment level is served alike.
 */
export class PubSubServer {
  private wss?: WebSocketServer;
  private readonly clients = new Set<Client>();
  private nextId = 1;
  private readonly onSlot = (slot: bigint) => this.notifySlot(slot);
  private readonly onAccounts = (keys: PublicKey[]) => this.notifyAccounts(keys);
  private readonly onStatus = (signature: string, status: TxStatus) => this.notifySignature(signature, status);

  constructor(private readonly chain: LocalChain) {}

  async listen(port: number): Promise<number> {
    const wss = new WebSocketServer({ host: "127.0.0.1", port });
    await new Promise<void>((resolve, reject) => {
      wss.once("listening", resolve);
      wss.once("error", reject);
    });
    this.wss = wss;
    wss.on("connection", (socket) => this.accept(socket));
    this.chain.on("slot", this.onSlot);
    this.chain.on("accounts", this.onAccounts);
    this.chain.on("status", this.onStatus);
    return (wss.address() as AddressInfo).port;
  }

  /** Cut every client's connection (a fault knob: clients must reconnect and resubscribe). */
  private silent = false;

  disconnectAll(): number {
    const n = this.clients.size;
    for (const c of this.clients) c.socket.terminate();
    return n;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Subscriptions of each kind accepted since start, unsubscribed or not: tests check what a client subscribed to. */
  readonly subscribed: Record<Subscription["kind"], number> = { account: 0, program: 0, signature: 0, slot: 0, root: 0 };

  async close(): Promise<void> {
    this.chain.off("slot", this.onSlot);
    this.chain.off("accounts", this.onAccounts);
    this.chain.off("status", this.onStatus);
    this.disconnectAll();
    const wss = this.wss;
    if (wss) await new Promise<void>((resolve) => wss.close(() => resolve()));
  }

  private accept(socket: WebSocket): void {
    const client: Client = { socket, subs: new Map() };
    this.clients.add(client);
    socket.on("close", () => this.clients.delete(client));
    socket.on("error", () => this.clients.delete(client));
    socket.on("message", (raw) => {
      let msg: { id?: unknown; method?: unknown; params?: unknown };
      try {
        msg = JSON.parse(raw.toString());
      } catch {
        this.send(client, { jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } });
        return;
      }
      // web3.js sends an id-less keep-alive ping; it expects no answer.
      if (msg.id === undefined || msg.id === null) return;
      try {
        const params = Array.isArray(msg.params) ? msg.params : [];
        const { result, after } = this.handle(client, String(msg.method), params);
        this.send(client, { jsonrpc: "2.0", id: msg.id, result });
        after?.();
      } catch (e) {
        const code = e instanceof RpcError ? e.code : -32603;
        this.send(client, { jsonrpc: "2.0", id: msg.id, error: { code, message: (e as Error).message } });
      }
    });
  }

  private handle(client: Client, method: string, params: unknown[]): { result: unknown; after?: () => void } {
    const add = (sub: Subscription) => {
      const id = this.nextId++;
      client.subs.set(id, sub);
      this.subscribed[sub.kind]++;
      return id;
    };
    switch (method) {
      case "accountSubscribe": {
        const key = pubkeyParam(params[0], "pubkey").toBase58();
        return { result: add({ kind: "account", key, last: this.accountJson(key) }) };
      }
      case "programSubscribe": {
        const program = pubkeyParam(params[0], "program id").toBase58();
        const cfg = (params[1] ?? {}) as { filters?: unknown };
        return { result: add({ kind: "program", program, filters: parseFilters(cfg.filters) }) };
      }
      case "signatureSubscribe": {
        const signature = String(params[0]);
        const id = add({ kind: "signature", signature });
        const known = this.chain.signatureStatus(signature);
        // A signature that already executed is notified right after the subscription is acknowledged.
        return { result: id, after: known ? () => this.notifySignature(signature, known) : undefined };
      }
      case "slotSubscribe":
        return { result: add({ kind: "slot" }) };
      case "rootSubscribe":
        return { result: add({ kind: "root" }) };
      default: {
        const kind = UNSUBSCRIBE[method];
        if (!kind) throw new RpcError(METHOD_NOT_FOUND, `Method not found: ${method}`);
        const id = Number(params[0]);
        const sub = client.subs.get(id);
        if (!sub || sub.kind !== kind) throw new RpcError(INVALID_PARAMS, `Invalid subscription id: ${params[0]}`);
        client.subs.delete(id);
        return { result: true };
      }
    }
  }

  private send(client: Client, message: object): void {
    if (client.socket.readyState === client.socket.OPEN) client.socket.send(JSON.stringify(message));
  }

  private notify(client: Client, method: string, subscription: number, result: unknown): void {
    this.notifyJson(client, method, subscription, JSON.stringify(result));
  }

  /** A notification whose result is JSON already (an account encoded once for all its subscribers, not re-parsed). */
  private notifyJson(client: Client, method: string, subscription: number, resultJson: string): void {
    if (this.silent || client.socket.readyState !== client.socket.OPEN) return;
    client.socket.send(`{"jsonrpc":"2.0","method":${JSON.stringify(method)},"params":{"result":${resultJson},"subscription":${subscription}}}`);
  }

  /**
   * A stalled stream: sockets stay open and answer subscribe calls, but no notification is sent (and none is sent
   * later for what happened meanwhile), as when a provider's PubSub node falls behind. Returns the new setting.
   */
  setSilent(on: boolean): boolean {
    this.silent = on;
    return on;
  }

  private context() {
    return { slot: Number(this.chain.slot) };
  }

  /** The account's notification value now (accountJsonOf). */
  private accountJson(key: string): string {
    return accountJsonOf(this.chain.getAccount(pubkeyParam(key, "pubkey")));
  }

  private notifySlot(slot: bigint): void {
    for (const c of this.clients) {
      for (const [id, sub] of c.subs) {
        if (sub.kind === "slot") this.notify(c, "slotNotification", id, { parent: Number(slot - 1n), root: Number(slot), slot: Number(slot) });
        if (sub.kind === "root") this.notify(c, "rootNotification", id, Number(slot));
      }
    }
  }

  private notifyAccounts(keys: PublicKey[]): void {
    if (this.clients.size === 0) return;
    const changed = new Map(keys.map((k) => [k.toBase58(), k]));
    // Each changed account is read (and encoded) once, however many subscriptions look at it.
    const reads = new Map<string, { account: RawAccount | null; owner?: string; json?: string }>();
    const read = (k: string) => {
      let r = reads.get(k);
      if (!r) {
        const account = this.chain.getAccount(changed.get(k)!);
        r = { account, owner: account?.owner.toBase58() };
        reads.set(k, r);
      }
      return r;
    };
    for (const c of this.clients) {
      for (const [id, sub] of c.subs) {
        if (sub.kind === "account" && changed.has(sub.key)) {
          const r = read(sub.key);
          r.json ??= accountJsonOf(r.account);
          if (r.json === sub.last) continue;
          sub.last = r.json;
          this.notifyJson(c, "accountNotification", id, `{"context":${JSON.stringify(this.context())},"value":${r.json}}`);
        } else if (sub.kind === "program") {
          for (const k of changed.keys()) {
            const { account, owner } = read(k);
            if (!account || owner !== sub.program || !matchesFilters(account, sub.filters)) continue;
            this.notify(c, "programNotification", id, { context: this.context(), value: { pubkey: k, account: toRpcAccount(account) } });
          }
        }
      }
    }
  }

  private notifySignature(signature: string, status: TxStatus): void {
    for (const c of this.clients) {
      for (const [id, sub] of c.subs) {
        if (sub.kind !== "signature" || sub.signature !== signature) continue;
        this.notify(c, "signatureNotification", id, { context: { slot: Number(status.slot) }, value: { err: status.err } });
        c.subs.delete(id);
      }
    }
  }
}

/**
 * An account as its notification's value. A closed or never-created account goes out as a cluster sends it, the
 * default account (0 lamports, no data, owned by the system program), never as null: web3.js rejects a null
 * value, and throws from its socket handler.
 */
function accountJsonOf(account: RawAccount | null): string {
  return JSON.stringify(account ? toRpcAccount(account) : { ...toRpcAccount({ owner: SystemProgram.programId, data: Buffer.alloc(0), lamports: 0 }), rentEpoch: 0 });
}
