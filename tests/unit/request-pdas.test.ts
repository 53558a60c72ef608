import { strict as assert } from "node:assert";
import { Keypair } from "@solana/web3.js";
import { MAINNET, associatedTokenAddress, positionPda, positionRequestPda } from "../../programs-client";
import { CounterSource, RequestPdas } from "../../keeper/execution/request-pdas";
import { RequestPdaMemo } from "../../keeper/risk/template-policy";

const W = Keypair.fromSeed(new Uint8Array(32).fill(9)).publicKey;
const SOL = MAINNET.custodies.SOL;
const slot = { position: positionPda(W, MAINNET.pool, SOL.custody, SOL.custody, "long"), change: "increase" as const, mint: SOL.mint };

/** A memo that counts its derivations, so a test sees where the work happened. */
class CountingMemo extends RequestPdaMemo {
  derivations = 0;
  override derive(...args: Parameters<RequestPdaMemo["derive"]>) {
    this.derivations++;
    return super.derive(...args);
  }
}

describe("request PDAs derived ahead of the send", () => {
  const clocks: { name: string; times: number[]; counters: bigint[] }[] = [
    { name: "the clock moves: counters follow it in µs", times: [1_000, 2_000], counters: [1_000_000n, 2_000_000n] },
    { name: "the same millisecond: counters still increase", times: [1_000, 1_000, 1_000], counters: [1_000_000n, 1_000_001n, 1_000_002n] },
    { name: "the clock steps back: counters still increase", times: [5_000, 4_000], counters: [5_000_000n, 5_000_001n] },
  ];
  for (const c of clocks) {
    it(`counters: ${c.name}`, () => {
      const times = [...c.times];
      const source = new CounterSource(() => times.shift()!);
      assert.deepEqual(c.counters.map(() => source.next()), c.counters);
    });
  }

  it("take uses the background's derivation, which is the builder's, and queues the next", () => {
    const memo = new CountingMemo();
    const queue: (() => void)[] = [];
    const pdas = new RequestPdas(memo, new CounterSource(() => 1_000), (w) => queue.push(w));
    pdas.prepare(slot);
    pdas.prepare(slot);
    assert.equal(queue.length, 1, "one derivation queued per slot");
    queue.shift()!();
    assert.equal(memo.derivations, 1);
    const first = pdas.take(slot);
    assert.equal(memo.derivations, 1, "the send derived nothing");
    assert.ok(first.positionRequest.equals(positionRequestPda(slot.position, first.counter, "increase")));
    assert.ok(first.positionRequestAta.equals(associatedTokenAddress(SOL.mint, first.positionRequest)));
    assert.equal(queue.length, 1, "the next one is queued");
    queue.shift()!();
    const second = pdas.take(slot);
    assert.ok(second.counter > first.counter);
    assert.ok(!second.positionRequest.equals(first.positionRequest));
  });

  it("take derives on the spot when the background has not caught up, and never hands a counter out twice", () => {
    const memo = new CountingMemo();
    const pdas = new RequestPdas(memo, new CounterSource(() => 1_000), () => {});
    const counters = [pdas.take(slot), pdas.take(slot), pdas.take(slot)].map((n) => n.counter);
    assert.equal(new Set(counters).size, 3);
    assert.equal(memo.derivations, 3);
  });
});
