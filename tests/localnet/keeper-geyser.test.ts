import { strict as assert } from "node:assert";
import type { CustodySymbol } from "../../programs-client";
import type { KeeperEvent } from "../../keeper/mandate/events";
import type { LocalDemo } from "../../keeper/app/local-demo";
import { DEFAULT_PRICES_USD } from "../../localnet/fixtures/params";
import { PriceDriver, type PriceScenario } from "../../localnet/fixtures/price-driver";
import { rpc } from "../helpers/localnet";
import { type Recorder, assertShortInBand, hundredSolMandate, keeperOnLocalnet, settle } from "../helpers/keeper";
import { until } from "../helpers/wait";

const TOKEN = "right-geyser-token";
const WRONG_TOKEN = "wrong-s3cret-geyser-token";

/** Every market at its default price, SOL at `solUsd`: a price move the keeper must hedge, all oracles kept fresh. */
function constantPrices(solUsd: number): Partial<Record<CustodySymbol, PriceScenario>> {
  const prices: Record<string, number> = { ...DEFAULT_PRICES_USD, SOL: solUsd };
  return Object.fromEntries(Object.entries(prices).map(([s, priceUsd]) => [s, { kind: "constant", priceUsd }]));
}

/**
 * The keeper with rpc.accountStream "geyser" on the localnet's Yellowstone gRPC server, the same chain its RPC
 * serves: account updates come through @triton-one/yellowstone-grpc, the WebSocket carries only signatures.
 */
describe("keeper on the Geyser account stream (the localnet's Yellowstone gRPC)", function () {
  this.timeout(120_000);
  const localnet = keeperOnLocalnet("gk-keeper-geyser-");
  /** PubSub subscriptions before the keeper started (the fill keeper's program subscription). */
  let before: LocalDemo["world"]["server"]["pubsub"]["subscribed"];

  const onGeyser = (xToken?: string) => async (d: LocalDemo) => {
    d.cfg.rpc.accountStream = "geyser";
    d.cfg.rpc.geyser = { url: d.world.geyserUrl!, xToken };
    const pubsub = d.world.server.pubsub;
    await until("the fill keeper's program subscription", 10_000, () => pubsub.subscribed.program >= 1);
    before = { ...pubsub.subscribed };
  };
  const warnings = (events: KeeperEvent[]) => events.flatMap((e) => (e.kind === "warning" ? [e.message] : []));

  /**
   * SOL from 150 to 120: the straddle's delta falls and the short must shrink, which the keeper can only learn from
   * the chain after this point. Resolves once such a reduction filled and nothing is in flight.
   */
  async function hedgesTheDrop(d: LocalDemo, rec: Recorder) {
    const intents = rec.intents().length;
    d.world.prices.stop();
    const moved = new PriceDriver(d.world.chain, constantPrices(120), { intervalMs: 400 });
    moved.start();
    try {
      // The first request after the move may only withdraw collateral the short no longer needs: wait for the size.
      const reductions = () => new Set(rec.intents().slice(intents).flatMap((e) => (e.kind === "request" && /^decrease short \$[1-9]/.test(e.detail) ? [e.id] : [])));
      await until("a fill of a smaller short after the move", 30_000, () => rec.outcomes("filled").some((o) => reductions().has(o.id)));
      await until("every request reconciled", 20_000, () => rec.open.size === 0);
    } finally {
      moved.stop();
    }
  }

  it("hedges from flat into the band with no account or program subscription over the WebSocket", async () => {
    const { demo: d, keeper: k, rec } = await localnet.start({ geyser: { port: 0 } }, hundredSolMandate, { prepare: onGeyser() });
    await until("the first fill", 20_000, () => rec.outcomes("filled").length >= 1);
    assert.match((rec.intents()[0] as Extract<KeeperEvent, { kind: "request" }>).detail, /^increase short/);
    const last = await settle(d, k, rec);
    assertShortInBand(last, rec);

    const subscribed = d.world.server.pubsub.subscribed;
    assert.equal(subscribed.account, before.account, "no accountSubscribe from the keeper");
    assert.equal(subscribed.program, before.program, "no programSubscribe from the keeper");
    assert.equal(subscribed.slot, before.slot, "no slot heartbeat over the WebSocket: Geyser's slots are the heartbeat");
    assert.ok(subscribed.signature > before.signature, "signature confirmations still go over the WebSocket");
    assert.equal(d.world.server.geyser!.clientCount, 1, "one Geyser Subscribe stream carries everything");
    assert.ok(k.cache.updates > 0, "account updates arrived through Geyser");
    assert.deepEqual(warnings(rec.events).filter((m) => /Geyser/.test(m)), []);
    assert.deepEqual(k.readyProbe().reasons.filter((r) => /stream/.test(r)), [], "/ready: the stream is up");
  });

  it("a Geyser stream cut mid-run: the keeper logs it, re-reads, resubscribes and hedges the next move", async () => {
    const { demo: d, keeper: k, rec } = await localnet.start({ geyser: { port: 0 }, scenario: { kind: "constant", priceUsd: 150 } }, hundredSolMandate, { prepare: onGeyser() });
    await until("the first fill", 20_000, () => rec.outcomes("filled").length >= 1);
    await until("nothing in flight", 20_000, () => rec.open.size === 0);
    const rereads = k.cache.rereads;

    const cut = await rpc<number>(d.world.url, "localnet_disconnectGeyser", []);
    assert.equal(cut.result, 1, `the keeper's one stream cut: ${JSON.stringify(cut)}`);
    await until("the drop logged", 5_000, () => warnings(rec.events).some((m) => /^Geyser stream failed, reconnecting: Geyser stream to http:\/\/127\.0\.0\.1:\d+ dropped: .*cut by a test control/.test(m)));
    await until("the gap re-read over RPC", 5_000, () => k.cache.rereads > rereads);
    await until("the stream resubscribed", 5_000, () => d.world.server.geyser!.clientCount === 1);

    const updates = k.cache.updates;
    await hedgesTheDrop(d, rec);
    assert.ok(k.cache.updates > updates, "the move came through the new stream");
    assert.equal(rec.maxOpen, 1, "never two requests in flight for one market");
    assert.equal(rec.intents().length, rec.outcomes().length, "every request reconciled");
  });

  it("a Geyser endpoint that refuses the x-token: warned without the token, and the keeper hedges on RPC reads", async () => {
    const { demo: d, keeper: k, rec } = await localnet.start({ geyser: { port: 0, xToken: TOKEN }, scenario: { kind: "constant", priceUsd: 150 } }, hundredSolMandate, { prepare: onGeyser(WRONG_TOKEN) });
    await until("the first fill", 20_000, () => rec.outcomes("filled").length >= 1);
    await until("nothing in flight", 20_000, () => rec.open.size === 0);
    const rereads = k.cache.rereads;
    await hedgesTheDrop(d, rec);
    assert.ok(k.cache.rereads > rereads, `the move was read over RPC (${k.cache.rereads - rereads} re-reads since)`);
    await until("/ready to say the stream is down", 10_000, () => k.readyProbe().reasons.some((r) => /^no account stream message for [\d.]+s \(limit 5s\): stream down, deciding on RPC reads$/.test(r)));

    const refused = warnings(rec.events).filter((m) => /^Geyser stream failed, reconnecting: Geyser stream to http:\/\/127\.0\.0\.1:\d+ could not open: .*x-token missing or wrong/.test(m));
    assert.ok(refused.length >= 1, `the refusal named: ${warnings(rec.events).join(" | ")}`);
    assert.ok(!JSON.stringify(rec.events).includes(WRONG_TOKEN), "the token never appears in an event");
    assert.equal(d.world.server.geyser!.clientCount, 0, "no stream was ever accepted");
    assert.equal(k.cache.updates, 0, "nothing came through the stream");
    assert.equal(rec.maxOpen, 1, "never two requests in flight for one market");
    assert.equal(rec.intents().length, rec.outcomes().length, "every request reconciled");
    const subscribed = d.world.server.pubsub.subscribed;
    assert.equal(subscribed.account + subscribed.program, before.account + before.program, "no fallback to WebSocket account subscriptions");
  });
});
