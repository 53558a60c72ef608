import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Journal } from "../../keeper/ops/journal";
import { type JournalRecord, type OpenIntent, restoreState } from "../../keeper/mandate/records";

type Intent = Extract<JournalRecord, { t: "intent" }>;

const intent = (id: string, extra: Partial<Intent> = {}): Intent => ({
  t: "intent",
  id,
  mandate: "m",
  market: "SOL",
  counter: "1",
  order: { kind: "decrease", side: "long", sizeUsdDelta6: 5n, collateralUsdDelta6: 0n, entirePosition: false, priceSlippageUsd6: 1n, deltaTokens: -1 },
  request: "Req",
  position: "Pos",
  sizeBeforeUsd6: "10",
  createdSec: 100,
  estimatedFeeUsd6: "0",
  ...extra,
});
const tx = { signature: "Sig", txBase64: "AQID", lastValidBlockHeight: 77 };
const sentOf = (id: string) => ({ t: "sent" as const, id, ...tx });

/** What a restart sees of each request: how resumeOpen will treat it (rebroadcast, follow, drop). */
function resumed(open: OpenIntent[]) {
  return open.map((o) => ({ id: o.intent.id, sent: o.sent && { signature: o.sent.signature, txBase64: o.sent.txBase64, lastValidBlockHeight: o.sent.lastValidBlockHeight }, landedSlot: o.landedSlot }));
}

describe("journal: the intent and its signed bytes in one record", () => {
  const cases: { name: string; records: JournalRecord[]; open: ReturnType<typeof resumed> }[] = [
    { name: "one record with the signed bytes: rebroadcast them", records: [intent("a", { tx })], open: [{ id: "a", sent: tx, landedSlot: null }] },
    { name: "an older journal, intent then sent: the same", records: [intent("a"), sentOf("a")], open: [{ id: "a", sent: tx, landedSlot: null }] },
    { name: "an older journal's intent never sent: nothing to rebroadcast (dropped)", records: [intent("a")], open: [{ id: "a", sent: null, landedSlot: null }] },
    { name: "signed, then landed: follow it on chain", records: [intent("a", { tx }), { t: "landed", id: "a", slot: 9 }], open: [{ id: "a", sent: tx, landedSlot: 9 }] },
    { name: "signed, then its outcome: nothing open", records: [intent("a", { tx }), { t: "outcome", id: "a", result: "filled", detail: "", atSec: 1, feeUsd6: "0" }], open: [] },
    {
      name: "old and new records mixed in one journal",
      records: [intent("old"), sentOf("old"), intent("new", { tx: { ...tx, signature: "Sig2" } }), { t: "outcome", id: "old", result: "rejected", detail: "", atSec: 1, feeUsd6: "0" }],
      open: [{ id: "new", sent: { ...tx, signature: "Sig2" }, landedSlot: null }],
    },
    { name: "another mandate's request is not ours", records: [intent("a", { tx, mandate: "other" })], open: [] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(resumed(restoreState(c.records, "m").open), c.open);
    });
  }

  it("a crash tearing the one record leaves nothing open: nothing was broadcast before it was whole on disk", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gk-signed-intent-"));
    try {
      const file = path.join(dir, "journal.log");
      const j = new Journal<JournalRecord>(file);
      j.open();
      j.append(intent("a", { tx }));
      j.append({ t: "outcome", id: "a", result: "filled", detail: "", atSec: 1, feeUsd6: "0" });
      j.append(intent("b", { tx: { ...tx, signature: "SigB" } }));
      j.close();
      const whole = fs.readFileSync(file, "utf8");
      assert.deepEqual(resumed(restoreState(new Journal<JournalRecord>(file).read().records, "m").open), [{ id: "b", sent: { ...tx, signature: "SigB" }, landedSlot: null }]);
      fs.writeFileSync(file, whole.slice(0, whole.length - 40));
      const torn = new Journal<JournalRecord>(file);
      const opened = torn.open();
      torn.close();
      assert.ok(opened.droppedTornRecord);
      assert.deepEqual(resumed(restoreState(opened.records, "m").open), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
