import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import bs58 from "bs58";
import { PROGRAM_IDS, accountDiscriminator } from "../../programs-client";
import type { KeeperEvent } from "../../keeper/mandate/events";
import type { KeeperConfig } from "../../keeper/app/config";
import { Keeper } from "../../keeper/app/keeper";
import { DEMO_MANDATE, type LocalDemo, type LocalDemoOptions, startLocalDemo } from "../../keeper/app/local-demo";
import { type LocalWorld, startLocalWorld } from "../../localnet/world";
import { DEFAULT_PRICES_USD } from "../../localnet/fixtures/params";
import { sleep, until } from "./wait";

/** +100 SOL of static exposure plus a 100/100 long straddle, so the band has gamma to work with. */
export function hundredSolMandate(cfg: KeeperConfig): KeeperConfig {
  const m = cfg.mandates[0]!;
  m.exposures.offsets = { SOL: 100 };
  m.exposures.options = m.exposures.options.map((l) => ({ ...l, quantity: 100 }));
  return cfg;
}

/** Watches the event stream for the invariants every run must keep. */
export class Recorder {
  events: KeeperEvent[] = [];
  open = new Set<string>();
  maxOpen = 0;
  tradesInsideBand: string[] = [];
  emit = (e: KeeperEvent) => {
    this.events.push(e);
    if (e.kind === "request" && e.stage === "intent") {
      this.open.add(e.id);
      this.maxOpen = Math.max(this.maxOpen, this.open.size);
    }
    if (e.kind === "outcome") this.open.delete(e.id);
    if (e.kind === "decision" && e.action === "trade" && Math.abs(e.hedgeTokens - e.bandCenter) <= e.bandHalfWidth) this.tradesInsideBand.push(JSON.stringify(e));
  };
  outcomes(result?: string) {
    return this.events.filter((e): e is Extract<KeeperEvent, { kind: "outcome" }> => e.kind === "outcome" && (!result || e.result === result));
  }
  intents() {
    return this.events.filter((e) => e.kind === "request" && e.stage === "intent");
  }
  lastDecision() {
    return this.events.filter((e): e is Extract<KeeperEvent, { kind: "decision" }> => e.kind === "decision").at(-1)!;
  }
}

export async function openRequestsOnChain(demo: LocalDemo): Promise<number> {
  const accounts = await demo.world.connection.getProgramAccounts(PROGRAM_IDS.perpetuals, {
    filters: [{ memcmp: { offset: 0, bytes: bs58.encode(accountDiscriminator("PositionRequest")) } }],
  });
  return accounts.length;
}

/** In the band, or outside it by less than the minimum trade (a change too small to send is held, as it should). */
export const converged = (d: Extract<KeeperEvent, { kind: "decision" }>) => Math.abs(d.netDelta) <= d.bandHalfWidth + 1e-9 || /below minimum trade/.test(d.reason);

/**
 * Prices stopped, every request reconciled, then the first decision not held back by a cooldown or a request in
 * flight: what the keeper settles on. (A market is re-decided the moment its request settles, often inside the
 * cooldown, so the first hold after the last fill can be a cooldown's.)
 */
export async function settle(d: LocalDemo, k: Keeper, rec: Recorder) {
  d.world.prices.stop();
  let settled: ReturnType<Recorder["lastDecision"]> | undefined;
  await until("a decision with nothing in flight and no cooldown", 40_000, async () => {
    if (rec.open.size > 0 || (await openRequestsOnChain(d)) > 0) return false;
    const before = rec.events.length;
    k.trigger();
    await k.idle();
    await sleep(50);
    settled = rec.events
      .slice(before)
      .filter((e): e is Extract<KeeperEvent, { kind: "decision" }> => e.kind === "decision" && !/cooldown|in flight/.test(e.reason))
      .at(-1);
    return settled !== undefined && settled.action === "hold" && rec.open.size === 0;
  });
  return settled!;
}

/** hundredSolMandate hedged from flat and settled: one request at a time, every trade a breach, ~100 SOL short in band. */
export function assertShortInBand(last: ReturnType<Recorder["lastDecision"]>, rec: Recorder) {
  assert.equal(rec.maxOpen, 1, "never two requests in flight for one market");
  assert.deepEqual(rec.tradesInsideBand, [], "every trade decision was a band breach");
  assert.ok(converged(last), `|net delta| ${last.netDelta} within band ±${last.bandHalfWidth}`);
  assert.ok(last.hedgeTokens < -90, `short about 100 SOL, got ${last.hedgeTokens}`);
  assert.equal(rec.intents().length, rec.outcomes().length, "every request reconciled");
}


/**
 * A demo localnet and a keeper per test, torn down after it: call inside a describe. `start` starts both; the
 * keeper's events go to a Recorder (and to `onEvent`).
 */
export function keeperOnLocalnet(prefix: string) {
  let demo: LocalDemo | undefined;
  let keeper: Keeper | undefined;
  let remote: LocalWorld | undefined;
  let stateDir = "";
  beforeEach(() => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  });
  afterEach(async () => {
    await keeper?.stop(true);
    await demo?.close();
    await remote?.close();
    keeper = undefined;
    demo = undefined;
    remote = undefined;
    fs.rmSync(stateDir, { recursive: true, force: true });
  });
  return {
    stateDir: () => stateDir,
    /** Lets a test stop the keeper itself (so the teardown does not stop it twice). */
    forget: () => void (keeper = undefined),
    async start(
      opts: Partial<LocalDemoOptions>,
      configure: (c: KeeperConfig) => KeeperConfig,
      hooks: { onEvent?: (e: KeeperEvent) => void; prepare?: (d: LocalDemo) => void | Promise<void> } = {},
    ) {
      // GAMMA_KEEPER_TEST_ON_FORK=1 (`npm run test:fork`): the same tests on a fork of a second localnet, whose
      // program and accounts the fork fetches as they are read (issue 15).
      if (process.env.GAMMA_KEEPER_TEST_ON_FORK && !opts.fork) {
        remote = await startLocalWorld({ port: 0, slotMs: 100, fillKeeper: false });
        // The fork drives every oracle on its own clock, so the tests' time travel leaves none stale.
        const others = Object.fromEntries(Object.entries(DEFAULT_PRICES_USD).filter(([s]) => s !== "SOL").map(([s, priceUsd]) => [s, { kind: "constant" as const, priceUsd }]));
        opts = { ...opts, fork: { url: remote.url }, otherScenarios: others };
      }
      demo = await startLocalDemo({ stateDir, ...opts, config: configure });
      await hooks.prepare?.(demo);
      const rec = new Recorder();
      keeper = new Keeper(demo.cfg, {
        emit: (e) => {
          rec.emit(e);
          hooks.onEvent?.(e);
        },
        keypairs: new Map([[DEMO_MANDATE, demo.wallet]]),
      });
      await keeper.start();
      return { demo, keeper, rec };
    },
  };
}
