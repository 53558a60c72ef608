import type { PublicKey } from "@solana/web3.js";
import { addressKey } from "../lib/address-key";
import type { RequestPdaMemo } from "../risk/template-policy";

/**
 * Counters and the request PDAs they seed, derived ahead of the send. A PositionRequest's address depends on its
 * counter, and deriving it (and its token account) costs two find-program-address searches; so for each request
 * slot (a position, increase or decrease, a mint) the next counter's addresses are derived in the background, and a
 * send takes them ready. Counters are unique and increasing for this process, and start at the wall clock in µs
 * so a restart's counters follow those of the run before.
 */
export interface RequestSlot {
  position: PublicKey;
  change: "increase" | "decrease";
  /** The request's mint: inputMint of an increase, desiredMint of a decrease. */
  mint: PublicKey;
}

export interface NextRequest {
  counter: bigint;
  positionRequest: PublicKey;
  positionRequestAta: PublicKey;
}

export class CounterSource {
  private last = 0n;

  constructor(private readonly nowMs: () => number = Date.now) {}

  next(): bigint {
    const fromClock = BigInt(Math.floor(this.nowMs())) * 1000n;
    this.last = fromClock > this.last ? fromClock : this.last + 1n;
    return this.last;
  }
}

const slotId = (s: RequestSlot) => `${addressKey(s.position)}:${s.change}:${addressKey(s.mint)}`;

/**
 * Background work that must not sit between a decision and its broadcast: a derivation costs about 1 ms, and the
 * cycle's sends are released by a journal fsync scheduled with setImmediate in the same turn. So the queue starts a
 * turn later (behind that fsync and the broadcasts it releases) and runs one item per turn, letting notifications
 * and other sends in between. One queue for the process: 20 mandates' derivations do not run back to back.
 */
function nextTurnsOneByOne(): (work: () => void) => void {
  const queue: (() => void)[] = [];
  const runOne = () => {
    const work = queue.shift()!;
    try {
      work();
    } finally {
      if (queue.length > 0) setImmediate(runOne);
    }
  };
  return (work) => {
    queue.push(work);
    if (queue.length === 1) setImmediate(() => setImmediate(runOne));
  };
}
const deriveInBackground = nextTurnsOneByOne();

export class RequestPdas {
  private readonly ready = new Map<string, NextRequest>();
  private readonly pending = new Set<string>();

  constructor(
    private readonly memo: RequestPdaMemo,
    private readonly counters: CounterSource,
    /** Where background work runs; tests pass a synchronous one. */
    private readonly defer: (work: () => void) => void = deriveInBackground,
  ) {}

  /** Derives `slot`'s next request in the background, unless it is ready or on its way. */
  prepare(slot: RequestSlot): void {
    const id = slotId(slot);
    if (this.ready.has(id) || this.pending.has(id)) return;
    this.pending.add(id);
    this.defer(() => {
      this.pending.delete(id);
      if (!this.ready.has(id)) this.ready.set(id, this.derive(slot));
    });
  }

  /** The slot's next request: the one derived ahead, else derived now (the cold path). The one after is prepared. */
  take(slot: RequestSlot): NextRequest {
    const id = slotId(slot);
    const next = this.ready.get(id) ?? this.derive(slot);
    this.ready.delete(id);
    this.prepare(slot);
    return next;
  }

  private derive(slot: RequestSlot): NextRequest {
    const counter = this.counters.next();
    const d = this.memo.derive(slot.position, counter, slot.change, slot.mint);
    return { counter, positionRequest: d.requestKey, positionRequestAta: d.ataKey };
  }
}
