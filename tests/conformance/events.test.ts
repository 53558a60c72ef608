import { strict as assert } from "node:assert";
import { PublicKey, type VersionedTransactionResponse } from "@solana/web3.js";
import bs58 from "bs58";
import { EVENT_IX_TAG, decodeEventInstruction, eventsFromTransaction } from "../../programs-client";
import { fillFromEvents } from "../../keeper/market/fill-report";
import { anchorEventTag, keyValues, perpsOracle, readVectorText } from "./borsh-oracle";
import { asVectorValue, diffValues } from "./compare";
import { TX_BORROW, TX_CLOSE, VIXEN, eventInstructions, ixAt } from "./mainnet-vectors";

// Real emit_cpi bytes from two mainnet transactions (vectors/mainnet-tx-*.vixen.json), decoded with the public IDL
// (the oracle) and with programs-client/events.ts.
const perps = perpsOracle();
const TAG = anchorEventTag();
const PERPS = new PublicKey("PERPHjGBqRHArX4DySjwM6UJHiR3sWAatqfdBS2qQJu");
const EVENT_AUTHORITY = PublicKey.findProgramAddressSync([Buffer.from(keyValues("anchor.txt").get("event_authority_seed")!)], PERPS)[0];

const closeEvents = eventInstructions(TX_CLOSE, TAG);
const borrowEvents = eventInstructions(TX_BORROW, TAG);

describe("conformance: events and the emit_cpi tag", () => {
  it("programs-client's EVENT_IX_TAG is Anchor's EVENT_IX_TAG_LE", () => {
    assert.equal(EVENT_IX_TAG.toString("hex"), TAG.toString("hex"));
  });

  it("every emit_cpi self-invocation in the two mainnet transactions carries Anchor's tag and one account, the event authority", () => {
    assert.deepEqual(closeEvents.map((e) => e.data.length), [399, 134]);
    assert.deepEqual(borrowEvents.map((e) => e.data.length), [216]);
    for (const e of [...closeEvents, ...borrowEvents]) assert.deepEqual(e.accounts, [EVENT_AUTHORITY.toBase58()]);
  });

  it("the oracle decodes each mainnet event to its last byte", () => {
    const decoded = [...closeEvents, ...borrowEvents].map((e) => {
      const d = perps.decodeEvent(e.data, TAG);
      return [d.name, d.consumed, e.data.length];
    });
    assert.deepEqual(decoded, [
      ["DecreasePositionEvent", 399, 399],
      ["ClosePositionRequestEvent", 134, 134],
      ["BorrowFromCustodyEvent", 216, 216],
    ]);
  });

  it("BorrowFromCustodyEvent decodes to the values vixen's own test asserts", () => {
    const d = perps.decodeEvent(borrowEvents[0]!.data, TAG);
    const got = Object.fromEntries(Object.keys(VIXEN.borrowFromCustodyEvent.fields).map((k) => [k, asVectorValue(d.value[k])]));
    assert.deepEqual(got, VIXEN.borrowFromCustodyEvent.fields);
  });

  it("DecreasePositionEvent and ClosePositionRequestEvent name the accounts the same transaction's instructions pass (vixen's asserted names)", () => {
    const dec = perps.decodeEvent(closeEvents[0]!.data, TAG).value;
    const close = perps.decodeEvent(closeEvents[1]!.data, TAG).value;
    const a = VIXEN.decreasePositionWithTpslAccounts.accounts;
    assert.deepEqual(
      { positionKey: dec.positionKey, owner: dec.owner, pool: dec.pool, positionRequestKey: dec.positionRequestKey, positionCustody: dec.positionCustody, positionCollateralCustody: dec.positionCollateralCustody },
      { positionKey: a.position, owner: a.owner, pool: a.pool, positionRequestKey: a.positionRequest, positionCustody: a.custody, positionCollateralCustody: a.collateralCustody },
    );
    const c = VIXEN.closePositionRequest2Accounts.accounts;
    assert.deepEqual({ positionRequestKey: close.positionRequestKey, owner: close.owner, mint: close.mint }, { positionRequestKey: c.positionRequest, owner: c.owner, mint: c.mint });
    // A full close of a long by its TP/SL trigger request: side 1 = Long, requestChange 2 = Decrease, requestType 1 = Trigger.
    assert.deepEqual([dec.positionSide, dec.positionRequestChange, dec.positionRequestType, close.side, close.requestChange, close.requestType, close.executed], [1n, 2n, 1n, 1n, 2n, 1n, true]);
  });

  for (const [i, name] of [[0, "DecreasePositionEvent"], [1, "ClosePositionRequestEvent"]] as const) {
    it(`programs-client decodes the mainnet ${name} field for field as the oracle does`, () => {
      const oracle = perps.decodeEvent(closeEvents[i]!.data, TAG);
      const client = decodeEventInstruction(closeEvents[i]!.data);
      assert.ok(client, `decodeEventInstruction returned undefined for the mainnet ${name} (${closeEvents[i]!.data.subarray(0, 16).toString("hex")}...)`);
      assert.equal(client.name, name);
      assert.deepEqual(diffValues(oracle.value, client.data), []);
    });
  }

  it("programs-client ignores a real event it does not model (BorrowFromCustodyEvent) instead of misreading it", () => {
    assert.equal(decodeEventInstruction(borrowEvents[0]!.data), undefined);
  });

  it("programs-client eventsFromTransaction finds both events of transaction 3MnCnWjL in its inner instructions", () => {
    // The vendored fixture has no message bytes, so a getTransaction-shaped object is rebuilt from its instructions:
    // account keys in order of first use, each event as an inner instruction of its outer instruction.
    const keys: string[] = [];
    const index = (k: string) => (keys.includes(k) ? keys.indexOf(k) : keys.push(k) - 1);
    const outer = [ixAt(TX_CLOSE, 1, 0), ixAt(TX_CLOSE, 2, 0)];
    for (const ix of outer) ix.accounts.forEach(index);
    const innerInstructions = closeEvents.map((e, n) => ({
      index: n,
      instructions: [{ programIdIndex: index(e.program), accounts: e.accounts.map(index), data: bs58.encode(e.data), stackHeight: 2 }],
    }));
    const tx = {
      transaction: { message: { staticAccountKeys: keys.map((k) => new PublicKey(k)) } },
      meta: { innerInstructions, loadedAddresses: { writable: [], readonly: [] } },
    } as unknown as Pick<VersionedTransactionResponse, "transaction" | "meta">;
    const events = eventsFromTransaction(tx);
    assert.deepEqual(events.map((e) => e.name), ["DecreasePositionEvent", "ClosePositionRequestEvent"]);
    assert.deepEqual(diffValues(perps.decodeEvent(closeEvents[0]!.data, TAG).value, events[0]!.data), []);
  });

  it("the keeper's fill report from the real DecreasePositionEvent carries the event's price, size, fees and borrow", () => {
    const oracle = perps.decodeEvent(closeEvents[0]!.data, TAG).value;
    const client = decodeEventInstruction(closeEvents[0]!.data);
    assert.ok(client, "programs-client did not decode the mainnet DecreasePositionEvent");
    const report = fillFromEvents([client], new PublicKey(oracle.positionRequestKey as string), TX_CLOSE.signature);
    assert.deepEqual(report, {
      source: "event",
      signature: TX_CLOSE.signature,
      priceUsd6: oracle.price,
      sizeUsdDelta6: oracle.sizeUsdDelta,
      positionFeeUsd6: oracle.positionFeeUsd,
      priceImpactFeeUsd6: oracle.priceImpactFeeUsd,
      borrowFeeUsd6: oracle.fundingFeeUsd,
    });
    // The event's own arithmetic: feeUsd = positionFeeUsd (base + impact) + fundingFeeUsd (borrow).
    assert.equal(oracle.feeUsd, (oracle.positionFeeUsd as bigint) + (oracle.fundingFeeUsd as bigint));
  });

  it("the public IDL's event layouts agree with carbon's field order for the events the keeper reads (carbon may lag by trailing fields)", () => {
    // carbon's structs are an older revision: the same fields in the same order, the newest fields missing at the end.
    // The 399-byte mainnet DecreasePositionEvent decodes to its last byte only with the public IDL's longer layout.
    const carbonFields = (name: string) => {
      const line = readVectorText("carbon-jupiter-perpetuals.txt").split("\n").find((l) => l.startsWith(`fields ${name} `))!;
      return line.split(" ").slice(2).map((f) => f.split(":")[0]!.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()));
    };
    for (const name of ["IncreasePositionEvent", "DecreasePositionEvent", "ClosePositionRequestEvent", "LiquidateFullPositionEvent"]) {
      const idl = perps.idl.events!.find((e) => e.name === name)!.fields.map((f) => f.name);
      const c = carbonFields(name);
      assert.deepEqual(idl.slice(0, c.length), c, `${name}: public IDL and carbon disagree on field order`);
    }
  });
});
