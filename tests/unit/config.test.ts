import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Keypair } from "@solana/web3.js";
import bs58 from "bs58";
import YAML from "yaml";
import { ConfigError, applyOverrides, configSecrets, loadConfigFile, parseConfig, redactedConfig } from "../../keeper/app/config-load";
import { KeypairError, loadKeypairEnv, loadKeypairFile, loadMandateKey } from "../../keeper/app/keypair";
import { main } from "../../keeper/cli/main";

const WALLET = Keypair.generate();
const JLP_ACCOUNT = Keypair.generate().publicKey.toBase58();
const CONFIG_DIR = path.join(__dirname, "../../config");

function valid(): Record<string, unknown> {
  return {
    rpc: { url: "https://rpc.example.com/v2/SECRET-KEY-123" },
    mandates: [
      {
        name: "m1",
        wallet: WALLET.publicKey.toBase58(),
        keypairFile: "./wallet.json",
        markets: ["SOL"],
        limits: { maxNetDeltaTokens: { SOL: 100 }, maxNotionalUsd: 1e6, maxLeverage: 5, maxTradesPerHour: 10, dailyFeeBudgetUsd: 100 },
      },
    ],
  };
}

/** Apply `edit` to a fresh valid config and return every problem line, or [] when it parses. */
function problems(edit: (c: any) => void): string[] {
  const c = valid() as any;
  edit(c);
  try {
    parseConfig(c, "test.yaml", "/tmp");
    return [];
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.problems;
  }
}

describe("config: every malformed config is rejected with the field and the fix", () => {
  const cases: [string, (c: any) => void, RegExp][] = [
    ["missing rpc", (c) => delete c.rpc, /^rpc: Required; fix: add it \(object\)/],
    ["rpc.url not a URL", (c) => (c.rpc.url = "127.0.0.1 port 8899"), /^rpc\.url: Invalid url; fix: use a full URL/],
    ["rpc.url without a scheme", (c) => (c.rpc.url = "localhost:8899"), /^rpc\.url: must start with http:\/\/ or https:\/\//],
    ["misspelt top-level key", (c) => (c.dryrun = true), /^\(top level\): Unrecognized key\(s\) in object: 'dryrun'; fix: remove dryrun or fix the spelling/],
    ["misspelt limit", (c) => (c.mandates[0].limits.maxTradesPerHr = 5), /^mandates\.0\.limits: Unrecognized key.*'maxTradesPerHr'; fix: remove maxTradesPerHr/],
    ["mandate without limits", (c) => delete c.mandates[0].limits, /^mandates\.0\.limits: Required; fix: add it \(object\)/],
    ["unknown market", (c) => (c.mandates[0].markets = ["DOGE"]), /^mandates\.0\.markets\.0: Invalid enum value.*; fix: use one of: SOL, ETH, BTC/],
    ["wallet not a pubkey", (c) => (c.mandates[0].wallet = "REPLACE_ME"), /^mandates\.0\.wallet: must be a base58 public key/],
    ["negative leverage limit", (c) => (c.mandates[0].limits.maxLeverage = -1), /^mandates\.0\.limits\.maxLeverage: .*; fix: use a value > 0/],
    ["unknown policy kind", (c) => (c.mandates[0].policy = { kind: "delta-neutral" }), /^mandates\.0\.policy\.kind: .*; fix: set it to one of: whalley-wilmott, zakamouline, fixed, clock/],
    ["string where a number goes", (c) => (c.execution = { priorityFee: { percentile: "p75" } }), /^execution\.priorityFee\.percentile: Expected number, received string; fix: use a number, not a string/],
    ["percentile above 100", (c) => (c.execution = { priorityFee: { percentile: 120 } }), /^execution\.priorityFee\.percentile: .*; fix: use a value <= 100/],
    ["no key source", (c) => delete c.mandates[0].keypairFile, /^mandates\.0\.keypairFile: mandate m1 must set exactly one of keypairFile and keypairEnv; fix: keypairFile: .* or keypairEnv: GK_M1_KEY/],
    ["two key sources", (c) => (c.mandates[0].keypairEnv = "GK_KEY"), /set exactly one of keypairFile and keypairEnv/],
    ["duplicate mandate names", (c) => c.mandates.push({ ...c.mandates[0] }), /^mandates\.1\.name: "m1" is used twice; fix: make names unique/],
    ["no mandates", (c) => (c.mandates = []), /^mandates: no mandate to hedge; fix: add one under mandates or list a file in mandateFiles/],
    ["bad log level", (c) => (c.log = { level: "verbose" }), /^log\.level: .*; fix: use one of: trace, debug, info, warn, error/],
    ["target for a market not traded", (c) => (c.mandates[0].targetNetDelta = { ETH: 1 }), /^mandates\.0\.targetNetDelta\.ETH: ETH is not in markets; fix:/],
    // Issue 14: numbers finite and in range, dates real, fields consistent with each other.
    ["an infinite limit (YAML .inf)", (c) => (c.mandates[0].limits.maxNotionalUsd = Infinity), /^mandates\.0\.limits\.maxNotionalUsd: Infinity is not a finite number .*; fix: use a finite number$/],
    ["NaN (YAML .nan) gets one line, not the schema's second", (c) => (c.oracle = { maxAgeSec: NaN }), /^oracle\.maxAgeSec: NaN is not a finite number/],
    ["a number beyond exact micro-units", (c) => (c.mandates[0].limits.maxNotionalUsd = 1e16), /^mandates\.0\.limits\.maxNotionalUsd: 10000000000000000 is out of range; fix: use a value between -9007199254 and 9007199254$/],
    ["an infinite offset", (c) => (c.mandates[0].exposures = { offsets: { SOL: -Infinity } }), /^mandates\.0\.exposures\.offsets\.SOL: -Infinity is not a finite number/],
    ["an expiry that is not a date", (c) => (c.mandates[0].exposures = { options: [{ underlying: "SOL", kind: "put", strike: 1, expiry: "next tuesday", quantity: 1, impliedVol: 0.5 }] }), /^mandates\.0\.exposures\.options\.0\.expiry: "next tuesday" is not a date; fix: write an ISO-8601 time/],
    ["an empty expiry", (c) => (c.mandates[0].exposures = { options: [{ underlying: "SOL", kind: "put", strike: 1, expiry: " ", quantity: 1, impliedVol: 0.5 }] }), /^mandates\.0\.exposures\.options\.0\.expiry: " " is not a date/],
    ["minTradeUsd above maxTradeUsd", (c) => (c.mandates[0].trade = { minTradeUsd: 600, maxTradeUsd: 500 }), /^mandates\.0\.trade\.minTradeUsd: 600 is above maxTradeUsd 500; fix: lower minTradeUsd or raise maxTradeUsd$/],
    ["targetLeverage above the leverage limit", (c) => (c.mandates[0].targetLeverage = 6), /^mandates\.0\.targetLeverage: 6 is above limits\.maxLeverage 5; fix: lower targetLeverage to at most 5/],
    ["a target delta beyond the market's limit", (c) => (c.mandates[0].targetNetDelta = { SOL: 101 }), /^mandates\.0\.targetNetDelta\.SOL: 101 is beyond limits\.maxNetDeltaTokens\.SOL 100; fix: keep the target within ±100/],
    ["a priority fee floor above the cap", (c) => (c.execution = { priorityFee: { floorMicroLamports: 3, capMicroLamports: 2 } }), /^execution\.priorityFee\.floorMicroLamports: 3 is above capMicroLamports 2; fix:/],
    ["a missing options book", (c) => (c.mandates[0].exposures = { optionsFile: "no-such-book.csv" }), /^mandates\.0\.exposures\.optionsFile: cannot read \/tmp\/no-such-book\.csv \(ENOENT\); fix: create it/],
    // Issue 18: the live band of a JLP delta without options is the flow band, which needs the delta's flow vol.
    [
      "a JLP holding under whalley-wilmott with neither options nor a flow vol on its market",
      (c) => (c.mandates[0].exposures = { jlp: { tokenAccount: JLP_ACCOUNT } }),
      /^mandates\.0\.exposures\.jlp\.deltaVolTokens\.SOL: mandate m1 hedges a JLP holding's SOL delta under whalley-wilmott with no SOL options, so without this flow vol its band has zero width .*; fix: set it to how far pool flows move the holding's SOL delta, in SOL per √year .*or choose policy fixed with thresholdTokens\.SOL$/,
    ],
    ["a flow vol of zero", (c) => (c.mandates[0].exposures = { jlp: { tokenAccount: JLP_ACCOUNT, deltaVolTokens: { SOL: 0 } } }), /^mandates\.0\.exposures\.jlp\.deltaVolTokens\.SOL: .*; fix: use a value > 0$/],
    // Review of issue 18: Zakamouline has no flow band, an expired leg gives no gamma, a flow vol needs its market hedged.
    [
      "a JLP holding under zakamouline with no options on its market, even with a flow vol",
      (c) => ((c.mandates[0].exposures = { jlp: { tokenAccount: JLP_ACCOUNT, deltaVolTokens: { SOL: 40 } } }), (c.mandates[0].policy = { kind: "zakamouline", riskAversion: 0.3 })),
      /^mandates\.0\.policy: mandate m1 hedges a JLP holding's SOL delta under zakamouline with no SOL options; Zakamouline sizes its band from the options' gamma alone \(exposures\.jlp\.deltaVolTokens does not widen it\), so the band has zero width .*; fix: choose policy whalley-wilmott with exposures\.jlp\.deltaVolTokens\.SOL .*, or policy fixed with thresholdTokens\.SOL$/,
    ],
    [
      "a JLP holding under whalley-wilmott whose only option on its market has expired",
      (c) => (c.mandates[0].exposures = { jlp: { tokenAccount: JLP_ACCOUNT }, options: [{ underlying: "SOL", kind: "put", strike: 150, expiry: "2020-01-01T00:00:00Z", quantity: 1, impliedVol: 0.6 }] }),
      /^mandates\.0\.exposures\.jlp\.deltaVolTokens\.SOL: mandate m1 hedges a JLP holding's SOL delta under whalley-wilmott with no SOL options left \(its 1 SOL leg has expired by 20\d\d-.*Z\), so without this flow vol its band has zero width/,
    ],
    [
      "a flow vol for a market not in markets",
      (c) => (c.mandates[0].exposures = { jlp: { tokenAccount: JLP_ACCOUNT, deltaVolTokens: { SOL: 40, ETH: 3 } } }),
      /^mandates\.0\.exposures\.jlp\.deltaVolTokens\.ETH: ETH is not in markets, so this flow vol sizes no band; fix: add ETH to markets or remove the flow vol$/,
    ],
  ];
  for (const [name, edit, expected] of cases) {
    it(name, () => {
      const p = problems(edit);
      assert.ok(p.some((l) => expected.test(l)), `expected a line matching ${expected}, got:\n${p.join("\n")}`);
    });
  }

  it("a target delta within the limit, and equal trade bounds, are fine", () => {
    assert.deepEqual(problems((c) => {
      c.mandates[0].targetNetDelta = { SOL: -100 };
      c.mandates[0].trade = { minTradeUsd: 500, maxTradeUsd: 500 };
      c.mandates[0].targetLeverage = 5;
    }), []);
  });

  it("a JLP holding under whalley-wilmott passes with a flow vol, or options, on each of its markets, or under another policy", () => {
    const jlp = (deltaVolTokens?: Record<string, number>) => ({ tokenAccount: JLP_ACCOUNT, ...(deltaVolTokens ? { deltaVolTokens } : {}) });
    const put = { underlying: "SOL", kind: "put", strike: 150, expiry: "2030-01-01T00:00:00Z", quantity: 1, impliedVol: 0.6 };
    const twoMarkets = (c: any) => {
      c.mandates[0].markets = ["SOL", "ETH"];
      c.mandates[0].limits.maxNetDeltaTokens = { SOL: 100, ETH: 100 };
    };
    assert.deepEqual(problems((c) => (c.mandates[0].exposures = { jlp: jlp({ SOL: 40 }) })), []);
    assert.deepEqual(problems((c) => (c.mandates[0].exposures = { jlp: jlp(), options: [put] })), []);
    assert.deepEqual(problems((c) => ((c.mandates[0].exposures = { jlp: jlp() }), (c.mandates[0].policy = { kind: "fixed", thresholdTokens: { SOL: 1 } }))), []);
    // A fixed threshold missing for a market the mandate hedges was a threshold of 0: a band of zero width there.
    const fixedMissing = problems((c) => ((c.mandates[0].markets = ["SOL", "ETH"]), (c.mandates[0].policy = { kind: "fixed", thresholdTokens: { SOL: 1 } })));
    assert.equal(fixedMissing.length, 1, fixedMissing.join("\n"));
    assert.match(fixedMissing[0]!, /^mandates\.0\.policy\.thresholdTokens\.ETH: mandate m1 hedges ETH under a fixed threshold but gives none for it, so its band would have zero width .*; fix: set policy\.thresholdTokens\.ETH/);
    // Each market on its own: SOL's options give ETH no band.
    const eth = problems((c) => (twoMarkets(c), (c.mandates[0].exposures = { jlp: jlp(), options: [put] })));
    assert.deepEqual(eth.map((l) => l.slice(0, l.indexOf(":"))), ["mandates.0.exposures.jlp.deltaVolTokens.ETH"]);
    assert.deepEqual(problems((c) => (twoMarkets(c), (c.mandates[0].exposures = { jlp: jlp({ ETH: 3 }), options: [put] }))), []);
  });

  it("a JLP holding under zakamouline passes with live options on each of its markets, and only then", () => {
    const zak = (c: any, options: unknown[]) => {
      c.mandates[0].policy = { kind: "zakamouline", riskAversion: 0.3 };
      c.mandates[0].exposures = { jlp: { tokenAccount: JLP_ACCOUNT }, options };
    };
    const put = (underlying: string) => ({ underlying, kind: "put", strike: 150, expiry: "+30d", quantity: 1, impliedVol: 0.6 });
    assert.deepEqual(problems((c) => zak(c, [put("SOL")])), []);
    // Each market on its own: SOL's options give ETH no band.
    const eth = problems((c) => ((c.mandates[0].markets = ["SOL", "ETH"]), zak(c, [put("SOL")])));
    assert.deepEqual(eth.map((l) => l.slice(0, l.indexOf(" under"))), ["mandates.0.policy: mandate m1 hedges a JLP holding's ETH delta"]);
    // Without a JLP holding the options' own gamma is the whole story: nothing to refuse.
    assert.deepEqual(problems((c) => ((c.mandates[0].policy = { kind: "zakamouline", riskAversion: 0.3 }), (c.mandates[0].exposures = { options: [put("ETH")] }))), []);
  });

  it("options count for the JLP check only while they live at the check's time, inline, relative or in the book file", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gk-config-"));
    try {
      const EXPIRY = Date.parse("2030-01-01T00:00:00Z") / 1000;
      const c = valid() as any;
      c.mandates[0].exposures = { jlp: { tokenAccount: JLP_ACCOUNT }, options: [{ underlying: "SOL", kind: "put", strike: 150, expiry: "2030-01-01T00:00:00Z", quantity: 1, impliedVol: 0.6 }] };
      assert.equal(parseConfig(c, "test.yaml", dir, EXPIRY - 1).mandates.length, 1);
      // The keeper's rule (exposure/options-book.ts expiredLegs): a leg at its expiry is expired.
      assert.throws(() => parseConfig(c, "test.yaml", dir, EXPIRY), /deltaVolTokens\.SOL: .*no SOL options left \(its 1 SOL leg has expired by 2030-01-01T00:00:00\.000Z\)/);
      // A relative expiry is counted from the check, so it has not expired at it.
      c.mandates[0].exposures.options[0].expiry = "+1h";
      assert.equal(parseConfig(c, "test.yaml", dir, EXPIRY + 86_400).mandates.length, 1);
      // A book file's legs the same; an expired ETH leg and an expired SOL one, with a live SOL one beside them.
      fs.writeFileSync(path.join(dir, "book.csv"), "underlying,kind,strike,expiry,quantity,impliedVol\nSOL,call,200,2030-01-01T00:00:00Z,10,0.7\nSOL,put,100,2029-01-01T00:00:00Z,10,0.7\n");
      c.mandates[0].exposures = { jlp: { tokenAccount: JLP_ACCOUNT }, optionsFile: "book.csv" };
      assert.equal(parseConfig(c, "test.yaml", dir, EXPIRY - 1).mandates.length, 1);
      assert.throws(() => parseConfig(c, "test.yaml", dir, EXPIRY + 1), /its 2 SOL legs have expired by 2030-01-01T00:00:01\.000Z/);
      // Whalley-Wilmott with a flow vol needs no live option.
      c.mandates[0].exposures.jlp.deltaVolTokens = { SOL: 40 };
      assert.equal(parseConfig(c, "test.yaml", dir, EXPIRY + 1).mandates.length, 1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("options in the mandate's book file count for the JLP check as inline ones do", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gk-config-"));
    try {
      const book = path.join(dir, "book.csv");
      fs.writeFileSync(book, "underlying,kind,strike,expiry,quantity,impliedVol\nSOL,call,200,2030-01-01T00:00:00Z,10,0.7\n");
      const c = valid() as any;
      c.mandates[0].exposures = { jlp: { tokenAccount: JLP_ACCOUNT }, optionsFile: "book.csv" };
      assert.equal(parseConfig(c, "test.yaml", dir).mandates.length, 1);
      fs.writeFileSync(book, "underlying,kind,strike,expiry,quantity,impliedVol\nETH,call,4000,2030-01-01T00:00:00Z,10,0.7\n");
      assert.throws(() => parseConfig(c, "test.yaml", dir), /exposures\.jlp\.deltaVolTokens\.SOL: mandate m1 hedges a JLP holding's SOL delta/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reports every problem at once, not just the first", () => {
    const p = problems((c) => {
      c.rpc.url = "nope";
      c.mandates[0].markets = ["DOGE"];
      c.mandates[0].limits.maxLeverage = 0;
    });
    assert.equal(p.length, 3, p.join("\n"));
  });

  it("the valid base config parses, with defaults filled and paths resolved", () => {
    const cfg = parseConfig(valid(), "test.yaml", "/srv/keeper");
    assert.equal(cfg.mandates[0]!.keypairFile, "/srv/keeper/wallet.json");
    assert.equal(cfg.stateDir, "/srv/keeper/state");
    assert.equal(cfg.execution.priorityFee.percentile, 75);
  });
});

describe("config: overrides, mandate files, redaction", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "gk-config-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("GAMMA_KEEPER__ variables override the file, --set overrides both, values arrive typed", () => {
    const file = path.join(dir, "k.yaml");
    fs.writeFileSync(file, YAML.stringify(valid()));
    const cfg = loadConfigFile(file, {
      env: { GAMMA_KEEPER__rpc__url: "https://env.example.com", GAMMA_KEEPER__dryRun: "true", GAMMA_KEEPER__execution__priorityFee__percentile: "60", UNRELATED: "x" },
      set: ["execution.priorityFee.percentile=90", "mandates.0.markets=[SOL, ETH]"],
    });
    assert.equal(cfg.rpc.url, "https://env.example.com");
    assert.equal(cfg.dryRun, true);
    assert.equal(cfg.execution.priorityFee.percentile, 90);
    assert.deepEqual(cfg.mandates[0]!.markets, ["SOL", "ETH"]);
    assert.throws(() => applyOverrides({}, { set: ["no-equals-sign"] }), /is not path=value; fix:/);
  });

  it("a mandate file is merged, its paths resolved against its own directory, its errors prefixed with its name", () => {
    const mandate = { ...(valid().mandates as object[])[0], name: "dao", keypairFile: "./dao.json" };
    fs.mkdirSync(path.join(dir, "dao"));
    fs.writeFileSync(path.join(dir, "dao", "mandate.yaml"), YAML.stringify(mandate));
    const cfg = parseConfig({ ...valid(), mandateFiles: ["dao/mandate.yaml"] }, "k.yaml", dir);
    assert.deepEqual(cfg.mandates.map((m) => m.name), ["m1", "dao"]);
    assert.equal(cfg.mandates[1]!.keypairFile, path.join(dir, "dao", "dao.json"));
    fs.writeFileSync(path.join(dir, "dao", "mandate.yaml"), YAML.stringify({ ...mandate, limits: undefined }));
    assert.throws(() => parseConfig({ ...valid(), mandateFiles: ["dao/mandate.yaml"] }, "k.yaml", dir), (e: ConfigError) => e.problems.some((p) => /^mandate file .*mandate\.yaml: limits: Required; fix: add it/.test(p)));
  });

  it("the printed config carries no RPC path, query or API key", () => {
    const cfg = parseConfig({ ...valid(), execution: { swapApi: { apiKey: "JUP-KEY-456" } }, rpc: { url: "https://rpc.example.com/v2/SECRET-KEY-123", fallbacks: [{ url: "https://b.example.com/?api-key=SECRET-2" }] } }, "k.yaml", dir);
    const printed = JSON.stringify(redactedConfig(cfg));
    for (const secret of ["SECRET-KEY-123", "SECRET-2", "JUP-KEY-456"]) assert.ok(!printed.includes(secret), `${secret} printed`);
    assert.ok(configSecrets(cfg).includes("JUP-KEY-456"));
  });

  it("the example configs are valid once their placeholders are filled", () => {
    const w = Keypair.generate().publicKey.toBase58();
    // The mainnet example's options book lives on the VPS; config load reads it, so give it one here.
    const book = path.join(dir, "desk-book.csv");
    fs.writeFileSync(book, "underlying,kind,strike,expiry,quantity,impliedVol\nSOL,call,200,2030-01-01T00:00:00Z,10,0.7\n");
    for (const file of ["localnet.example.yaml", "mainnet.example.yaml"]) {
      const text = fs.readFileSync(path.join(CONFIG_DIR, file), "utf8").replace(/REPLACE_WITH_[A-Z_]+/g, w).replace("/var/lib/gamma-keeper/desk-book.csv", book);
      fs.writeFileSync(path.join(dir, file), text);
    }
    fs.writeFileSync(path.join(dir, "dao-mandate.example.yaml"), fs.readFileSync(path.join(CONFIG_DIR, "dao-mandate.example.yaml"), "utf8").replace(/REPLACE_WITH_[A-Z_]+/g, w));
    assert.equal(loadConfigFile(path.join(dir, "localnet.example.yaml")).mandates.length, 1);
    const mainnet = loadConfigFile(path.join(dir, "mainnet.example.yaml"));
    assert.deepEqual(mainnet.mandates.map((m) => m.name), ["desk-sol-book", "dao-treasury"]);
    assert.equal(mainnet.mandates[1]!.hedgeRatio, 0.8);
  });
});

describe("keys", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "gk-keys-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const secretText = () => [JSON.stringify(Array.from(WALLET.secretKey)), bs58.encode(WALLET.secretKey), Buffer.from(WALLET.secretKey).toString("base64")];

  it("a key file with mode 0644 is refused with the chmod that fixes it; 0600 loads", () => {
    const file = path.join(dir, "wallet.json");
    fs.writeFileSync(file, JSON.stringify(Array.from(WALLET.secretKey)), { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    assert.throws(() => loadKeypairFile(file, WALLET.publicKey), (e: Error) => e instanceof KeypairError && e.message.includes(`mode 0644`) && e.message.includes(`fix: chmod 600 ${file}`));
    fs.chmodSync(file, 0o600);
    assert.ok(loadKeypairFile(file, WALLET.publicKey).publicKey.equals(WALLET.publicKey));
  });

  it("a base58 key from the environment; errors name the variable and the public keys, never the secret", () => {
    const env = { GK_KEY: bs58.encode(WALLET.secretKey), GK_OTHER: bs58.encode(Keypair.generate().secretKey), GK_BAD: "0OIl" };
    assert.ok(loadKeypairEnv("GK_KEY", WALLET.publicKey, env).publicKey.equals(WALLET.publicKey));
    assert.ok(loadMandateKey({ wallet: WALLET.publicKey.toBase58(), keypairEnv: "GK_KEY" }, env).publicKey.equals(WALLET.publicKey));
    const errors: string[] = [];
    for (const name of ["GK_OTHER", "GK_BAD", "GK_UNSET"]) {
      assert.throws(() => loadKeypairEnv(name, WALLET.publicKey, env), (e: Error) => {
        errors.push(e.message);
        return e instanceof KeypairError && e.message.includes(name);
      });
    }
    assert.match(errors[0]!, new RegExp(`mandate's wallet is ${WALLET.publicKey.toBase58()}`));
    for (const m of errors) for (const s of [...secretText(), env.GK_OTHER]) assert.ok(!m.includes(s), "secret in an error");
  });
});

describe("gamma-keeper config check", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "gk-check-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function check(file: string, ...args: string[]) {
    const out: string[] = [];
    const code = await main(["config", "check", file, ...args], (s) => out.push(s), (s) => out.push(s));
    return { code, text: out.join("\n") };
  }

  it("prints the effective config with the RPC key redacted and the signer's public key, or every problem and exit 2", async () => {
    const key = path.join(dir, "wallet.json");
    fs.writeFileSync(key, JSON.stringify(Array.from(WALLET.secretKey)), { mode: 0o600 });
    const file = path.join(dir, "keeper.yaml");
    fs.writeFileSync(file, YAML.stringify(valid()));
    const ok = await check(file);
    assert.equal(ok.code, 0, ok.text);
    assert.match(ok.text, new RegExp(`signer ${WALLET.publicKey.toBase58()} matches the wallet`));
    assert.match(ok.text, /url: https:\/\/rpc\.example\.com\/\*\*\*/);
    assert.ok(!ok.text.includes("SECRET-KEY-123") && !ok.text.includes(bs58.encode(WALLET.secretKey)));

    fs.chmodSync(key, 0o644);
    const loose = await check(file);
    assert.equal(loose.code, 2);
    assert.match(loose.text, new RegExp(`fix: chmod 600 ${key}`));

    const bad = await check(file, "--set", "mandates.0.limits.maxLeverage=-2", "--set", "rpc.url=ftp://x");
    assert.equal(bad.code, 2);
    assert.match(bad.text, /mandates\.0\.limits\.maxLeverage: .*fix: use a value > 0/);
    assert.match(bad.text, /rpc\.url: must start with http:\/\/ or https:\/\//);
  });
});
