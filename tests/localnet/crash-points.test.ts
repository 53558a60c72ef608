import { strict as assert } from "node:assert";
import type { ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROGRAM_IDS, accountDiscriminator } from "../../programs-client";
import type { JournalRecord } from "../../keeper/mandate/records";
import { type LocalDemo, startLocalDemo } from "../../keeper/app/local-demo";
import { Journal } from "../../keeper/ops/journal";
import { seededUniform } from "../../keeper/lib/random";
import { DEMO_MANDATE } from "../../keeper/app/local-demo";
import { main } from "../../keeper/cli/main";
import { sleep, spawnCli, until } from "../helpers/wait";

const KILLS = 20;
const SEED = 20261121;

describe(`keeper killed with SIGKILL at ${KILLS} seeded points of a localnet run`, function () {
  this.timeout(600_000);
  const children: ChildProcess[] = [];
  let demo: LocalDemo | undefined;
  let stateDir: string;
  let sampler: NodeJS.Timeout | undefined;
  after(async () => {
    clearInterval(sampler);
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await demo?.close();
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const runCli = (configFile: string) => spawnCli(["run", "--config", configFile, "--log", "json"], children);

  it("never loses a journal record before the last, and never has two requests open for one market", async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "gk-kill-"));
    demo = await startLocalDemo({ stateDir, scenario: { kind: "gbm", startUsd: 150, volAnnual: 1.5, seed: 11 }, priceSpeed: 900, fillKeeper: { delayMs: 400 } });
    const keyFile = path.join(stateDir, "wallet.json");
    fs.writeFileSync(keyFile, JSON.stringify(Array.from(demo.wallet.secretKey)), { mode: 0o600 });
    const cfg = demo.cfg;
    const m = cfg.mandates[0]!;
    m.keypairFile = keyFile;
    m.exposures.offsets = { SOL: 40 };
    m.trade.cooldownSec = 0;
    const configFile = path.join(stateDir, "config.json");
    fs.writeFileSync(configFile, JSON.stringify(cfg));
    const journal = new Journal<JournalRecord>(path.join(cfg.stateDir, "journal.log"));

    // Watch the chain itself: every PositionRequest that ever exists, and the most open at once.
    const chain = demo.world.chain;
    const seen = new Set<string>();
    let maxOpen = 0;
    const disc = accountDiscriminator("PositionRequest");
    sampler = setInterval(() => {
      const open = chain.programAccounts(PROGRAM_IDS.perpetuals, [{ memcmp: { offset: 0, bytes: disc } }]);
      for (const a of open) seen.add(a.pubkey.toBase58());
      maxOpen = Math.max(maxOpen, open.length);
    }, 20);

    const random = seededUniform(SEED);
    let before: JournalRecord[] = [];
    const killPoints: number[] = [];
    let resumedRuns = 0;
    for (let i = 0; i < KILLS; i++) {
      const run = runCli(configFile);
      await until(`run ${i} to start`, 30_000, () => run.lines.some((l) => l.includes('"event":"start"')));
      const delayMs = Math.floor(random() * 3_000);
      killPoints.push(delayMs);
      await sleep(delayMs);
      run.child.kill("SIGKILL");
      await run.exited;
      if (run.lines.some((l) => l.includes('"stage":"resumed"'))) resumedRuns++;
      const now = journal.read().records;
      assert.deepEqual(now.slice(0, before.length), before, `kill ${i} (${delayMs} ms after start) lost or changed an earlier journal record`);
      before = now;
    }

    // A last run that is allowed to finish: every intent reconciled, then a clean stop.
    demo.world.prices.stop();
    const last = runCli(configFile);
    await until("the last run to start", 30_000, () => last.lines.some((l) => l.includes('"event":"start"')));
    await sleep(4_000); // long enough to write history (SIGKILLed runs lose their unwritten window)
    const reconciled = () => {
      const records = journal.read().records;
      const done = new Set(records.filter((r) => r.t === "outcome").map((r) => r.id));
      return records.filter((r) => r.t === "intent").every((r) => done.has(r.id));
    };
    await until("every intent to have an outcome", 90_000, () => reconciled() && chain.programAccounts(PROGRAM_IDS.perpetuals, [{ memcmp: { offset: 0, bytes: disc } }]).length === 0);
    last.child.kill("SIGTERM");
    assert.equal(await last.exited, 0, "SIGTERM exits 0");
    clearInterval(sampler);

    const records = journal.read().records;
    assert.deepEqual(records.slice(0, before.length), before);
    const intents = records.filter((r): r is Extract<JournalRecord, { t: "intent" }> => r.t === "intent");
    const requests = new Set(intents.map((r) => r.request));
    const sentSignatures = new Map<string, Set<string>>();
    // The signed bytes ride in the intent's record (older journals: a separate "sent" record); either way one signature per intent.
    for (const r of records) {
      const signed = r.t === "sent" ? r : r.t === "intent" ? r.tx && { id: r.id, signature: r.tx.signature } : undefined;
      if (signed) sentSignatures.set(signed.id, (sentSignatures.get(signed.id) ?? new Set()).add(signed.signature));
    }
    assert.ok(intents.some((r) => r.tx), "intents carry their signed bytes");
    const results = records.filter((r) => r.t === "outcome").map((r) => (r as { result: string }).result);
    console.log(`      kill points (ms after start): ${killPoints.join(", ")}; ${resumedRuns} runs took over a request left in flight by the previous one`);
    console.log(`      ${intents.length} intents, ${seen.size} requests seen on chain, outcomes: ${JSON.stringify(Object.fromEntries([...new Set(results)].map((k) => [k, results.filter((x) => x === k).length])))}`);
    assert.ok(seen.size >= 3, `the run traded (${seen.size} requests seen)`);
    assert.equal(maxOpen, 1, "never two requests open at once for the market");
    for (const address of seen) assert.ok(requests.has(address), `request ${address} on chain has no journaled intent`);
    for (const [id, sigs] of sentSignatures) assert.equal(sigs.size, 1, `intent ${id} was signed more than once`);

    // The DAO's report over the same state: the journal's fills and the history's hedge quality.
    const out: string[] = [];
    const csv = path.join(stateDir, "report.csv");
    assert.equal(await main(["report", "--config", configFile, "--mandate", DEMO_MANDATE, "--csv", csv], (l) => out.push(l), (l) => out.push(l)), 0, out.join("\n"));
    const [header, line] = fs.readFileSync(csv, "utf8").split("\n");
    const row = Object.fromEntries(header!.split(",").map((column, i) => [column, line!.split(",")[i]!]));
    assert.equal(row.market, "SOL");
    assert.equal(Number(row.fills), results.filter((r) => r === "filled").length, "fills in the report");
    assert.ok(Number(row.coveredHours) > 0, "history covers the run");
    assert.equal(fs.readFileSync(csv.replace(/\.csv$/, "-trades.csv"), "utf8").trim().split("\n").length, intents.length + 1);
    console.log(`      report: ${out[2]}\n              ${out[3]}`);
  });
});
