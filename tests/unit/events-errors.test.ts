import { strict as assert } from "node:assert";
import { BorshCoder } from "@coral-xyz/anchor";
import { Keypair, type VersionedTransactionResponse } from "@solana/web3.js";
import bs58 from "bs58";
import {
  EVENT_IX_TAG,
  MAINNET,
  PROGRAM_IDS,
  customErrorCode,
  decodeEventInstruction,
  describeCustomError,
  eventsFromTransaction,
  perpsErrorName,
} from "../../programs-client";
import { toAnchor } from "../../programs-client/convert";
import { PERPETUALS_IDL } from "../../programs-client/idl";

const types = new BorshCoder(PERPETUALS_IDL).types;

function eventData(name: string, fields: Record<string, unknown>): Buffer {
  const disc = Buffer.from(PERPETUALS_IDL.events!.find((e) => e.name === name)!.discriminator);
  const body = types.encode(name, toAnchor(PERPETUALS_IDL, { defined: { name } }, fields));
  return Buffer.concat([EVENT_IX_TAG, disc, body]);
}

const key = () => Keypair.generate().publicKey;
const closeEvent = {
  entirePosition: null,
  executed: false,
  requestChange: 1,
  requestType: 0,
  side: 2,
  positionRequestKey: key(),
  owner: key(),
  mint: MAINNET.custodies.USDC.mint,
  amount: 100_000_000n,
  openTime: 1_777_275_312n,
};

describe("events (emit_cpi) and program errors", () => {
  it("decodes a ClosePositionRequestEvent from its inner-instruction data", () => {
    const ev = decodeEventInstruction(eventData("ClosePositionRequestEvent", closeEvent));
    assert.ok(ev);
    assert.equal(ev.name, "ClosePositionRequestEvent");
    assert.deepEqual(ev.data, closeEvent);
  });

  it("finds the perps program's events among a transaction's inner instructions", () => {
    const other = key();
    const increase = {
      positionKey: key(),
      positionSide: 2,
      positionCustody: MAINNET.custodies.SOL.custody,
      positionCollateralCustody: MAINNET.custodies.USDC.custody,
      positionSizeUsd: 1_000_000_000n,
      positionMint: MAINNET.custodies.SOL.mint,
      positionRequestKey: key(),
      positionRequestMint: MAINNET.custodies.USDC.mint,
      positionRequestChange: 1,
      positionRequestType: 0,
      positionRequestCollateralDelta: 100_000_000n,
      owner: key(),
      pool: MAINNET.pool,
      sizeUsdDelta: 1_000_000_000n,
      collateralUsdDelta: 100_000_000n,
      collateralTokenDelta: 100_000_000n,
      price: 85_400_796n,
      priceSlippage: 80_000_000n,
      feeToken: 0n,
      feeUsd: 600_000n,
      openTime: 1_777_275_312n,
      referral: null,
      positionFeeUsd: 600_000n,
      fundingFeeUsd: 0n,
      priceImpactFeeUsd: 2_667n,
    };
    const tx = {
      transaction: { message: { staticAccountKeys: [key(), PROGRAM_IDS.perpetuals, other] } },
      meta: {
        innerInstructions: [
          {
            index: 0,
            instructions: [
              { programIdIndex: 2, accounts: [], data: bs58.encode(eventData("IncreasePositionEvent", increase)) }, // not the perps program
              { programIdIndex: 1, accounts: [], data: bs58.encode(Buffer.from("not an event")) },
              { programIdIndex: 1, accounts: [], data: bs58.encode(eventData("IncreasePositionEvent", increase)) },
            ],
          },
        ],
        loadedAddresses: { writable: [], readonly: [] },
      },
    } as unknown as VersionedTransactionResponse;
    const events = eventsFromTransaction(tx);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.name, "IncreasePositionEvent");
    assert.deepEqual(events[0]!.data, increase);
  });

  it("maps custom error codes to names, from the TransactionError or from the logs", () => {
    assert.equal(perpsErrorName(6021), "MaxPriceSlippage");
    assert.equal(perpsErrorName(6035), "ExceedExecutionPeriod");
    assert.equal(perpsErrorName(6066), "LpTokenPriceChangeLimitExceeded");
    assert.equal(perpsErrorName(7000), undefined);
    assert.equal(customErrorCode({ InstructionError: [2, { Custom: 6021 }] }), 6021);
    assert.equal(customErrorCode(null, ["Program PERPH... failed: custom program error: 0x1793"]), 6035);
    assert.equal(
      customErrorCode(null, ["Program log: AnchorError occurred. Error Code: MaxPriceSlippage. Error Number: 6021. Error Message: Price slippage limit exceeded."]),
      6021,
    );
    assert.equal(customErrorCode({ InstructionError: [0, "InvalidAccountData"] }, ["Program log: hello"]), undefined);
    assert.equal(describeCustomError(6021), "6021 MaxPriceSlippage: Price slippage limit exceeded");
    assert.equal(describeCustomError(1), "custom error 1");
  });
});
