import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { Keypair } from "@solana/web3.js";
import bs58 from "bs58";
import { loadConfigFile } from "../../keeper/app/config-load";
import { parseEnvFile } from "../../keeper/cli/env-file";
import { ConfigScratch, runCli, STACK_LINE } from "../helpers/cli-config";

/**
 * Issue 16: a DAO validates its own mandate file; a config's problems come in one pass, its mandate files and keys
 * included; root checks a config whose keys live in the service's root-only environment file with --environment-file.
 */

const EXAMPLE = path.join(__dirname, "../../config/dao-mandate.example.yaml");
const s = new ConfigScratch();

/** The DAO example with its placeholders filled: the treasury accounts any address, the wallet `wallet`. */
function daoMandate(wallet: string, name = "dao.yaml"): string {
  const other = Keypair.generate().publicKey.toBase58();
  const text = fs.readFileSync(EXAMPLE, "utf8").replace("REPLACE_WITH_THE_DAO_HEDGING_WALLET", wallet).replace(/REPLACE_WITH_[A-Z_]+/g, other);
  return s.write(name, text);
}

describe("config check (issue 16): mandate files on their own, every problem in one pass, --environment-file", function () {
  this.timeout(30_000);
  after(() => fs.rmSync(s.dir, { recursive: true, force: true }));
  // --environment-file sets the process's environment, as it would for the process it stands in for: restored after each.
  let saved: NodeJS.ProcessEnv;
  beforeEach(() => (saved = { ...process.env }));
  afterEach(() => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  });

  describe("a DAO's mandate file, checked on its own", () => {
    it("the example as shipped: its placeholder wallet is the problem, not a config's missing rpc", async () => {
      const r = await runCli(["config", "check", EXAMPLE]);
      assert.equal(r.code, 2, r.out);
      assert.match(r.err, /dao-mandate\.example\.yaml is not a valid mandate file:\n {2}wallet: must be a base58 public key\n/);
      assert.doesNotMatch(r.err, /rpc|remove |mandateFiles: /);
      assert.doesNotMatch(r.err, STACK_LINE);
    });

    it("filled in: valid, its key not checked where the DAO does not hold it, then checked where it is set", async () => {
      const wallet = Keypair.generate();
      const file = daoMandate(wallet.publicKey.toBase58());
      delete process.env.GK_DAO_TREASURY_KEY;
      const unchecked = await runCli(["config", "check", file]);
      assert.equal(unchecked.code, 0, unchecked.err);
      assert.match(unchecked.out, new RegExp(`valid mandate file for mandate dao-treasury, wallet ${wallet.publicKey.toBase58()}`));
      assert.match(unchecked.out, /key not checked here: GK_DAO_TREASURY_KEY is not set/);
      assert.match(unchecked.out, /hedgeRatio: 0\.8/);

      process.env.GK_DAO_TREASURY_KEY = bs58.encode(wallet.secretKey);
      const checked = await runCli(["config", "check", file]);
      assert.equal(checked.code, 0, checked.err);
      assert.match(checked.out, new RegExp(`mandate dao-treasury: signer ${wallet.publicKey.toBase58()} matches the wallet`));
      assert.ok(!checked.out.includes(process.env.GK_DAO_TREASURY_KEY), "the secret key printed");

      process.env.GK_DAO_TREASURY_KEY = bs58.encode(Keypair.generate().secretKey);
      const wrong = await runCli(["config", "check", file]);
      assert.equal(wrong.code, 2);
      assert.match(wrong.err, /not a valid mandate file: mandate dao-treasury: environment variable GK_DAO_TREASURY_KEY holds the key of .*mandate's wallet is/);
    });

    it("--set applies to the mandate; its rules and all its problems are reported at once", async () => {
      const file = daoMandate(Keypair.generate().publicKey.toBase58(), "dao-bad.yaml");
      const r = await runCli(["config", "check", file, "--set", "targetLeverage=9", "--set", "trade.minTradeUsd=1e6", "--set", "hedgeRatio=7"]);
      assert.equal(r.code, 2, r.out);
      assert.match(r.err, /hedgeRatio: /);
      const rules = await runCli(["config", "check", file, "--set", "targetLeverage=9", "--set", "trade.minTradeUsd=1e6"]);
      assert.match(rules.err, /^ {2}trade\.minTradeUsd: 1000000 is above maxTradeUsd 100000; fix: /m);
      assert.match(rules.err, /^ {2}targetLeverage: 9 is above limits\.maxLeverage 3; fix: /m);
    });

    it("the JLP holding's band: zakamouline (no flow band) and a flow vol for a market not hedged are refused, with the fix", async () => {
      const file = daoMandate(Keypair.generate().publicKey.toBase58(), "dao-jlp.yaml");
      const zak = await runCli(["config", "check", file, "--set", "policy.kind=zakamouline"]);
      assert.equal(zak.code, 2, zak.out);
      assert.match(zak.err, /dao-jlp\.yaml is not a valid mandate file: policy: mandate dao-treasury hedges a JLP holding's SOL delta under zakamouline with no SOL options; .*deltaVolTokens does not widen it.*; fix: choose policy whalley-wilmott with exposures\.jlp\.deltaVolTokens\.SOL/);
      const eth = await runCli(["config", "check", file, "--set", "exposures.jlp.deltaVolTokens.ETH=3"]);
      assert.equal(eth.code, 2, eth.out);
      assert.match(eth.err, /not a valid mandate file: exposures\.jlp\.deltaVolTokens\.ETH: ETH is not in markets, so this flow vol sizes no band; fix: add ETH to markets or remove the flow vol$/m);
    });

    it("a stray rpc: in a mandate file is an unknown key of the mandate, not a config missing its mandates", async () => {
      const file = daoMandate(Keypair.generate().publicKey.toBase58(), "dao-rpc.yaml");
      fs.appendFileSync(file, "rpc: { url: https://rpc.example.com }\n");
      const r = await runCli(["config", "check", file]);
      assert.equal(r.code, 2, r.out);
      assert.match(r.err, /dao-rpc\.yaml is not a valid mandate file: \(top level\): Unrecognized key\(s\) in object: 'rpc'; fix: remove rpc /);
      assert.equal(r.err.split("\n").length, 1, `only the stray key:\n${r.err}`);
      assert.doesNotMatch(r.err, /Required|'(name|wallet|markets|limits)'/);
    });

    it("--mandate checks a file as a mandate even when it does not look like one; run --config on a mandate file says what it is", async () => {
      const file = s.write("odd.yaml", { markets: ["SOL"] });
      const r = await runCli(["config", "check", "--mandate", file]);
      assert.equal(r.code, 2);
      assert.match(r.err, /odd\.yaml is not a valid mandate file:/);
      assert.match(r.err, /name: Required/);
      const dao = daoMandate(Keypair.generate().publicKey.toBase58(), "dao-run.yaml");
      assert.throws(() => loadConfigFile(dao), /holds one mandate, not a keeper config; fix: list it under mandateFiles .*config check .*dao-run\.yaml/);
    });
  });

  it("a config's problems, its mandate files' and its keys', all in one pass", async () => {
    const c = s.config("one-pass");
    c.rpc.timeoutMs = "soon"; // the config's own schema fails
    c.mandateFiles = ["./missing-mandate.yaml", "./broken-mandate.yaml", "./incomplete-mandate.yaml"];
    s.write("broken-mandate.yaml", "name: [unclosed\n");
    s.write("incomplete-mandate.yaml", { name: "dao", wallet: s.wallet.publicKey.toBase58(), keypairEnv: "GK_DAO_KEY", markets: ["SOL"] });
    const r = await runCli(["config", "check", s.write("one-pass.yaml", c)]);
    assert.equal(r.code, 2);
    const problems = r.err.split("\n").slice(1);
    const expect = [/rpc\.timeoutMs: /, /mandate file .*missing-mandate\.yaml: cannot read the file \(ENOENT\)/, /mandate file .*broken-mandate\.yaml: not valid YAML/, /mandate file .*incomplete-mandate\.yaml: limits: Required/];
    for (const re of expect) assert.ok(problems.some((p) => re.test(p)), `${re} among:\n${r.err}`);

    // A valid config: a mandate file's problem and another mandate's key problem, together.
    const k = s.config("keys");
    k.mandates[0].keypairFile = "./no-such-key.json";
    k.mandateFiles = ["./incomplete-mandate.yaml"];
    const both = await runCli(["config", "check", s.write("keys.yaml", k)]);
    assert.match(both.err, /incomplete-mandate\.yaml: limits: Required/);
    assert.match(both.err, /mandate m1: cannot read keypair file .*no-such-key\.json: ENOENT/);
  });

  describe("--environment-file", () => {
    const KEY_VAR = "GK_ENVFILE_TEST_KEY";
    function envConfig(): string {
      const c = s.config("env");
      delete c.mandates[0].keypairFile;
      c.mandates[0].keypairEnv = KEY_VAR;
      return s.write("env.yaml", c);
    }

    it("root checks a keypairEnv mandate with the service's environment file; no value is printed", async () => {
      const file = envConfig();
      delete process.env[KEY_VAR];
      const without = await runCli(["config", "check", file]);
      assert.equal(without.code, 2);
      assert.match(without.err, new RegExp(`${KEY_VAR} is empty or unset`));

      const secret = bs58.encode(s.wallet.secretKey);
      const env = s.write("env", `# /etc/gamma-keeper/env\n\n; a comment\nGAMMA_KEEPER__rpc__url="https://rpc.example.com/?api-key=ENV-FILE-SECRET"\n${KEY_VAR}='${secret}'\n`);
      const r = await runCli(["config", "check", file, "--environment-file", env]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, new RegExp(`signer ${s.wallet.publicKey.toBase58()} matches the wallet`));
      assert.match(r.out, /url: https:\/\/rpc\.example\.com\/\*\*\*/, "the env file's GAMMA_KEEPER__ override applied");
      for (const v of [secret, "ENV-FILE-SECRET"]) assert.ok(!r.out.includes(v) && !r.err.includes(v), "a value printed");
    });

    it("plan, status, preflight and report read it too; a missing or malformed file is exit 2 naming the line, never a value", async () => {
      const file = envConfig();
      const missing = s.dir + "/no-env";
      for (const argv of [
        ["plan", "--config", file],
        ["status", "--config", file],
        ["preflight", "--config", file],
        ["report", "--config", file, "--mandate", "m1"],
      ]) {
        const r = await runCli([...argv, "--environment-file", missing]);
        assert.equal(r.code, 2, `${argv[0]}: ${r.err}`);
        assert.match(r.err, /cannot read --environment-file .*no-env \(ENOENT\); fix: check the path/);
      }
      const bad = s.write("bad-env", `OK=1\nGK_KEY="SECRET-VALUE-1\n`);
      const r = await runCli(["config", "check", file, "--environment-file", bad]);
      assert.equal(r.code, 2);
      assert.match(r.err, /bad-env line 2: the value's quote is never closed/);
      assert.ok(!r.err.includes("SECRET-VALUE-1"));
    });

    // In a real `node` process, not in-process: Node 20 acts on its own --env-file even after the script's name
    // (nodejs/node#54232) and exits 9 with `node: FILE: not found` before the tool runs, so the flag cannot be that.
    it("a real node child gets the tool's own message and exit 2 for a missing and an unreadable file", function () {
      const cli = path.join(__dirname, "../../keeper/cli/main.ts");
      const unreadable = s.write("unreadable-env", "A=1\n");
      fs.chmodSync(unreadable, 0o000);
      const cases: [string, RegExp][] = [[s.dir + "/no-such-env", /cannot read --environment-file .*no-such-env \(ENOENT\); fix: check the path/]];
      if (process.getuid?.() !== 0) cases.push([unreadable, /cannot read --environment-file .*unreadable-env \(EACCES\); fix: run the check as root/]);
      for (const [file, want] of cases) {
        const p = spawnSync(process.execPath, ["--import", "tsx", cli, "config", "check", envConfig(), "--environment-file", file], { encoding: "utf8", timeout: 60_000, killSignal: "SIGKILL" });
        assert.equal(p.status, 2, p.stderr);
        assert.match(p.stderr, want);
        assert.doesNotMatch(p.stderr, /^node:/m, "Node itself acted on the flag");
      }
    });

    it("an env file root alone can read is refused with the fix, for the service user", async function () {
      if (process.getuid?.() === 0) this.skip(); // root reads a mode-0000 file: nothing to show
      const env = s.write("root-only-env", "A=1\n");
      fs.chmodSync(env, 0o000);
      const r = await runCli(["config", "check", envConfig(), "--environment-file", env]);
      assert.equal(r.code, 2);
      assert.match(r.err, /\(EACCES\); fix: run the check as root/);
    });
  });
});

describe("parseEnvFile: systemd EnvironmentFile syntax", () => {
  const cases: [string, string, Record<string, string>][] = [
    ["comments and blank lines", "# c\n; c\n\n  \nA=1\n", { A: "1" }],
    ["whitespace around unquoted values trimmed, inner kept", "A =  x y  \n", { A: "x y" }],
    ["double quotes keep spaces and a # ", 'A=" x # y "\n', { A: " x # y " }],
    ["double quotes unescape \\\" \\\\ \\$ and keep other backslashes", 'A="a\\"b\\\\c\\$d\\n"\n', { A: 'a"b\\c$d\\n' }],
    ["single quotes are literal", "A='a\\\"b $c'\n", { A: 'a\\"b $c' }],
    ["an = in the value", "URL=https://h/?api-key=abc=\n", { URL: "https://h/?api-key=abc=" }],
    ["a trailing backslash joins lines", "A=abc\\\ndef\nB=2\n", { A: "abcdef", B: "2" }],
    ["CRLF line ends", "A=1\r\nB=2\r\n", { A: "1", B: "2" }],
    ["a later line wins", "A=1\nA=2\n", { A: "2" }],
    ["an empty value", "A=\n", { A: "" }],
  ];
  for (const [name, text, want] of cases) it(name, () => assert.deepEqual(parseEnvFile(text, "env"), want));

  const refused: [string, string, RegExp][] = [
    ["a line without =", "A=1\nSECRETVALUE\n", /^env line 2 is not KEY=VALUE/],
    ["a bad name", "1A=SECRETVALUE\n", /^env line 1: the text before the first = is not a variable name/],
    // The = missing after the name, one later in the URL's query: the text before it is the name and the secret.
    ["a name and a URL without the =", "OK=1\nGAMMA_KEEPER__rpc__url https://x.quiknode.pro/SECRETVALUE/?a=b\n", /^env line 2: the text before the first = is not a variable name; fix: write NAME=VALUE/],
    ["a bad name that is a secret", "SECRETVALUE-1=x\n", /^env line 1: the text before the first = is not a variable name/],
    ["an unclosed quote", "A='SECRETVALUE\n", /^env line 1: the value's quote is never closed/],
    ["text after the quote", 'A="x"SECRETVALUE\n', /^env line 1: text after the closing quote/],
  ];
  for (const [name, text, re] of refused) {
    it(`refused: ${name}, without the value`, () =>
      assert.throws(
        () => parseEnvFile(text, "env"),
        (e: Error) => re.test(e.message) && !e.message.includes("SECRETVALUE"),
      ));
  }
});
