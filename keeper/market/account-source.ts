import { type AccountInfo, type Commitment, type Connection, type GetProgramAccountsFilter, PublicKey } from "@solana/web3.js";
import bs58 from "bs58";
import { type KeyedAccount, type MemcmpFilter, type RawAccount, matchesFilters } from "../../programs-client";

export type { KeyedAccount, RawAccount };

/**
 * memcmp only: a size filter once hid every mainnet Position (allocated 216 bytes, filtered as 210), so the keeper
 * cannot express one. Accounts are found by discriminator and owner (programs-client `ownedAccountFilters`).
 */
export type AccountFilter = MemcmpFilter;

/**
 * Where the market reader gets accounts from. Two calls are all it needs, so the same logic runs over
 * an RPC connection, a LiteSVM instance or a map of bytes in a test. `slot` is the slot the answer is valid at.
 */
export interface AccountSource {
  getMultipleAccounts(keys: PublicKey[]): Promise<{ slot: number; accounts: (RawAccount | null)[] }>;
  getProgramAccounts(program: PublicKey, filters: AccountFilter[]): Promise<{ slot: number; accounts: KeyedAccount[] }>;
}

function fromAccountInfo(info: AccountInfo<Buffer>): RawAccount {
  return { owner: info.owner, data: Buffer.from(info.data), lamports: info.lamports, executable: info.executable };
}

/** getMultipleAccounts takes at most this many keys per call. */
const MAX_KEYS_PER_CALL = 100;

/**
 * Reads through a Connection, never older than what it has already seen: every call asks for at least the highest
 * slot of earlier answers (minContextSlot), so a lagging node behind a load balancer fails the call (and the cycle
 * retries) instead of answering with state the keeper has already seen overtaken, e.g. a request list without a
 * request that landed.
 */
export class ConnectionAccountSource implements AccountSource {
  private seenSlot = 0;

  constructor(
    private readonly connection: Connection,
    private readonly commitment: Commitment = "confirmed",
  ) {}

  private saw(slot: number) {
    this.seenSlot = Math.max(this.seenSlot, slot);
  }

  async getMultipleAccounts(keys: PublicKey[]) {
    let slot = this.seenSlot;
    const accounts: (RawAccount | null)[] = [];
    for (let i = 0; i < keys.length; i += MAX_KEYS_PER_CALL) {
      const res = await this.connection.getMultipleAccountsInfoAndContext(keys.slice(i, i + MAX_KEYS_PER_CALL), {
        commitment: this.commitment,
        minContextSlot: slot || undefined,
      });
      slot = Math.max(slot, res.context.slot);
      this.saw(slot);
      for (const info of res.value) {
        accounts.push(info ? fromAccountInfo(info) : null);
      }
    }
    return { slot, accounts };
  }

  async getProgramAccounts(program: PublicKey, filters: AccountFilter[]) {
    const rpcFilters: GetProgramAccountsFilter[] = filters.map((f) => ({ memcmp: { offset: f.memcmp.offset, bytes: bs58.encode(f.memcmp.bytes) } }));
    const res = await this.connection.getProgramAccounts(program, {
      commitment: this.commitment,
      filters: rpcFilters,
      withContext: true,
      minContextSlot: this.seenSlot || undefined,
    });
    this.saw(res.context.slot);
    return {
      slot: res.context.slot,
      accounts: res.value.map(({ pubkey, account }) => ({ pubkey, account: fromAccountInfo(account) })),
    };
  }
}

/** Accounts held in memory: for tests, fixtures and the simulator. Filters behave as the RPC's do. */
export class MemoryAccountSource implements AccountSource {
  private readonly accounts = new Map<string, RawAccount>();

  constructor(public slot = 1) {}

  set(address: PublicKey, account: RawAccount): this {
    this.accounts.set(address.toBase58(), account);
    return this;
  }

  async getMultipleAccounts(keys: PublicKey[]) {
    return { slot: this.slot, accounts: keys.map((k) => this.accounts.get(k.toBase58()) ?? null) };
  }

  async getProgramAccounts(program: PublicKey, filters: AccountFilter[]) {
    const accounts = [...this.accounts.entries()]
      .filter(([, a]) => a.owner.equals(program) && matchesFilters(a, filters))
      .map(([k, account]) => ({ pubkey: new PublicKey(k), account }));
    return { slot: this.slot, accounts };
  }
}
