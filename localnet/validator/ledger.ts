import type { PublicKey } from "@solana/web3.js";
import type { RpcTransactionError } from "./tx-error";

/** How many blocks a blockhash stays usable, as on a real cluster. */
export const BLOCKHASH_VALIDITY_BLOCKS = 150n;
/** How many recent slots getRecentPrioritizationFees reports. */
export const PRIORITIZATION_FEE_SLOTS = 150;

/**
 * The cluster's window of recent blockhashes. LiteSVM keeps exactly one valid blockhash; a real cluster accepts
 * any of the last 150, so the validator checks transactions against this window instead.
 */
export class BlockhashWindow {
  private readonly lastValid = new Map<string, bigint>();
  private latestHash = "";

  /** Record the blockhash of a new block at `blockHeight` and forget the ones that have expired. */
  add(blockhash: string, blockHeight: bigint): void {
    this.latestHash = blockhash;
    this.lastValid.set(blockhash, blockHeight + BLOCKHASH_VALIDITY_BLOCKS);
    for (const [hash, last] of this.lastValid) if (last < blockHeight) this.lastValid.delete(hash);
  }

  latest(): { blockhash: string; lastValidBlockHeight: bigint } {
    return { blockhash: this.latestHash, lastValidBlockHeight: this.lastValid.get(this.latestHash) ?? 0n };
  }

  isValid(blockhash: string, blockHeight: bigint): boolean {
    const last = this.lastValid.get(blockhash);
    return last !== undefined && last >= blockHeight;
  }
}

/** The outcome of an executed transaction, as getSignatureStatuses reports it. */
export interface TxStatus {
  slot: bigint;
  err: RpcTransactionError | null;
}

interface SlotFees {
  slot: bigint;
  minPrice: bigint;
  minPriceByAccount: Map<string, bigint>;
}

/**
 * Agave's prioritization-fee cache: per slot, the lowest compute-unit price of the transactions that landed, and
 * per writable account the lowest price of the transactions that locked it.
 */
export class PrioritizationFeeCache {
  private readonly slots: SlotFees[] = [];

  record(slot: bigint, unitPriceMicroLamports: bigint, writable: PublicKey[]): void {
    let entry = this.slots.at(-1);
    if (!entry || entry.slot !== slot) {
      entry = { slot, minPrice: unitPriceMicroLamports, minPriceByAccount: new Map() };
      this.slots.push(entry);
      if (this.slots.length > PRIORITIZATION_FEE_SLOTS) this.slots.shift();
    }
    if (unitPriceMicroLamports < entry.minPrice) entry.minPrice = unitPriceMicroLamports;
    for (const key of writable) {
      const k = key.toBase58();
      const prev = entry.minPriceByAccount.get(k);
      if (prev === undefined || unitPriceMicroLamports < prev) entry.minPriceByAccount.set(k, unitPriceMicroLamports);
    }
  }

  /**
   * One entry per slot of the last 150 up to `currentSlot`: the slot's minimum price, raised to the largest of
   * the given accounts' minimums (0 for a slot without transactions).
   */
  recent(currentSlot: bigint, accounts: PublicKey[]): { slot: bigint; prioritizationFee: bigint }[] {
    const bySlot = new Map(this.slots.map((s) => [s.slot, s]));
    const keys = accounts.map((a) => a.toBase58());
    const out: { slot: bigint; prioritizationFee: bigint }[] = [];
    const first = currentSlot - BigInt(PRIORITIZATION_FEE_SLOTS) + 1n;
    for (let slot = first; slot <= currentSlot; slot++) {
      const entry = bySlot.get(slot);
      let fee = entry?.minPrice ?? 0n;
      for (const k of keys) {
        const accountMin = entry?.minPriceByAccount.get(k);
        if (accountMin !== undefined && accountMin > fee) fee = accountMin;
      }
      out.push({ slot, prioritizationFee: fee });
    }
    return out;
  }
}
