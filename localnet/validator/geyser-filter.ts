import { PublicKey } from "@solana/web3.js";
import bs58 from "bs58";
import type { RawAccount } from "../../programs-client";

/**
 * The part of a Yellowstone SubscribeRequest the localnet serves (accounts by address, owner, memcmp and data size;
 * slots), as @grpc/proto-loader decodes it (camelCase, uint64 as strings, bytes as Buffers, oneofs named).
 */
export interface DecodedSubscribeRequest {
  accounts?: Record<string, DecodedAccountsFilter>;
  slots?: Record<string, { filterByCommitment?: boolean | null; interslotUpdates?: boolean | null }>;
  transactions?: Record<string, unknown>;
  transactionsStatus?: Record<string, unknown>;
  blocks?: Record<string, unknown>;
  blocksMeta?: Record<string, unknown>;
  entry?: Record<string, unknown>;
  commitment?: number | null;
  accountsDataSlice?: unknown[];
  ping?: { id?: number } | null;
  fromSlot?: string | null;
}

interface DecodedAccountsFilter {
  account?: string[];
  owner?: string[];
  filters?: {
    filter?: string;
    memcmp?: { offset?: string; data?: string; bytes?: Buffer; base58?: string; base64?: string };
    datasize?: string;
  }[];
  nonemptyTxnSignature?: boolean | null;
  cuckooAccountsFilter?: unknown;
}

/** One named accounts filter: every condition set must hold (Yellowstone's rule); null = any. */
export interface AccountsFilter {
  name: string;
  accounts: Set<string> | null;
  owners: Set<string> | null;
  memcmp: { offset: number; bytes: Buffer }[];
  dataSize: number | null;
}

export interface Subscription {
  accounts: AccountsFilter[];
  slots: { name: string; filterByCommitment: boolean }[];
  /** geyser.CommitmentLevel: 0 processed, 1 confirmed, 2 finalized (the localnet is final at once: served alike). */
  commitment: number;
}

export const EMPTY_SUBSCRIPTION: Subscription = { accounts: [], slots: [], commitment: 0 };

/** Yellowstone's own limit (yellowstone-grpc-geyser filter.rs, FilterAccountsState::new). */
const MAX_ACCOUNT_STATE_FILTERS = 4;

const UNSERVED = ["transactions", "transactionsStatus", "blocks", "blocksMeta", "entry"] as const;

/** A SubscribeRequest as the filter that replaces the stream's previous one, or why it is refused. */
export function parseSubscription(req: DecodedSubscribeRequest): Subscription | { error: string } {
  const unserved = UNSERVED.find((k) => Object.keys(req[k] ?? {}).length > 0);
  if (unserved) return { error: `the localnet's Geyser serves accounts and slots only; remove the ${unserved} filter` };
  if (req.fromSlot != null) return { error: "from_slot is not supported by the localnet's Geyser (it keeps no history)" };
  if ((req.accountsDataSlice ?? []).length > 0) return { error: "accounts_data_slice is not supported by the localnet's Geyser" };
  const accounts: AccountsFilter[] = [];
  for (const [name, f] of Object.entries(req.accounts ?? {})) {
    if (f.nonemptyTxnSignature != null || f.cuckooAccountsFilter) return { error: `accounts filter ${name}: only account, owner, memcmp and datasize are served` };
    const filters = f.filters ?? [];
    if (filters.length > MAX_ACCOUNT_STATE_FILTERS) return { error: `accounts filter ${name}: at most ${MAX_ACCOUNT_STATE_FILTERS} filters, got ${filters.length}` };
    const memcmp: AccountsFilter["memcmp"] = [];
    let dataSize: number | null = null;
    for (const x of filters) {
      if (x.memcmp) {
        const m = x.memcmp;
        const bytes = m.bytes ?? (m.base58 !== undefined ? Buffer.from(bs58.decode(m.base58)) : m.base64 !== undefined ? Buffer.from(m.base64, "base64") : undefined);
        if (!bytes) return { error: `accounts filter ${name}: memcmp without data` };
        memcmp.push({ offset: Number(m.offset ?? 0), bytes });
      } else if (x.datasize !== undefined) dataSize = Number(x.datasize);
      else return { error: `accounts filter ${name}: only memcmp and datasize filters are served, got ${x.filter ?? "none"}` };
    }
    const bad = [...(f.account ?? []), ...(f.owner ?? [])].find((k) => !isPubkey(k));
    if (bad !== undefined) return { error: `accounts filter ${name}: invalid pubkey ${JSON.stringify(bad)}` };
    const set = (xs: string[] | undefined) => (xs && xs.length > 0 ? new Set(xs) : null);
    accounts.push({ name, accounts: set(f.account), owners: set(f.owner), memcmp, dataSize });
  }
  const slots = Object.entries(req.slots ?? {}).map(([name, s]) => ({ name, filterByCommitment: s.filterByCommitment ?? false }));
  return { accounts, slots, commitment: req.commitment ?? 0 };
}

function isPubkey(key: string): boolean {
  try {
    return new PublicKey(key).toBase58() === key;
  } catch {
    return false;
  }
}

/** The names of the filters an account's new state matches (an update goes out when there is at least one). */
export function matchingFilters(sub: Subscription, pubkey: string, account: RawAccount): string[] {
  return sub.accounts
    .filter(
      (f) =>
        (!f.accounts || f.accounts.has(pubkey)) &&
        (!f.owners || f.owners.has(account.owner.toBase58())) &&
        (f.dataSize === null || account.data.length === f.dataSize) &&
        f.memcmp.every((m) => account.data.subarray(m.offset, m.offset + m.bytes.length).equals(m.bytes)),
    )
    .map((f) => f.name);
}
