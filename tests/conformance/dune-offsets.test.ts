import { strict as assert } from "node:assert";
import { Keypair, PublicKey } from "@solana/web3.js";
import { decodeEventInstruction } from "../../programs-client";
import { type IdlType, type Value, anchorEventTag, perpsOracle, readVectorText } from "./borsh-oracle";
import { TX_CLOSE, eventInstructions } from "./mainnet-vectors";

// Dune's production model of Jupiter Perps events reads fields at fixed byte offsets (vectors/dune-perp-events.txt).
// Those offsets are a third, independent statement of the event layouts: the oracle's encoding must put each field
// there, and programs-client must read back what Dune would.
const perps = perpsOracle();
const TAG = anchorEventTag();
const rows = readVectorText("dune-perp-events.txt")
  .split("\n")
  .filter((l) => l.includes("|") && !l.startsWith("#"))
  .map((l) => {
    const [event, column, field, offset, kind, condition] = l.split("|") as [string, string, string, string, "u8" | "u64" | "pubkey", string];
    const conditions = Object.fromEntries((condition ?? "").split(",").filter(Boolean).map((c) => c.split("=") as [string, string]));
    return { event, column, field, offset: Number(offset), kind, conditions };
  });

const read = (data: Buffer, offset: number, kind: "u8" | "u64" | "pubkey"): Value =>
  kind === "pubkey" ? new PublicKey(data.subarray(offset, offset + 32)).toBase58() : kind === "u8" ? BigInt(data[offset]!) : data.readBigUInt64LE(offset);
const asDune = (v: Value): Value => (typeof v === "boolean" ? (v ? 1n : 0n) : v);

/** An event with a distinct value in every field; Options as the conditions say (Some when not said). */
function sample(event: string, conditions: Record<string, string>): { [k: string]: Value } {
  const fields = perps.idl.events!.find((e) => e.name === event)!.fields;
  const value = (t: IdlType, i: number): Value => {
    if (typeof t === "object" && "option" in t) return value(t.option, i);
    if (t === "publicKey") return Keypair.generate().publicKey.toBase58();
    if (t === "bool") return true;
    if (t === "u8") return BigInt(1 + (i % 2));
    return 1_000_003n * BigInt(i + 1) + 7n;
  };
  return Object.fromEntries(fields.map((f, i) => [f.name, typeof f.type === "object" && "option" in f.type && conditions[f.name] === "None" ? null : value(f.type, i)]));
}

const eventBytes = (event: string, value: { [k: string]: Value }) =>
  Buffer.concat([TAG, perps.eventDiscriminator(event), perps.encodeFields(perps.idl.events!.find((e) => e.name === event)!.fields, value, event)]);

describe("conformance: event field offsets against Dune's spellbook", () => {
  for (const r of rows) {
    const cond = Object.entries(r.conditions).map(([k, v]) => `${k}=${v}`).join(", ");
    it(`${r.event}.${r.field} is where Dune reads ${r.column} (offset ${r.offset}${cond ? `, ${cond}` : ""}), in the oracle's bytes and programs-client's reading`, () => {
      const value = sample(r.event, r.conditions);
      const data = eventBytes(r.event, value);
      assert.deepEqual(read(data, r.offset, r.kind), asDune(value[r.field]!), "the oracle's encoding");
      const client = decodeEventInstruction(data);
      assert.ok(client, `programs-client did not decode a ${r.event}`);
      const got = client.data[r.field];
      assert.equal(got instanceof PublicKey ? got.toBase58() : typeof got === "boolean" ? BigInt(got) : typeof got === "number" ? BigInt(got) : got, asDune(value[r.field]!), "programs-client's reading");
    });
  }

  it("Dune's offsets read the real mainnet DecreasePositionEvent (transferToken Some, priceSlippage None) as the oracle decodes it", () => {
    const data = eventInstructions(TX_CLOSE, TAG)[0]!.data;
    const decoded = perps.decodeEvent(data, TAG);
    assert.equal(decoded.name, "DecreasePositionEvent");
    assert.equal(data[325], 0, "priceSlippage is None, as Dune's CASE on byte 325 distinguishes");
    const applicable = rows.filter((r) => r.event === "DecreasePositionEvent" && r.conditions.priceSlippage !== "Some");
    assert.equal(applicable.length, 12);
    for (const r of applicable) assert.deepEqual(read(data, r.offset, r.kind), asDune(decoded.value[r.field]!), `${r.column} at ${r.offset}`);
  });
});
