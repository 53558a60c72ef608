/**
 * Memory of the built keeper (`node dist/keeper/cli/main.js run`), the way an operator runs it, against a localnet in
 * another process whose SOL price moves (so it trades): its RSS sampled every 10 s for `--minutes` (10), printed as a
 * series with the first, the last, the peak and the slope of the second half (flat means no leak). Goal (issue 17):
 * <= 120 MB, flat. Needs `npm run build` first.
 *
 *   npm run bench:rss [-- --minutes 10]
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Keypair } from "@solana/web3.js";
import { runFund } from "../cli/fund";
import { describeMachine } from "./machine";

const ROOT = path.resolve(__dirname, "../..");
const MAIN = path.join(ROOT, "dist/keeper/cli/main.js");

function minutesArg(): number {
  const i = process.argv.indexOf("--minutes");
  const v = i >= 0 ? Number(process.argv[i + 1]) : 10;
  if (!(v > 0)) throw new Error(`--minutes must be a positive number, got ${process.argv[i + 1]}`);
  return v;
}

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

function waitFor(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = pattern.exec(out);
      if (m) resolve(m[1] ?? m[0]);
    });
    child.once("exit", (code) => reject(new Error(`exited (${code}) before ${pattern}:\n${out.slice(-2000)}`)));
  });
}

async function main() {
  const minutes = minutesArg();
  if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
  console.log(describeMachine());
  const localnet = spawn(process.execPath, [MAIN, "localnet", "--port", "0", "--scenario", "gbm", "--vol", "0.8", "--speed", "60", "--fill-delay-ms", "300"], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  const children: ChildProcess[] = [localnet];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gk-rss-"));
  try {
    const url = await waitFor(localnet, /RPC\s+(http:\/\/127\.0\.0\.1:\d+)/);
    localnet.stdout!.resume();
    const wallet = Keypair.generate();
    await runFund({ owner: wallet.publicKey.toBase58(), sol: "100", usdc: "1000000", rpc: url }, () => {});
    const keyFile = path.join(dir, "wallet.json");
    fs.writeFileSync(keyFile, JSON.stringify(Array.from(wallet.secretKey)), { mode: 0o600 });
    const config = {
      rpc: { url },
      stateDir: path.join(dir, "state"),
      oracle: { maxAgeSec: 60 },
      log: { level: "info", format: "json" },
      execution: { priorityFee: { staticMicroLamports: 1000 }, swapApi: { url: `${url}/swap/v1` } },
      mandates: [
        {
          name: "rss",
          wallet: wallet.publicKey.toBase58(),
          keypairFile: keyFile,
          markets: ["SOL"],
          policy: { kind: "whalley-wilmott", riskAversion: 0.02 },
          trade: { minTradeUsd: 20, maxTradeUsd: 100_000, cooldownSec: 2 },
          limits: { maxNetDeltaTokens: { SOL: 500 }, maxNotionalUsd: 2_000_000, maxLeverage: 10, maxTradesPerHour: 5000, dailyFeeBudgetUsd: 100_000, maxConsecutiveFailures: 50, breakerCooldownSec: 10 },
          exposures: { options: [{ underlying: "SOL", kind: "call", strike: 150, expiry: "+30d", quantity: 200, impliedVol: 0.6 }, { underlying: "SOL", kind: "put", strike: 150, expiry: "+30d", quantity: 200, impliedVol: 0.6 }] },
        },
      ],
    };
    const configFile = path.join(dir, "keeper.json");
    fs.writeFileSync(configFile, JSON.stringify(config));
    const keeper = spawn(process.execPath, [MAIN, "run", "--config", configFile], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    children.push(keeper);
    let fills = 0;
    keeper.stdout!.on("data", (d: Buffer) => (fills += (d.toString().match(/"result":"filled"/g) ?? []).length));
    const samples: { sec: number; mb: number }[] = [];
    const started = Date.now();
    while (Date.now() - started < minutes * 60_000) {
      await new Promise((r) => setTimeout(r, 10_000));
      if (keeper.exitCode !== null) throw new Error(`the keeper exited (${keeper.exitCode})`);
      const sample = { sec: Math.round((Date.now() - started) / 1000), mb: rssMb(keeper.pid!) };
      samples.push(sample);
      console.log(`  t=${String(sample.sec).padStart(4)} s  RSS ${sample.mb.toFixed(1)} MB  fills so far ${fills}`);
    }
    const second = samples.slice(Math.floor(samples.length / 2));
    const n = second.length;
    const mx = second.reduce((a, s) => a + s.sec, 0) / n;
    const my = second.reduce((a, s) => a + s.mb, 0) / n;
    const slope = second.reduce((a, s) => a + (s.sec - mx) * (s.mb - my), 0) / Math.max(1e-9, second.reduce((a, s) => a + (s.sec - mx) ** 2, 0));
    const peak = Math.max(...samples.map((s) => s.mb));
    console.log(`\nbuilt keeper (node dist/keeper/cli/main.js run), ${minutes} min, ${fills} fills: RSS first ${samples[0]!.mb.toFixed(1)} MB, last ${samples.at(-1)!.mb.toFixed(1)} MB, peak ${peak.toFixed(1)} MB; second half slope ${(slope * 60).toFixed(2)} MB/min`);
    console.log("goal (issue 17): <= 120 MB, flat");
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
