import { strict as assert } from "node:assert";
import type { Connection, Keypair } from "@solana/web3.js";
import type { LocalWorld } from "../../localnet/world";
import { ADDRESS_SEARCH_ALLOWANCE_UNITS } from "../../keeper/execution/compute-units";
import { ComputeUnitCalibrator } from "../../keeper/execution/cu-calibrator";
import { type RequestExtras, RequestSigner } from "../../keeper/execution/request-signer";
import { sendUntilSettled } from "../../keeper/execution/sender";
import { signingPolicyFor } from "../../keeper/risk/signing-policy";
import type { Order } from "../../keeper/strategy/orders";
import { perpsWorldWithWallet } from "../helpers/localnet";

/** A short funded in USDC: the wallet holds the USDC, so its request lands. */
const order: Order = { kind: "increase", side: "short", sizeUsdDelta6: 100_000_000n, collateralUsd6: 50_000_000n, collateralTokenAmount: 50_000_000n, collateralToken: "usdc", priceSlippageUsd6: 1_000_000n, deltaTokens: -0.6 };
const extras: RequestExtras = { purpose: "hedge", jupiterMinimumOut: null, wrapLamports: null };

describe("compute units on the real runtime: calibrated by simulation, measured when landed, raised when run out", function () {
  this.timeout(60_000);
  let world: LocalWorld;
  let connection: Connection;
  let wallet: Keypair;
  before(async () => ({ world, connection, wallet } = await perpsWorldWithWallet()));
  after(async () => world?.close());

  it("a request at half its measured units fails for running out, one at the calibrated limit lands and is measured", async () => {
    const units = new ComputeUnitCalibrator(connection, { margin: 1.1, minUnits: 1_000, maxUnits: 1_400_000, defaultUnits: 400_000, window: 4, searchAllowanceUnits: ADDRESS_SEARCH_ALLOWANCE_UNITS });
    const signer = new RequestSigner(wallet, signingPolicyFor(wallet.publicKey, { signing: { maxComputeUnitPriceMicroLamports: 5_000_000, maxComputeUnitLimit: 1_400_000, maxPriorityFeeLamports: 10_000_000 } }), units);
    assert.deepEqual(units.limit("increase"), { units: 400_000, calibrated: false });

    const calibration = await signer.calibrate("SOL", order, extras);
    assert.ok(calibration.ok, `calibration failed: ${JSON.stringify(calibration)}`);
    assert.equal(calibration.kind, "increase");
    const simulated = calibration.units;
    const calibrated = Math.ceil(simulated * 1.1) + ADDRESS_SEARCH_ALLOWANCE_UNITS;
    assert.deepEqual(units.limit("increase"), { units: calibrated, calibrated: true });

    const send = async (unitsOverride?: number) => {
      const latest = await connection.getLatestBlockhash("confirmed");
      const signed = signer.sign(signer.reserve("SOL", order, false), extras, { ...latest, fetchedAtMs: Date.now() }, 0, unitsOverride);
      return { signed, outcome: await sendUntilSettled(connection, signed, { rebroadcastMs: 1_000, pollMs: 50 }) };
    };

    const starved = await send(Math.floor(simulated / 2));
    assert.equal(starved.outcome.status, "landed");
    const err = starved.outcome.status === "landed" ? starved.outcome.err : null;
    // The runtime says so either in the error (ComputationalBudgetExceeded) or, when the program's meter ran dry, only
    // in the logs of a ProgramFailedToComplete ("exceeded CUs meter"): both happen, depending on where the units end.
    assert.ok(err !== null && (await units.ranOutOfUnits(starved.signed.signature, err)), `expected the runtime's out-of-units error, got ${JSON.stringify(err)}`);
    units.ranOut(starved.signed.kind, starved.signed.computeUnitLimit);
    assert.ok(units.limit("increase").units >= calibrated, "running out never lowers the limit");

    const ok = await send();
    assert.equal(ok.signed.computeUnitLimit, calibrated);
    assert.deepEqual(ok.outcome.status === "landed" && ok.outcome.err, null);
    const landed = await units.measureLanded(ok.signed.kind, ok.signed.signature);
    assert.ok(landed.ok, JSON.stringify(landed));
    assert.ok(landed.units <= ok.signed.computeUnitLimit && landed.units > simulated / 2, `landed ${landed.units} CU against ${simulated} simulated`);
  });

  it("a kind whose simulation fails stays on the default, with the program's reason", async () => {
    const units = new ComputeUnitCalibrator(connection, { margin: 1.1, minUnits: 1_000, maxUnits: 1_400_000, defaultUnits: 400_000, window: 4, searchAllowanceUnits: ADDRESS_SEARCH_ALLOWANCE_UNITS });
    const signer = new RequestSigner(wallet, signingPolicyFor(wallet.publicKey, { signing: { maxComputeUnitPriceMicroLamports: 5_000_000, maxComputeUnitLimit: 1_400_000, maxPriorityFeeLamports: 10_000_000 } }), units);
    // No long position exists to decrease.
    const decrease: Order = { kind: "decrease", side: "long", sizeUsdDelta6: 10_000_000n, collateralUsdDelta6: 0n, entirePosition: false, priceSlippageUsd6: 1n, deltaTokens: -0.1 };
    const r = await signer.calibrate("SOL", decrease, extras);
    assert.equal(r.ok, false);
    assert.equal(r.kind, "decrease");
    assert.deepEqual(units.limit("decrease"), { units: 400_000, calibrated: false });
  });
});
