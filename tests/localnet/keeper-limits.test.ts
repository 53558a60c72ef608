import { strict as assert } from "node:assert";
import type { KeeperEvent } from "../../keeper/mandate/events";
import { ComputeBudgetProgram, SystemProgram } from "@solana/web3.js";
import { NATIVE_MINT, PROGRAM_IDS } from "../../programs-client";
import { setTokenBalance } from "../../localnet/fixtures/load";
import type { KeeperConfig } from "../../keeper/app/config";
import { DEMO_MANDATE, type LocalDemo } from "../../keeper/app/local-demo";
import { keeperOnLocalnet } from "../helpers/keeper";
import { until } from "../helpers/wait";

type Veto = Extract<KeeperEvent, { kind: "veto" }>;

describe("keeper on localnet: per-market limits and signing refusals", function () {
  this.timeout(120_000);
  const localnet = keeperOnLocalnet("gk-limits-");

  const start = (configure: (c: KeeperConfig) => void, prepare?: (d: LocalDemo) => void) =>
    localnet.start(
      { scenario: { kind: "constant", priceUsd: 150 } },
      (c) => {
        const m = c.mandates[0]!;
        m.exposures.options = [];
        m.exposures.offsets = {};
        configure(c);
        return c;
      },
      { prepare },
    );

  it("a SOL and BTC mandate: SOL trades up to SOL's limit, BTC is held to BTC's (the minimum of both used to apply to SOL)", async () => {
    const { rec } = await start((c) => {
      const m = c.mandates[0]!;
      m.markets = ["SOL", "BTC"];
      m.policy = { kind: "fixed", thresholdTokens: { SOL: 1, BTC: 0.01 } };
      m.targetNetDelta = { SOL: -20, BTC: -0.3 };
      m.limits.maxNetDeltaTokens = { SOL: 1000, BTC: 0.1 };
    });
    const vetoes = (market: string) => rec.events.filter((e): e is Veto => e.kind === "veto" && e.market === market);
    await until("SOL filled or vetoed, and BTC vetoed", 30_000, () => (rec.outcomes("filled").some((o) => o.market === "SOL") || vetoes("SOL").length > 0) && vetoes("BTC").length > 0);
    assert.deepEqual(vetoes("SOL").map((v) => v.reasons.join("; ")), [], "nothing vetoes SOL's 19-token short: its limit is 1000");
    assert.match(vetoes("BTC")[0]!.reasons.join("; "), /BTC > BTC's limit 0\.1 \(limits\.maxNetDeltaTokens\.BTC\)/);
    assert.ok(!rec.intents().some((e) => e.kind === "request" && e.market === "BTC"), "no BTC request");
  });

  it("the keeper's own long posting SOL, with the SOL wrapped in the same transaction, passes the signing policy and fills", async () => {
    const { demo, rec } = await start(
      (c) => {
        c.mandates[0]!.exposures.offsets = { SOL: -20 };
        c.mandates[0]!.policy = { kind: "fixed", thresholdTokens: { SOL: 1 } };
      },
      (d) => setTokenBalance(d.world.chain, d.wallet.publicKey, NATIVE_MINT, 0n),
    );
    await until("a SOL fill", 30_000, () => rec.outcomes("filled").length > 0 || rec.outcomes().length > 0);
    assert.equal(rec.outcomes()[0]!.result, "filled", rec.outcomes()[0]!.detail);
    assert.match((rec.intents()[0] as Extract<KeeperEvent, { kind: "request" }>).detail, /^increase long/);
    assert.ok(!rec.events.some((e) => e.kind === "veto"), "no veto, no refusal");
    const sent = rec.events.find((e): e is Extract<KeeperEvent, { kind: "request" }> => e.kind === "request" && e.stage === "sent")!;
    const tx = await demo.world.connection.getTransaction(sent.tx!.signature, { maxSupportedTransactionVersion: 0, commitment: "confirmed" });
    const keys = tx!.transaction.message.staticAccountKeys;
    const programs = tx!.transaction.message.compiledInstructions.map((ix) => keys[ix.programIdIndex]!.toBase58());
    assert.deepEqual(programs, [ComputeBudgetProgram.programId, ComputeBudgetProgram.programId, PROGRAM_IDS.associatedToken, SystemProgram.programId, PROGRAM_IDS.token, PROGRAM_IDS.perpetuals].map(String), "compute budget, ATA create, transfer, SyncNative, the request");
  });

  it("a transaction the signing policy refuses is a veto with its code, counted in gk_signing_refusals_total, and never sent", async () => {
    const { keeper: k, rec } = await start((c) => {
      c.mandates[0]!.targetNetDelta = { SOL: -20 };
      c.mandates[0]!.policy = { kind: "fixed", thresholdTokens: { SOL: 1 } };
      // 1000 µlamports/CU (the localnet's static price) x the request's CU limit is more than 1 lamport.
      c.execution.signing.maxPriorityFeeLamports = 1;
    });
    await until("a signing refusal", 30_000, () => rec.events.some((e) => e.kind === "veto" && e.signingRefusal !== undefined));
    const veto = rec.events.find((e): e is Veto => e.kind === "veto" && e.signingRefusal !== undefined)!;
    assert.equal(veto.signingRefusal, "priority-fee");
    assert.match(veto.reasons[0]!, /refusing to sign: a priority fee of \d+ lamports \(1000 micro-lamports x \d+ CU\) is above the cap of 1 \(execution.signing.maxPriorityFeeLamports\)/);
    assert.match(await k.metrics.registry.metrics(), new RegExp(`gk_signing_refusals_total\\{mandate="${DEMO_MANDATE}",reason="priority-fee"\\} [1-9]`));
    assert.ok(!rec.events.some((e) => e.kind === "request" && e.stage === "sent"), "nothing was sent");
    assert.match(rec.outcomes()[0]!.detail, /refusing to sign/);
  });
});
