import { PublicKey } from "@solana/web3.js";
import { Account, Clock, LiteSvm } from "litesvm/dist/internal";
import { type AccountFilter, type KeyedAccount, type RawAccount, matchesFilters } from "../../keeper/market/account-source";

function fromSvm(a: Account): RawAccount {
  return { owner: new PublicKey(a.owner()), data: Buffer.from(a.data()), lamports: Number(a.lamports()), executable: a.executable() };
}

export interface ChainOptions {
  /** Wall clock in unix milliseconds; injectable so tests can hold time still. */
  nowMs?: () => number;
}

/**
 * The real Solana runtime (LiteSVM) with a cluster's sense of time: a slot counter that the server advances,
 * and a Clock sysvar that follows wall time (LiteSVM starts at unix 0, which would make every oracle stale).
 */
export class LocalChain {
  readonly svm = new LiteSvm();
  private slotValue: bigint;
  private timeOffsetMs = 0;

  constructor(private readonly opts: ChainOptions = {}) {
    this.slotValue = this.svm.getClock().slot;
    this.syncClock();
  }

  get slot(): bigint {
    return this.slotValue;
  }

  /** Unix seconds as the chain sees them: wall time plus any time travel. */
  nowSec(): bigint {
    return BigInt(Math.floor(((this.opts.nowMs ?? Date.now)() + this.timeOffsetMs) / 1000));
  }

  advanceSlot(): bigint {
    this.slotValue += 1n;
    this.syncClock();
    return this.slotValue;
  }

  /** Jump the clock to `unixMs` and, if given, the slot to `slot` (surfnet_timeTravel). */
  timeTravel(to: { unixMs?: number; slot?: bigint }): void {
    if (to.unixMs !== undefined) this.timeOffsetMs = to.unixMs - (this.opts.nowMs ?? Date.now)();
    if (to.slot !== undefined) {
      if (to.slot < this.slotValue) throw new RangeError(`slot ${to.slot} is behind the current slot ${this.slotValue}`);
      this.slotValue = to.slot;
    }
    this.syncClock();
  }

  private syncClock(): void {
    const c = this.svm.getClock();
    this.svm.setClock(new Clock(this.slotValue, c.epochStartTimestamp, c.epoch, c.leaderScheduleEpoch, this.nowSec()));
  }

  getAccount(address: PublicKey): RawAccount | null {
    const a = this.svm.getAccount(address.toBytes());
    return a ? fromSvm(a) : null;
  }

  setAccount(address: PublicKey, account: RawAccount): void {
    this.svm.setAccount(
      address.toBytes(),
      new Account(BigInt(account.lamports), account.data, account.owner.toBytes(), account.executable ?? false, 0n),
    );
  }

  programAccounts(program: PublicKey, filters: AccountFilter[]): KeyedAccount[] {
    return this.svm
      .getProgramAccounts(program.toBytes())
      .map((entry) => ({ pubkey: new PublicKey(entry.address), account: fromSvm(entry.account()) }))
      .filter(({ account }) => matchesFilters(account, filters));
  }

  minimumBalanceForRentExemption(bytes: number): bigint {
    return this.svm.minimumBalanceForRentExemption(BigInt(bytes));
  }
}
