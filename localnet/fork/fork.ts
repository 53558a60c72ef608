import { AddressLookupTableAccount, PublicKey, SYSVAR_CLOCK_PUBKEY, VersionedTransaction } from "@solana/web3.js";
import bs58 from "bs58";
import { MAINNET, PROGRAM_IDS, type RawAccount, TOKEN_ACCOUNT_SIZE } from "../../programs-client";
import { BPF_LOADER_UPGRADEABLE, addPerpsProgram } from "../programs/deploy";
import type { LocalChain } from "../validator/chain";
import { RpcError } from "../validator/rpc-methods";
import { ForkDiskCache } from "./disk-cache";
import { RemoteCluster, type RemoteOptions, RemoteUnavailable } from "./remote";

/** Solana's "node unhealthy" code: the fork cannot answer until its remote does. */
export const FORK_REMOTE_UNAVAILABLE = -32005;
const NATIVE_LOADER = new PublicKey("NativeLoader1111111111111111111111111111111");
const SYSVAR_OWNER = new PublicKey("Sysvar1111111111111111111111111111111111111");
/** UpgradeableLoaderState::Program: u32 tag 2, then the ProgramData address. */
const UPGRADEABLE_PROGRAM_TAG = 2;
const CLOCK_SLOT_OFFSET = 0;
const CLOCK_UNIX_TIMESTAMP_OFFSET = 32;
const MAX_REMEMBERED_MISSES = 100_000;

/** The fork could not start: its remote did not answer and there was no cache to serve from. */
export class ForkStartError extends Error {}

export interface ForkOptions extends RemoteOptions {
  /** The cluster to fork: any JSON-RPC endpoint. Only read methods are ever sent to it. */
  url: string;
  /** Keep the project's stand-in program at the Jupiter Perps address instead of fetching the remote's. */
  standIn?: boolean;
  /** How long an account the remote does not have (or a getProgramAccounts answer) is trusted before asking again. Default 60 s. */
  missTtlMs?: number;
  /** Re-fetch `refreshAccounts` from the remote every this many seconds; without it they stay as first fetched (frozen). */
  refreshSec?: number;
  /** The accounts `refreshSec` re-fetches; default every custody's Pyth and Doves oracle account. */
  refreshAccounts?: PublicKey[];
  /** Directory where fetched accounts persist, loaded at start so a restart does not fetch them again. */
  cacheDir?: string;
  /** Where failures that do not stop the fork go (an oracle refresh, a start from the cache alone); default one line on stderr. */
  onError?: (e: Error) => void;
}

/**
 * A lazy copy of a remote cluster inside the local chain. An account the chain does not have is fetched on its
 * first read, written into the chain and from then on local: transactions change it here, never on the remote,
 * and an account deleted here stays deleted. The fork learns which accounts a request needs before the request
 * runs (`prefetch`), so the chain itself, LiteSVM and every RPC method stay synchronous.
 */
export class Fork {
  readonly remote: RemoteCluster;
  /** Accounts that are the chain's own: fetched once, written or closed here, or loaded from the cache. */
  private readonly settled = new Set<string>();
  /** Accounts the remote did not have, until when (ms) that answer is trusted. */
  private readonly misses = new Map<string, number>();
  /** getProgramAccounts queries merged from the remote, until when (ms). */
  private readonly programQueries = new Map<string, number>();
  private readonly pending = new Map<string, Promise<void>>();
  private readonly cache?: ForkDiskCache;
  private readonly missTtlMs: number;
  private refreshTimer?: NodeJS.Timeout;
  private readonly onAccounts = (keys: PublicKey[]) => keys.forEach((k) => this.settled.add(k.toBase58()));
  /** Accounts loaded from the disk cache at start, and accounts fetched from the remote since. */
  readonly stats = { fromCache: 0, fetched: 0 };

  constructor(
    private readonly chain: LocalChain,
    private readonly opts: ForkOptions,
  ) {
    this.remote = new RemoteCluster(opts.url, opts);
    this.missTtlMs = opts.missTtlMs ?? 60_000;
    if (opts.cacheDir) this.cache = new ForkDiskCache(opts.cacheDir);
  }

  /** Load the disk cache, put the stand-in in place if asked, move the Clock to the remote's, start refreshing. */
  async start(): Promise<void> {
    if (this.cache) {
      // ProgramData before its program: LiteSVM compiles an upgradeable program when its account is written.
      const cached = this.cache.readAll().sort((a, b) => Number(a.account.executable ?? false) - Number(b.account.executable ?? false));
      for (const { address, account } of cached) this.adopt(address, account, "cache");
      this.stats.fromCache = cached.length;
    }
    if (this.opts.standIn) {
      addPerpsProgram(this.chain);
      const [programData] = PublicKey.findProgramAddressSync([PROGRAM_IDS.perpetuals.toBuffer()], BPF_LOADER_UPGRADEABLE);
      this.settled.add(PROGRAM_IDS.perpetuals.toBase58());
      this.settled.add(programData.toBase58());
    }
    // Transactions and test controls write here: those accounts are local from now on, whatever the remote has.
    this.chain.on("accounts", this.onAccounts);
    let clock: RawAccount | null | undefined;
    try {
      [clock] = await this.remote.getAccounts([SYSVAR_CLOCK_PUBKEY]);
    } catch (e) {
      const message = `cannot read the Clock of ${this.remote.label}: ${(e as Error).message}`;
      // With a disk cache the fork can still replay what it holds; without one it would have nothing to serve.
      if (this.stats.fromCache === 0) throw new ForkStartError(`fork: ${message}; check the URL and the network, or start from a --fork-cache directory`);
      this.reportError(new Error(`${message}; serving the ${this.stats.fromCache} cached accounts on the local clock`));
    }
    if (clock && clock.data.length >= 40) {
      const slot = clock.data.readBigUInt64LE(CLOCK_SLOT_OFFSET);
      const unixSec = clock.data.readBigInt64LE(CLOCK_UNIX_TIMESTAMP_OFFSET);
      this.chain.timeTravel({ unixMs: Number(unixSec) * 1000, slot: slot > this.chain.slot ? slot : undefined });
    }
    if (this.opts.refreshSec !== undefined) {
      const accounts = this.opts.refreshAccounts ?? Object.values(MAINNET.custodies).flatMap((c) => [c.pythPriceUpdate, c.dovesAg]);
      let running = false;
      this.refreshTimer = setInterval(() => {
        // A slow remote skips ticks rather than piling refreshes up behind its timeout.
        if (running) return;
        running = true;
        this.refresh(accounts)
          .catch((e: Error) => this.reportError(new Error(`oracle refresh: ${e.message}`)))
          .finally(() => (running = false));
      }, this.opts.refreshSec * 1000);
      this.refreshTimer.unref();
    }
  }

  private reportError(e: Error): void {
    (this.opts.onError ?? ((err: Error) => console.error(`fork: ${err.message}`)))(e);
  }

  stop(): void {
    clearInterval(this.refreshTimer);
    this.chain.off("accounts", this.onAccounts);
  }

  /** Overwrite `accounts` with the remote's current state (oracles that keep moving). */
  async refresh(accounts: PublicKey[]): Promise<void> {
    const fetched = await this.remote.getAccounts(accounts);
    fetched.forEach((account, i) => {
      if (account) this.adopt(accounts[i]!, account, "refresh");
    });
  }

  /** Make sure the chain holds every account in `keys` that the remote has (fetching the missing ones in batches). */
  async ensure(keys: PublicKey[]): Promise<void> {
    const now = Date.now();
    const wanted = new Map<string, PublicKey>();
    const waits: Promise<void>[] = [];
    for (const key of keys) {
      const k = key.toBase58();
      if (wanted.has(k) || this.isSettled(key, k, now)) continue;
      const p = this.pending.get(k);
      if (p) waits.push(p);
      else wanted.set(k, key);
    }
    if (wanted.size > 0) {
      const fetch = this.fetch([...wanted.values()]);
      for (const k of wanted.keys()) this.pending.set(k, fetch);
      waits.push(fetch.finally(() => wanted.forEach((_, k) => this.pending.get(k) === fetch && this.pending.delete(k))));
    }
    await Promise.all(waits);
  }

  private isSettled(key: PublicKey, k: string, now: number): boolean {
    if (this.settled.has(k)) return true;
    if ((this.misses.get(k) ?? 0) > now) return true;
    return this.chain.getAccount(key) !== null;
  }

  private async fetch(keys: PublicKey[]): Promise<void> {
    let accounts: (RawAccount | null)[];
    try {
      accounts = await this.remote.getAccounts(keys);
    } catch (e) {
      // An account the remote once said it lacked is still lacking; one the fork never saw cannot be answered.
      const unknown = keys.filter((k) => !this.misses.has(k.toBase58()));
      if (unknown.length === 0) return;
      const more = unknown.length > 1 ? ` (and ${unknown.length - 1} more)` : "";
      throw new RpcError(
        FORK_REMOTE_UNAVAILABLE,
        `fork: account ${unknown[0]!.toBase58()}${more} is not in the fork's cache and the remote ${this.remote.label} did not answer (${e instanceof RemoteUnavailable ? e.message : String(e)}); the fork serves only the accounts it already holds until the remote is back`,
      );
    }
    const programDatas: PublicKey[] = [];
    const programs: [PublicKey, RawAccount][] = [];
    accounts.forEach((account, i) => {
      const key = keys[i]!;
      if (!account) {
        this.rememberMiss(key.toBase58());
        return;
      }
      const programData = programDataOf(account);
      if (programData) {
        programDatas.push(programData);
        programs.push([key, account]);
      } else this.adopt(key, account);
    });
    // The remote's binary runs here: its ProgramData goes in first, then the program account that points to it.
    if (programDatas.length > 0) await this.ensure(programDatas);
    for (const [key, account] of programs) this.adopt(key, account);
  }

  /** Misses expire, and are swept once there are many (a fork reading fresh wallets and PDAs all day). */
  private rememberMiss(k: string): void {
    const now = Date.now();
    if (this.misses.size >= MAX_REMEMBERED_MISSES) for (const [key, until] of this.misses) if (until <= now) this.misses.delete(key);
    this.misses.set(k, now + this.missTtlMs);
  }

  /**
   * Write an account from the remote (or the disk cache) into the chain and, when it came from the remote, into the
   * disk cache. A first fetch never replaces an account that became local meanwhile; a refresh does (oracles).
   */
  private adopt(address: PublicKey, account: RawAccount, from: "remote" | "refresh" | "cache" = "remote"): void {
    const k = address.toBase58();
    // The runtime's own accounts (builtins, sysvars) are LiteSVM's; a remote copy would only confuse it. Settled
    // anyway, so a builtin LiteSVM lacks is not asked for again by every transaction that names it.
    if (account.owner.equals(NATIVE_LOADER) || account.owner.equals(SYSVAR_OWNER)) {
      this.settled.add(k);
      return;
    }
    if (from !== "refresh" && (this.settled.has(k) || this.chain.getAccount(address) !== null)) return;
    this.chain.setAccount(address, account);
    this.settled.add(k);
    this.misses.delete(k);
    if (from === "cache") return;
    this.stats.fetched++;
    try {
      this.cache?.write(address, account);
    } catch (e) {
      // The chain has the account; only a later restart loses it, so this request goes on.
      this.reportError(new Error(`cannot write ${k} to the cache directory ${this.cache?.dir}: ${(e as Error).message}`));
    }
  }

  /** Token accounts among `keys` need their mint for balances (getTokenAccountBalance, a transaction's meta). */
  private async ensureWithMints(keys: PublicKey[]): Promise<void> {
    await this.ensure(keys);
    const mints = keys.flatMap((k) => {
      const a = this.chain.getAccount(k);
      return a && a.owner.equals(PROGRAM_IDS.token) && a.data.length === TOKEN_ACCOUNT_SIZE ? [new PublicKey(a.data.subarray(0, 32))] : [];
    });
    await this.ensure(mints);
  }

  /**
   * A transaction's accounts: its static keys, then the lookup tables and the addresses they add. A table that is
   * missing or malformed is left for the chain to drop the transaction over, as a cluster does.
   */
  private async ensureTransaction(tx: VersionedTransaction): Promise<void> {
    const lookups = tx.message.addressTableLookups;
    await this.ensureWithMints([...tx.message.staticAccountKeys, ...lookups.map((l) => l.accountKey)]);
    const loaded = lookups.flatMap((l) => {
      const table = this.chain.getAccount(l.accountKey);
      let addresses: PublicKey[];
      try {
        addresses = table ? AddressLookupTableAccount.deserialize(table.data).addresses : [];
      } catch {
        return [];
      }
      return [...l.writableIndexes, ...l.readonlyIndexes].flatMap((i) => (addresses[i] ? [addresses[i]] : []));
    });
    await this.ensureWithMints(loaded);
  }

  /** Merge the remote's answer to a getProgramAccounts query into the chain; local accounts and deletions win. */
  private async ensureProgramAccounts(program: PublicKey, filters: unknown): Promise<void> {
    const query = JSON.stringify([program.toBase58(), filters ?? null]);
    if ((this.programQueries.get(query) ?? 0) > Date.now()) return;
    let found: { pubkey: PublicKey; account: RawAccount }[];
    try {
      found = await this.remote.getProgramAccounts(program, Array.isArray(filters) ? filters : undefined);
    } catch (e) {
      // A query answered before is served from the chain; a new one would be a silently partial list.
      if (this.programQueries.has(query)) return;
      throw new RpcError(
        FORK_REMOTE_UNAVAILABLE,
        `fork: getProgramAccounts of ${program.toBase58()} with these filters was never fetched and the remote ${this.remote.label} did not answer (${(e as Error).message})`,
      );
    }
    const programDatas = found.flatMap(({ account }) => programDataOf(account) ?? []);
    await this.ensure(programDatas);
    for (const { pubkey, account } of found) this.adopt(pubkey, account);
    this.programQueries.set(query, Date.now() + this.missTtlMs);
  }

  /**
   * Fetch what a JSON-RPC request will read before it runs. Parameters that do not parse are left for the method
   * itself to refuse with its usual error.
   */
  async prefetch(method: string, params: unknown[]): Promise<void> {
    let plan: (() => Promise<void>) | undefined;
    try {
      plan = this.planFor(method, params);
    } catch {
      return;
    }
    await plan?.();
  }

  private planFor(method: string, params: unknown[]): (() => Promise<void>) | undefined {
    const key = (v: unknown) => new PublicKey(v as string);
    const wire = (v: unknown, cfg: unknown) => {
      const encoding = (cfg as { encoding?: string } | undefined)?.encoding;
      return encoding === "base64" ? Buffer.from(String(v), "base64") : Buffer.from(bs58.decode(String(v)));
    };
    switch (method) {
      case "getAccountInfo":
      case "getBalance":
      case "requestAirdrop":
      case "surfnet_setAccount": {
        const k = key(params[0]);
        return () => this.ensure([k]);
      }
      // The localnet's own controls and the quote API read the perps accounts straight from the chain.
      case "localnet_setPerpsParams": {
        const custody = (params[0] as { custody?: unknown } | undefined)?.custody;
        const keys = [MAINNET.perpetuals, MAINNET.pool, ...(custody === undefined ? [] : [key(custody)])];
        return () => this.ensure(keys);
      }
      case SWAP_QUOTE: {
        const keys = [MAINNET.pool, ...Object.values(MAINNET.custodies).flatMap((c) => [c.custody, c.pythPriceUpdate, c.dovesAg])];
        return () => this.ensure(keys);
      }
      case "getTokenAccountBalance": {
        const k = key(params[0]);
        return () => this.ensureWithMints([k]);
      }
      case "getMultipleAccounts": {
        const keys = (params[0] as unknown[]).map(key);
        return () => this.ensure(keys);
      }
      case "getProgramAccounts": {
        const program = key(params[0]);
        const filters = (params[1] as { filters?: unknown } | undefined)?.filters;
        return () => this.ensureProgramAccounts(program, filters);
      }
      case "sendTransaction":
      case "simulateTransaction": {
        const tx = VersionedTransaction.deserialize(wire(params[0], params[1]));
        const extra = ((params[1] as { accounts?: { addresses?: unknown[] } } | undefined)?.accounts?.addresses ?? []).map(key);
        return async () => {
          await this.ensureTransaction(tx);
          await this.ensure(extra);
        };
      }
      default:
        return undefined;
    }
  }
}

/** The pseudo-method a fork is asked to prefetch for before a GET of the swap quote API. */
export const SWAP_QUOTE = "GET /swap/v1/quote";

/** The ProgramData address of an upgradeable program account, or undefined for any other account. */
function programDataOf(account: RawAccount): PublicKey | undefined {
  if (!account.executable || !account.owner.equals(BPF_LOADER_UPGRADEABLE) || account.data.length < 36) return undefined;
  if (account.data.readUInt32LE(0) !== UPGRADEABLE_PROGRAM_TAG) return undefined;
  return new PublicKey(account.data.subarray(4, 36));
}
