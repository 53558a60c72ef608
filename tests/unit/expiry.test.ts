import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Keypair } from "@solana/web3.js";
import { parseConfig } from "../../keeper/app/config-load";
import type { KeeperEvent } from "../../keeper/mandate/events";
import { BookSource, configLegs, expiredLegWarnings } from "../../keeper/app/mandate-book";
import { BookFileError, expiryProblem, expirySeconds, parseBookFile } from "../../keeper/exposure/book-file";
import { type OptionLeg, expiredLegs, expiredLegsMessage, legKey, newlyExpiredLegs } from "../../keeper/exposure/options-book";

const T0 = Date.parse("2027-03-01T00:00:00Z") / 1000;
const DAY = 86_400;

describe("relative expiries (+Nd, +Nh)", () => {
  const cases: [unknown, number | undefined, number | null][] = [
    ["+30d", T0, T0 + 30 * DAY],
    ["+12h", T0, T0 + 12 * 3600],
    [" +1d ", T0, T0 + DAY],
    ["+0h", T0, null], // expired from the first cycle
    ["+0d", T0, null],
    ["+100000d", T0, T0 + 100_000 * DAY],
    ["+99999999d", T0, null], // past the last date a Date holds
    ["+30d", undefined, null], // a book file: refused, a reload would roll it forward
    ["+30m", T0, null],
    ["+1.5d", T0, null],
    ["-3d", T0, null],
    ["+d", T0, null],
    ["30d", T0, null],
    ["2027-06-25T08:00:00Z", T0, Date.parse("2027-06-25T08:00:00Z") / 1000],
    [1_900_000_000, undefined, 1_900_000_000],
  ];
  for (const [v, rel, want] of cases) {
    it(`${JSON.stringify(v)} from ${rel ?? "a file"} is ${want}`, () => assert.equal(expirySeconds(v, rel), want));
  }

  const problems: [unknown, number | undefined, RegExp][] = [
    ["+0d", T0, /^expiry "\+0d" is the keeper's start, so the leg would be expired from the first cycle; fix: \+1h or later$/],
    [" +0h ", T0, /^expiry "\+0h" is the keeper's start/],
    ["+99999999d", T0, /^expiry "\+99999999d" is out of range \(after the year 275760, the last a date can hold\); fix: a nearer expiry$/],
    ["+99999999999h", T0, /^expiry "\+99999999999h" is out of range/],
    ["+30d", undefined, /^expiry "\+30d" is relative, which only the config's exposures\.options accept/],
    ["next tuesday", T0, /^expiry "next tuesday" must be an ISO-8601 time or unix seconds, or \+Nd \/ \+Nh from now$/],
  ];
  for (const [v, rel, want] of problems) {
    it(`the problem with ${JSON.stringify(v)} from ${rel ?? "a file"}`, () => assert.match(expiryProblem(v, rel) ?? "accepted", want));
  }
  it("no problem with what expirySeconds takes", () => {
    for (const v of ["+1h", "+30d", "2027-06-25T08:00:00Z", 1_900_000_000]) assert.equal(expiryProblem(v, T0), null);
  });

  it("a config leg of +0d or +99999999d is refused at load with that reason, not as 'not a date'", () => {
    for (const [expiry, reason] of [["+0d", /options\.0: expiry "\+0d" is the keeper's start/], ["+99999999d", /options\.0: expiry "\+99999999d" is out of range/]] as const) {
      const m = { name: "m", exposures: { options: [{ underlying: "SOL", kind: "put", strike: 150, expiry, quantity: 2, impliedVol: 0.6 }] } } as unknown as Parameters<typeof configLegs>[0];
      assert.throws(() => configLegs(m, T0), (e: Error) => e instanceof BookFileError && reason.test(e.message));
    }
  });

  it("a book file with a relative expiry is refused with the reason and the fix", () => {
    for (const [name, text] of [
      ["book.csv", "underlying,kind,strike,expiry,quantity,impliedVol\nSOL,call,150,+30d,1,0.6\n"],
      ["book.json", JSON.stringify([{ underlying: "SOL", kind: "call", strike: 150, expiry: "+30d", quantity: 1, impliedVol: 0.6 }])],
    ]) {
      assert.throws(() => parseBookFile(text!, name!), (e: Error) => e instanceof BookFileError && /expiry "\+30d" is relative, which only the config's exposures.options accept.*fix: write an ISO-8601 time/.test(e.message));
    }
  });

  it("the config accepts +30d and the keeper resolves it once, at load", () => {
    const cfg = parseConfig(config([{ underlying: "SOL", kind: "put", strike: 150, expiry: "+30d", quantity: 2, impliedVol: 0.6 }]), "t.yaml", "/tmp");
    assert.equal(cfg.mandates[0]!.exposures.options[0]!.expiry, "+30d");
    assert.equal(configLegs(cfg.mandates[0]!, T0)[0]!.expirySec, T0 + 30 * DAY);
  });

  it("the config refuses +0d as already expired, not as 'not a date'", () => {
    assert.throws(() => parseConfig(config([{ underlying: "SOL", kind: "put", strike: 150, expiry: "+0d", quantity: 2, impliedVol: 0.6 }]), "t.yaml", "/tmp"), /options\.0\.expiry: "\+0d" is the keeper's start, so the leg would be expired from the first cycle; fix: \+1h or later/);
  });

  it("the config refuses +30m naming the forms it takes", () => {
    assert.throws(() => parseConfig(config([{ underlying: "SOL", kind: "put", strike: 150, expiry: "+30m", quantity: 2, impliedVol: 0.6 }]), "t.yaml", "/tmp"), /options\.0\.expiry: "\+30m" is not a date; fix: .*\+30d \/ \+12h/);
  });
});

describe("expired legs", () => {
  const leg = (expirySec: number, strike = 150): OptionLeg => ({ underlying: "SOL", kind: "call", strike, expirySec, quantity: 200, impliedVol: 0.6 });
  const legs = [leg(T0 - DAY), leg(T0), leg(T0 + 1), leg(T0 - 1, 140)];

  it("a leg is expired at and after its expiry", () => assert.deepEqual(expiredLegs(legs, T0).map((l) => l.expirySec), [T0 - DAY, T0, T0 - 1]));
  it("newly expired leaves out the legs already warned about", () => {
    assert.deepEqual(newlyExpiredLegs(legs, T0, new Set([legKey(legs[0]!), legKey(legs[3]!)])), [legs[1]]);
    assert.deepEqual(newlyExpiredLegs(legs, T0 - 2 * DAY, new Set()), []);
  });
  it("the message names each leg, its expiry and the fix", () => {
    assert.equal(
      expiredLegsMessage([leg(T0)]),
      "1 option leg has expired and counts as zero delta, so the keeper no longer hedges it: SOL call 150 x200 expired 2027-03-01T00:00:00.000Z; fix: remove or roll it in the config or the options book",
    );
    assert.match(expiredLegsMessage(legs.slice(0, 2)), /^2 option legs have expired and count as zero delta, so the keeper no longer hedges them: SOL call 150 x200 expired 2027-02-28.*; SOL call 150 x200 expired 2027-03-01/);
  });
});

describe("the keeper's book warns once per expired leg", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "gk-expiry-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("at start, as time passes, and when a reload brings an expired leg; never twice for one leg", async () => {
    const file = path.join(dir, "book.csv");
    fs.writeFileSync(file, "underlying,kind,strike,expiry,quantity,impliedVol\nSOL,put,140,2027-03-01T00:00:00Z,5,0.7\n");
    const cfg = parseConfig(config([{ underlying: "SOL", kind: "call", strike: 150, expiry: "+2h", quantity: 1, impliedVol: 0.6 }], file), "t.yaml", dir);
    let nowSec = T0 + 60; // the file's leg expired a minute ago; the config's expires two hours after the start
    const warnings: string[] = [];
    const emit = (e: KeeperEvent) => e.kind === "warning" && warnings.push(`${e.mandate}: ${e.message}`);
    const book = new BookSource(cfg.mandates[0]!, emit, () => nowSec * 1000);
    try {
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /^m1: 1 option leg has expired .*SOL put 140 x5 expired 2027-03-01T00:00:00.000Z/);
      for (let i = 0; i < 5; i++) book.legs();
      assert.equal(warnings.length, 1, "not every cycle");
      nowSec += 2 * 3600;
      book.legs();
      book.legs();
      assert.equal(warnings.length, 2);
      assert.match(warnings[1]!, /SOL call 150 x1 expired 2027-03-01T02:01:00.000Z/, "+2h counted from the start, not rolled forward");
      // fs.watchFile takes its first stat asynchronously: a write before it would be its baseline, not a change.
      await new Promise((r) => setTimeout(r, 1500));
      fs.writeFileSync(file, "underlying,kind,strike,expiry,quantity,impliedVol\nSOL,put,140,2027-03-01T00:00:00Z,5,0.7\nSOL,put,130,2027-03-01T01:00:00Z,3,0.7\n");
      await waitFor(() => warnings.length >= 4, 5000);
      assert.match(warnings[2]!, /reloaded: 2 legs/);
      assert.match(warnings[3]!, /^m1: 1 option leg has expired .*SOL put 130 x3/);
      book.legs();
      assert.equal(warnings.length, 4);
    } finally {
      book.close();
    }
  });

  it("an expiry that leaves a JLP hedge under Whalley-Wilmott without a band is said, with the fix", () => {
    const data = config([{ underlying: "SOL", kind: "call", strike: 150, expiry: "+2h", quantity: 1, impliedVol: 0.6 }]) as any;
    data.mandates[0].exposures.jlp = { tokenAccount: Keypair.generate().publicKey.toBase58() };
    // config check passes: the option is live, so the band has a gamma to size it.
    const cfg = parseConfig(data, "t.yaml", dir, T0);
    let nowSec = T0 + 60;
    const warnings: string[] = [];
    const book = new BookSource(cfg.mandates[0]!, (e: KeeperEvent) => e.kind === "warning" && warnings.push(e.message), () => nowSec * 1000);
    try {
      assert.deepEqual(warnings, []);
      nowSec += 3 * 3600;
      book.legs();
      assert.equal(warnings.length, 2, warnings.join("\n"));
      assert.match(warnings[1]!, /^the expiry leaves a JLP hedge without a band: exposures\.jlp\.deltaVolTokens\.SOL: mandate m1 hedges a JLP holding's SOL delta under whalley-wilmott with no SOL options left .*zero width.*; fix: set it/);
      book.legs();
      assert.equal(warnings.length, 2, "once, with the expiry");
    } finally {
      book.close();
    }
  });

  it("config check's lines name the mandate and the legs; none when nothing expired", () => {
    const cfg = parseConfig(config([{ underlying: "SOL", kind: "call", strike: 150, expiry: "2027-02-01T00:00:00Z", quantity: 1, impliedVol: 0.6 }, { underlying: "SOL", kind: "call", strike: 160, expiry: "+1d", quantity: 1, impliedVol: 0.6 }]), "t.yaml", dir);
    assert.deepEqual(expiredLegWarnings(cfg, T0), [`warning: mandate m1: ${expiredLegsMessage(configLegs(cfg.mandates[0]!, T0).slice(0, 1))}`]);
    assert.deepEqual(expiredLegWarnings(cfg, Date.parse("2027-01-01T00:00:00Z") / 1000), []);
  });
});

function config(options: unknown[], optionsFile?: string) {
  return {
    rpc: { url: "http://127.0.0.1:8899" },
    mandates: [
      {
        name: "m1",
        wallet: Keypair.generate().publicKey.toBase58(),
        keypairEnv: "GK_TEST_KEY",
        markets: ["SOL"],
        limits: { maxNetDeltaTokens: { SOL: 100 }, maxNotionalUsd: 1e6, maxLeverage: 5, maxTradesPerHour: 10, dailyFeeBudgetUsd: 100 },
        exposures: { options, ...(optionsFile ? { optionsFile } : {}) },
      },
    ],
  };
}

async function waitFor(done: () => boolean, timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > until) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
