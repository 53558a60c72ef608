import { strict as assert } from "node:assert";
import { type ChildProcess, execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { once } from "node:events";
import { type AddressInfo, createServer } from "node:net";
import path from "node:path";
import { Keypair, PublicKey } from "@solana/web3.js";
import { PROGRAM_IDS } from "../../programs-client";
import { encodeTokenAccount } from "../../programs-client/spl-token";
import { buildReport } from "../../keeper/app/report";
import { type JournalRecord, restoreState } from "../../keeper/mandate/records";
import { Journal } from "../../keeper/ops/journal";
import { startLocalWorld } from "../../localnet/world";
import { ConfigScratch, runCli, STACK_LINE, type CliRun } from "../helpers/cli-config";
import { sleep, spawnCli, until } from "../helpers/wait";

/**
 * Issue 14, "Bad input never trades, never crashes": each case was found by trying the CLI as a hostile user
 * would. Each must end with exit 2 (1 where the world failed: an unreachable RPC) and one line on stderr that
 * names the field and the fix, never a stack trace.
 */

const s = new ConfigScratch();
const CLI = path.resolve(__dirname, "../../keeper/cli/main.ts");

function refused(r: CliRun, reason: RegExp, code = 2) {
  assert.equal(r.code, code, `exit ${r.code}; stderr: ${r.err}; stdout: ${r.out.slice(0, 500)}`);
  assert.doesNotMatch(r.err, STACK_LINE, r.err);
  assert.equal(r.err.split("\n").length, 1, `more than one line on stderr:\n${r.err}`);
  assert.match(r.err, reason);
}

/** A config with `edit` applied, written as YAML (non-finite numbers as .inf/.nan). */
function cfg(name: string, edit: (c: any) => void): string {
  const c = s.config(name);
  edit(c);
  return s.write(`${name}.yaml`, c);
}

const m0 = "mandates\\.0";

describe("bad input never trades, never crashes (issue 14)", function () {
  this.timeout(30_000);

  describe("config check: every number finite and in range, cross-field rules", () => {
    const cases: [string, (c: any) => void, RegExp][] = [
      [".inf", (c) => (c.mandates[0].limits.maxNotionalUsd = Infinity), new RegExp(`${m0}\\.limits\\.maxNotionalUsd: .*not a finite number.*fix: `)],
      [".nan", (c) => (c.mandates[0].policy = { kind: "whalley-wilmott", riskAversion: NaN }), new RegExp(`${m0}\\.policy\\.riskAversion: .*fix: `)],
      ["an option expiry of next tuesday", (c) => (c.mandates[0].exposures.options[0].expiry = "next tuesday"), new RegExp(`${m0}\\.exposures\\.options\\.0\\.expiry: .*next tuesday.*fix: `)],
      ["an option expiry of unix seconds out of range", (c) => (c.mandates[0].exposures.options[0].expiry = 1e20), new RegExp(`${m0}\\.exposures\\.options\\.0\\.expiry: .*fix: `)],
      ["an infinite target delta", (c) => (c.mandates[0].targetNetDelta = { SOL: Infinity }), new RegExp(`${m0}\\.targetNetDelta\\.SOL: .*fix: `)],
      ["an infinite offset", (c) => (c.mandates[0].exposures.offsets = { SOL: -Infinity }), new RegExp(`${m0}\\.exposures\\.offsets\\.SOL: .*fix: `)],
      ["minTradeUsd above maxTradeUsd", (c) => (c.mandates[0].trade = { minTradeUsd: 5000, maxTradeUsd: 100 }), new RegExp(`${m0}\\.trade\\.minTradeUsd: 5000 is above maxTradeUsd 100; fix: `)],
      ["targetLeverage above limits.maxLeverage", (c) => (c.mandates[0].targetLeverage = 20), new RegExp(`${m0}\\.targetLeverage: 20 is above limits\\.maxLeverage 5; fix: `)],
      ["a target delta beyond the market's net delta limit", (c) => (c.mandates[0].targetNetDelta = { SOL: -500 }), new RegExp(`${m0}\\.targetNetDelta\\.SOL: .*maxNetDeltaTokens\\.SOL 100; fix: `)],
      ["a priority fee floor above its cap", (c) => (c.execution.priorityFee = { floorMicroLamports: 5e6, capMicroLamports: 1e6 }), /execution\.priorityFee\.floorMicroLamports: .*capMicroLamports.*; fix: /],
      ["a huge quantity", (c) => (c.mandates[0].exposures.options[0].quantity = 1e300), new RegExp(`${m0}\\.exposures\\.options\\.0\\.quantity: .*fix: `)],
    ];
    for (const [name, edit, reason] of cases) {
      it(name, async () => refused(await runCli(["config", "check", cfg(name.replace(/\W+/g, "-"), edit)]), reason));
    }

    it("1e400 in a JSON config", async () => {
      const text = JSON.stringify(s.config("json")).replace('"maxTradeUsd":1000', '"maxTradeUsd":1e400');
      refused(await runCli(["config", "check", s.write("big.json", text)]), new RegExp(`${m0}\\.trade\\.maxTradeUsd: .*not a finite number.*fix: `));
    });

    it("plan with an infinite offset is refused before it sizes anything", async () => {
      const file = cfg("plan-inf-offset", (c) => (c.mandates[0].exposures.offsets = { SOL: Infinity }));
      const r = await runCli(["plan", "--config", file]);
      refused(r, /offsets\.SOL/);
      assert.doesNotMatch(r.out, /trade/);
    });
  });

  describe("--set and environment overrides never touch Object.prototype", () => {
    for (const pair of ["__proto__.polluted=1", "constructor.prototype.polluted=1", "mandates.0.__proto__.polluted=1", "prototype.polluted=1"]) {
      it(`--set ${pair}`, async () => {
        const r = await runCli(["config", "check", cfg("proto", () => {}), "--set", pair]);
        assert.equal(({} as Record<string, unknown>).polluted, undefined, "Object.prototype was written");
        refused(r, /--set .*(__proto__|constructor|prototype).*fix: /);
      });
    }
    it("GAMMA_KEEPER__constructor__prototype__polluted", async () => {
      process.env.GAMMA_KEEPER__constructor__prototype__polluted = "1";
      try {
        const r = await runCli(["config", "check", cfg("proto-env", () => {})]);
        assert.equal(({} as Record<string, unknown>).polluted, undefined, "Object.prototype was written");
        refused(r, /GAMMA_KEEPER__constructor__prototype__polluted.*fix: /);
      } finally {
        delete process.env.GAMMA_KEEPER__constructor__prototype__polluted;
      }
    });
  });

  describe("run: every flag is checked before anything starts", () => {
    for (const duration of ["abc", "-5", "0", "Infinity", "1e400"]) {
      it(`--duration ${duration}`, async () => {
        const tag = `duration-${duration.replace(/\W/g, "_")}`;
        const r = await runCli(["run", "--config", cfg(tag, () => {}), `--duration=${duration}`]);
        refused(r, /--duration .*seconds/);
        assert.equal(existsSync(s.stateDir(tag)), false, "the keeper started (its state directory was created)");
      });
    }
    it("--log xml without --config does not start the embedded localnet", async () => {
      const r = await runCli(["run", "--log", "xml"]);
      refused(r, /--log must be auto, json or pretty/);
      assert.doesNotMatch(r.out, /localnet/);
    });
    it("--duration abc without --config does not start the embedded localnet", async () => {
      const r = await runCli(["run", "--duration", "abc"]);
      refused(r, /--duration/);
      assert.doesNotMatch(r.out, /localnet/);
    });
  });

  describe("inspect: anything a file can hold is a one-line answer", () => {
    const mint = Buffer.alloc(82);
    mint.writeUInt32LE(1, 0);
    Keypair.generate().publicKey.toBuffer().copy(mint, 4);
    mint.writeBigUInt64LE(1_000_000n, 36);
    mint[44] = 6;
    mint[45] = 1;
    const dump = (data: Buffer, owner = PROGRAM_IDS.token) =>
      JSON.stringify({ pubkey: Keypair.generate().publicKey.toBase58(), account: { lamports: 1, owner: owner.toBase58(), data: [data.toString("base64"), "base64"] } });
    const tokenAccount = encodeTokenAccount({
      mint: Keypair.generate().publicKey,
      owner: Keypair.generate().publicKey,
      amount: 5n,
      delegate: null,
      state: "initialized",
      isNative: null,
      delegatedAmount: 0n,
      closeAuthority: null,
    });
    const random = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 2654435761) % 256));

    it("JSON null", async () => refused(await runCli(["inspect", s.write("null.json", "null")]), /null.json: expected \{"pubkey"/));
    it("JSON arrays, numbers and strings", async () => {
      for (const doc of ["[]", "42", '"x"', '{"account": null}', '{"account": {"data": null}}']) refused(await runCli(["inspect", s.write("doc.json", doc)]), /doc.json: expected/);
    });
    it("a UTF-8 BOM before a mint dump decodes it", async () => {
      const r = await runCli(["inspect", s.write("bom.json", `\uFEFF${dump(mint)}`)]);
      assert.equal(r.code, 0, r.err);
      assert.equal(JSON.parse(r.out).kind, "Mint");
    });
    it("random bytes", async () => refused(await runCli(["inspect", s.write("random.bin", random)]), /random.bin: not readable JSON/));
    it("random bytes named .json", async () => refused(await runCli(["inspect", s.write("random.json", random)]), /random.json: not readable JSON/));
    it("a directory", async () => refused(await runCli(["inspect", s.dir]), /is a directory/));
    it("a FIFO is refused without opening it", async () => {
      const fifo = path.join(s.dir, "dump.fifo");
      execFileSync("mkfifo", [fifo]);
      refused(await runCli(["inspect", fifo]), /dump.fifo is not a regular file/);
    });
    it("an 82-byte token account (a token account cut to a mint's size) is not printed as a Mint", async () => {
      refused(await runCli(["inspect", s.write("token82.json", dump(tokenAccount.subarray(0, 82)))]), /mint.*(option|flag)/i);
    });
    it("a token account of 165 bytes decodes as one", async () => {
      const r = await runCli(["inspect", s.write("token165.json", dump(tokenAccount))]);
      assert.equal(r.code, 0, r.err);
      assert.equal(JSON.parse(r.out).kind, "TokenAccount");
    });
    it("an SPL Token account of another size is neither", async () => {
      refused(await runCli(["inspect", s.write("token100.json", dump(Buffer.alloc(100)))]), /100 bytes.*neither a mint \(82\) nor a token account \(165\)/);
    });
  });

  describe("key files", () => {
    function keyConfig(tag: string, keyFile: string, wallet: PublicKey = s.wallet.publicKey) {
      return cfg(tag, (c) => {
        c.mandates[0].keypairFile = keyFile;
        c.mandates[0].wallet = wallet.toBase58();
      });
    }
    it("a key file whose public half does not match its secret", async () => {
      const bytes = [...s.wallet.secretKey.subarray(0, 32), ...Keypair.generate().publicKey.toBytes()];
      const file = s.write("mismatch.json", JSON.stringify(bytes));
      execFileSync("chmod", ["600", file]);
      refused(await runCli(["config", "check", keyConfig("mismatch", file)]), /mismatch.json.*public half.*does not match.*fix: /);
    });
    it("a directory as key file", async () => {
      const dir = path.join(s.dir, "key-dir");
      mkdirSync(dir, { mode: 0o700 });
      refused(await runCli(["config", "check", keyConfig("key-dir", dir)]), /key-dir is not a regular file.*fix: /);
    });
    it("a FIFO as config file is refused without opening it", async () => {
      const fifo = path.join(s.dir, "config.fifo");
      execFileSync("mkfifo", [fifo]);
      refused(await runCli(["config", "check", fifo]), /config.fifo is not a valid keeper config: not a regular file; fix: /);
    });
    it("a FIFO as key file is refused without opening it (as a process: a blocked read would hang it)", () => {
      const fifo = path.join(s.dir, "key.fifo");
      execFileSync("mkfifo", ["-m", "600", fifo]);
      const p = spawnSync(process.execPath, ["--require", "tsx/cjs", CLI, "config", "check", keyConfig("fifo", fifo)], { encoding: "utf8", timeout: 15_000, killSignal: "SIGKILL" });
      assert.equal(p.signal, null, "config check hung on the FIFO");
      refused({ code: p.status ?? -1, out: p.stdout, err: p.stderr.trim() }, /key.fifo is not a regular file.*fix: /);
    });
  });

  describe("report, plan and status", () => {
    it("report --csv into a missing folder", async () => {
      const file = cfg("csv", () => {});
      mkdirSync(s.stateDir("csv"));
      writeFileSync(path.join(s.stateDir("csv"), "journal.log"), "");
      refused(await runCli(["report", "--config", file, "--mandate", "m1", "--csv", path.join(s.dir, "no-such-folder", "r.csv")]), /--csv: .*no-such-folder does not exist; fix: /);
    });
    for (const command of ["plan", "status"]) {
      it(`${command} with no reachable RPC: exit 1 (the world failed), one line naming the endpoint without its key`, async () => {
        const r = await runCli([command, "--config", cfg(`${command}-rpc`, () => {})]);
        refused(r, /http:\/\/127\.0\.0\.1:9\/\*\*\*/, 1);
        assert.doesNotMatch(r.err, /SECRETKEY123/);
      });
    }
  });

  describe("files a config names are checked by config check (and by plan before it reads the chain)", () => {
    it("a missing options-book file", async () => {
      refused(await runCli(["config", "check", cfg("book-missing", (c) => (c.mandates[0].exposures.optionsFile = "./no-book.csv"))]), new RegExp(`${m0}\\.exposures\\.optionsFile: .*no-book.csv.*fix: `));
    });
    it('an options book with strike: "abc"', async () => {
      s.write("bad-book.json", JSON.stringify([{ underlying: "SOL", kind: "call", strike: "abc", expiry: "2030-01-01", quantity: 1, impliedVol: 0.5 }]));
      const file = cfg("book-bad", (c) => (c.mandates[0].exposures.optionsFile = "./bad-book.json"));
      refused(await runCli(["config", "check", file]), /bad-book.json leg 0: strike "abc" must be a positive number/);
      refused(await runCli(["plan", "--config", file]), /strike "abc"/);
    });
  });

  describe("a mandate that cannot load is exit 2 at start, before anything runs", () => {
    const twoMandates = (tag: string) =>
      cfg(tag, (c) => {
        c.mandates[0].exposures.optionsFile = "./book.csv";
        c.mandates.push({ ...structuredClone(c.mandates[0]), name: "m2", keypairFile: undefined, keypairEnv: "GK_UNSET_FOR_TEST_KEY" });
        delete c.mandates[1].keypairFile;
      });
    before(() => s.write("book.csv", "underlying,kind,strike,expiry,quantity,impliedVol\nSOL,put,140,2030-01-01,5,0.7\n"));

    for (const command of ["run", "plan", "status"]) {
      it(`${command}: exit 2 naming the mandate and the variable, nothing started`, async () => {
        const tag = `two-${command}`;
        const r = await runCli([command, "--config", twoMandates(tag)]);
        refused(r, /mandates\.m2: environment variable GK_UNSET_FOR_TEST_KEY is empty or unset; set it/);
        assert.equal(existsSync(s.stateDir(tag)), false, "the keeper started (its state directory was created)");
      });
    }
    it("run on an unreachable RPC stops on the first SIGTERM and exits 0", async () => {
      const children: ChildProcess[] = [];
      const { child, lines, exited } = spawnCli(["run", "--config", cfg("sigterm", () => {}), "--log", "json"], children);
      try {
        await until("the keeper's start line", 15_000, () => lines.some((l) => l.includes('"event":"start"')));
        child.kill("SIGTERM");
        const code = await Promise.race([exited, sleep(10_000).then(() => "still running 10 s after SIGTERM")]);
        assert.equal(code, 0, lines.join("\n"));
      } finally {
        for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
      }
    });
    it("run as a process exits 2 by itself (it stayed alive, ignoring SIGTERM)", () => {
      const p = spawnSync(process.execPath, ["--require", "tsx/cjs", CLI, "run", "--config", twoMandates("two-process")], { encoding: "utf8", timeout: 15_000, killSignal: "SIGKILL" });
      assert.equal(p.signal, null, "run hung for 15 s");
      refused({ code: p.status ?? -1, out: p.stdout, err: p.stderr.trim() }, /GK_UNSET_FOR_TEST_KEY/);
    });
  });

  describe("the journal", () => {
    const writeJournal = (tag: string, edit: (lines: string[]) => string[]) => {
      const file = path.join(s.stateDir(tag), "journal.log");
      const j = new Journal<object>(file);
      j.open();
      for (let i = 0; i < 3; i++) j.append({ t: "landed", id: `r${i}`, slot: i });
      j.close();
      const { readFileSync } = require("node:fs") as typeof import("node:fs");
      writeFileSync(file, edit(readFileSync(file, "utf8").split("\n")).join("\n"));
      return cfg(tag, () => {});
    };
    const nullRecord = "74234e98 null";
    it("the checksum of null is what the journal would write", () => {
      assert.equal(require("node:crypto").createHash("sha256").update("null").digest("hex").slice(0, 8), nullRecord.slice(0, 8));
    });
    const journals: [string, (lines: string[]) => string[], RegExp][] = [
      ["a corrupt middle line", (l) => [l[0]!, "deadbeef {\"t\":", ...l.slice(1)], /journal\.log line 2 is corrupt.*move it aside/],
      ["a checksummed null record", (l) => [l[0]!, nullRecord, ...l.slice(1)], /journal\.log line 2 .*not a journal record.*move it aside/],
      ["a checksummed null as the last record", (l) => [...l.slice(0, -1), nullRecord, ""], /journal\.log line 4 .*not a journal record/],
    ];
    for (const [name, edit, reason] of journals) {
      it(`report: ${name}`, async () => refused(await runCli(["report", "--config", writeJournal(`j-report-${name.replace(/\W+/g, "-")}`, edit), "--mandate", "m1"]), reason));
      it(`plan: ${name}`, async () => refused(await runCli(["plan", "--config", writeJournal(`j-plan-${name.replace(/\W+/g, "-")}`, edit)]), reason));
    }

    it("a duplicated outcome record is counted once, in the report and in the restored state", () => {
      const intent: JournalRecord = {
        t: "intent",
        id: "a",
        mandate: "m1",
        market: "SOL",
        counter: "1",
        order: { kind: "increase", side: "short", sizeUsdDelta6: 1_000_000_000n, deltaTokens: -5, collateralUsd6: 300_000_000n } as never,
        request: "req",
        position: "pos",
        sizeBeforeUsd6: "0",
        createdSec: 1_800_000_000,
        estimatedFeeUsd6: "600000",
      };
      const outcome: JournalRecord = { t: "outcome", id: "a", result: "filled", detail: "", atSec: 1_800_000_010, feeUsd6: "600000" };
      const records = [intent, outcome, outcome];
      const report = buildReport(records, [], "m1", 0);
      assert.equal(report.trades.length, 1);
      assert.equal(report.markets[0]!.fills, 1);
      assert.equal(report.markets[0]!.feesUsd, 0.6);
      const state = restoreState(records, "m1");
      assert.deepEqual([...state.feesByDayUsd6.values()], [600_000n]);
      assert.equal(state.tradeTimesSec.length, 1);
    });
  });

  describe("found by tests/cli/fuzz.test.ts", () => {
    const b1 = path.resolve(__dirname, "../../config/scenarios/b1-discretisation.yaml");
    const tiny = ["--paths", "2", "--days", "0.05", "--workers", "1", "--quiet"];
    it("report --csv naming a folder", async () => {
      const file = cfg("csv-dir", () => {});
      mkdirSync(s.stateDir("csv-dir"));
      writeFileSync(path.join(s.stateDir("csv-dir"), "journal.log"), "");
      refused(await runCli(["report", "--config", file, "--mandate", "m1", "--csv", s.dir]), /--csv: .* exists and is not a regular file; fix: /);
    });
    it("backtest --replay of a file that is not timestamp,price rows", async () => {
      refused(await runCli(["backtest", b1, ...tiny, "--out", path.join(s.dir, "bt"), "--replay", b1]), /line \d+: expected "timestamp,price"/);
    });
    it("backtest --hedge-ratio -6.8e232 --sweep (it grew an array until V8 aborted)", async () => {
      refused(await runCli(["backtest", b1, ...tiny, "--out", path.join(s.dir, "bt"), "--hedge-ratio", "-6.833647576241252e+232", "--sweep"]), /--hedge-ratio .* is out of range; fix: /);
    });
    it("backtest --out naming a file, refused before the run", async () => {
      refused(await runCli(["backtest", b1, ...tiny, "--out", b1]), /--out .* is not a folder; fix: /);
    });
    it("localnet stopped right after it started lets the process exit (the fill keeper's WebSocket reconnected forever)", () => {
      const script = `require(${JSON.stringify(CLI)}).main(["localnet", "--port", "0"], () => {}, (s) => console.error(s), () => Promise.resolve()).then((c) => (process.exitCode = c))`;
      const p = spawnSync(process.execPath, ["--require", "tsx/cjs", "-e", script], { encoding: "utf8", timeout: 15_000, killSignal: "SIGKILL" });
      assert.equal(p.signal, null, `still running after 15 s: ${p.stderr.slice(0, 300)}`);
      assert.equal(p.status, 0, p.stderr);
      assert.equal(p.stderr, "");
    });
    it("localnet --port that is in use", async () => {
      const server = createServer().listen(0, "127.0.0.1");
      await once(server, "listening");
      try {
        const port = String((server.address() as AddressInfo).port);
        refused(await runCli(["localnet", "--port", port], () => Promise.resolve()), new RegExp(`--port ${port} is in use \\(EADDRINUSE\\); fix: `));
      } finally {
        server.close();
      }
    });
    it("run --set without --config (the demo ignored it)", async () => {
      const r = await runCli(["run", "--set", "dryRun=false"]);
      refused(r, /--set needs --config/);
      assert.doesNotMatch(r.out, /localnet/);
    });
    it("localnet --price-interval-ms beyond Node's timers (it became a 1 ms loop)", async () => {
      refused(await runCli(["localnet", "--port", "0", "--price-interval-ms", "1e300"]), /--price-interval-ms must be milliseconds from 10 to 2147483647/);
    });
  });

  describe("the in-process localnet's fill emulator", () => {
    it("logs an 'error' event and keeps running", async () => {
      const seen: string[] = [];
      const world = await startLocalWorld({ port: 0, fillKeeper: { delayMs: 100 }, onFillKeeperError: (e) => seen.push(e.message) });
      try {
        assert.doesNotThrow(() => world.fills!.emit("error", new Error("RPC fault injected")));
        assert.deepEqual(seen, ["RPC fault injected"]);
        assert.ok((await world.connection.getSlot()) >= 0);
      } finally {
        await world.close();
      }
    });
  });
});

describe("the environment fails under the CLI: one line and the usual exit, never a stack (issue 16)", function () {
  this.timeout(60_000);

  it("run's demo with a TMPDIR that does not exist: exit 2 naming it and the fix", async () => {
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = path.join(s.dir, "no-such-tmp");
    try {
      refused(await runCli(["run"]), /cannot create the demo's state directory in .*no-such-tmp \(ENOENT\); fix: point TMPDIR at a writable directory, or run with --config/);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  });

  // A real pipeline: `head -n 2` exits after two lines, the keeper's next write (at the latest its summary) meets
  // EPIPE. It was an unhandled 'error' with a stack and exit 1; now the keeper stops as on SIGTERM, exit 0.
  it("run piped into a reader that closes early ends quietly with exit 0", function () {
    const script = 'set -o pipefail; "$0" --import tsx "$1" run --config "$2" --duration 3 --log json 2>"$3" | head -n 2 >/dev/null';
    const errFile = path.join(s.dir, "epipe-stderr");
    const p = spawnSync("bash", ["-c", script, process.execPath, CLI, cfg("epipe", () => {}), errFile], { encoding: "utf8", timeout: 30_000, killSignal: "SIGKILL" });
    const stderr = existsSync(errFile) ? readFileSync(errFile, "utf8") : "";
    assert.equal(p.signal, null, "the pipeline hung");
    assert.equal(p.status, 0, stderr);
    assert.equal(stderr, "");
  });
});
