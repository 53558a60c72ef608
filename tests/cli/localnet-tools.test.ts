import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Connection, Keypair, PublicKey } from "@solana/web3.js";
import { MAINNET } from "../../programs-client";
import { main } from "../../keeper/cli/main";
import { runStatusWatch } from "../../keeper/cli/watch";
import { type LocalWorld, startLocalWorld } from "../../localnet/world";
import { tokenBalance } from "../helpers/localnet";

/** Run the CLI in-process; `stop` stands in for Ctrl-C (default: never). */
async function run(argv: string[], stop: () => Promise<unknown> = () => new Promise(() => {})) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, (s) => out.push(s), (s) => err.push(s), stop);
  return { code, out: out.join("\n"), err: err.join("\n") };
}

const EXAMPLE = path.join(__dirname, "../../config/localnet.example.yaml");

describe("localnet tools: keygen, localnet fund, expired-leg warnings, status --watch", function () {
  this.timeout(120_000);
  let world: LocalWorld;
  let dir: string;
  let keyFile: string;
  let wallet: PublicKey;
  let connection: Connection;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "gk-tools-"));
    world = await startLocalWorld({ port: 0, slotMs: 100, fillKeeper: false, priceDriver: { intervalMs: 300 } });
    connection = new Connection(world.url, "confirmed");
    keyFile = path.join(dir, "wallet.json");
  });
  after(async () => {
    await world?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe("--help names the new commands and flags", () => {
    const cases: [string[], RegExp][] = [
      [["--help"], /keygen \[options\]/],
      [["localnet", "--help"], /fund \[options\]/],
      [["localnet", "fund", "--help"], /--owner <pubkey>[\s\S]*--sol <amount>[\s\S]*--usdc <amount>[\s\S]*--rpc <url>/],
      [["keygen", "--help"], /0600[\s\S]*--out <file>/],
      [["status", "--help"], /--watch \[sec\]/],
    ];
    for (const [argv, want] of cases) {
      it(argv.join(" "), async () => {
        const r = await run(argv);
        assert.equal(r.code, 0);
        assert.match(r.out, want);
      });
    }
  });

  describe("keygen --out FILE", () => {
    it("writes a Solana CLI keypair with mode 0600 and prints only its public key", async () => {
      const r = await run(["keygen", "--out", keyFile]);
      assert.equal(r.code, 0, r.err);
      const secret = JSON.parse(fs.readFileSync(keyFile, "utf8")) as number[];
      assert.equal(secret.length, 64);
      const kp = Keypair.fromSecretKey(Uint8Array.from(secret));
      assert.equal(r.out, kp.publicKey.toBase58(), "the public key alone");
      assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
      wallet = kp.publicKey;
    });
    it("refuses an existing file and leaves it as it was", async () => {
      const before = fs.readFileSync(keyFile, "utf8");
      const r = await run(["keygen", "--out", keyFile]);
      assert.equal(r.code, 2);
      assert.match(r.err, /wallet\.json exists; keygen never overwrites a key file/);
      assert.equal(fs.readFileSync(keyFile, "utf8"), before);
    });
    it("a missing folder is a usage error naming the path", async () => {
      const r = await run(["keygen", "--out", path.join(dir, "no-such", "k.json")]);
      assert.equal(r.code, 2);
      assert.match(r.err, /cannot create --out .*no-such.*ENOENT.*fix: /);
    });
  });

  describe("localnet fund", () => {
    it("airdrops exact SOL and adds USDC and ETH, twice", async () => {
      const usdc = MAINNET.custodies.USDC.mint;
      const eth = MAINNET.custodies.ETH.mint;
      let r = await run(["localnet", "fund", "--owner", wallet.toBase58(), "--sol", "2.000000001", "--usdc", "1000.25", "--eth", "0.5", "--rpc", world.url]);
      assert.equal(r.code, 0, r.err);
      assert.equal(await connection.getBalance(wallet), 2_000_000_001);
      assert.equal(await tokenBalance(connection, usdc, wallet), 1_000_250_000n);
      assert.equal(await tokenBalance(connection, eth, wallet), 50_000_000n);
      assert.match(r.out, /\+2\.000000001 SOL: 2\.000000001 SOL held\n\+1000\.25 USDC: 1000\.25 USDC held in \w+\n\+0\.5 ETH: 0\.5 ETH held in \w+\nfunded \w+ on http:\/\/127\.0\.0\.1:\d+/);
      r = await run(["localnet", "fund", "--owner", wallet.toBase58(), "--sol", "0.1", "--usdc", "0.75", "--rpc", world.url]);
      assert.equal(r.code, 0, r.err);
      assert.equal(await connection.getBalance(wallet), 2_100_000_001);
      assert.equal(await tokenBalance(connection, usdc, wallet), 1_001_000_000n);
    });

    const owner = Keypair.generate().publicKey.toBase58();
    const bad: [string, string[], RegExp][] = [
      ["a negative amount", ["--owner", owner, "--sol", "-1"], /--sol "-1" is not a positive decimal number/],
      ["NaN", ["--owner", owner, "--usdc", "NaN"], /--usdc "NaN" is not a positive decimal number/],
      ["an exponent", ["--owner", owner, "--sol", "1e3"], /--sol "1e3" is not a positive decimal/],
      ["too many decimals", ["--owner", owner, "--usdc", "1.0000001"], /--usdc "1\.0000001" has 7 decimals; the token has 6/],
      ["zero", ["--owner", owner, "--sol", "0.0"], /--sol "0\.0" must be more than 0/],
      ["more than one airdrop", ["--owner", owner, "--sol", "10000000"], /--sol 10000000 is more than one airdrop can carry/],
      ["more than a u64", ["--owner", owner, "--usdc", "99999999999999999999999"], /--usdc 99999999999999999999999 is more than a token account can hold: at most 18446744073709\.551615 USDC \(the u64 maximum\)/],
      ["a bad pubkey", ["--owner", "not-a-key", "--sol", "1"], /--owner "not-a-key" is not a base58 public key/],
      ["nothing to fund", ["--owner", owner], /nothing to fund: give --sol and\/or --usdc, --usdt, --eth, --btc/],
    ];
    for (const [name, args, reason] of bad) {
      it(`${name}: exit 2 with the reason, nothing sent`, async () => {
        const r = await run(["localnet", "fund", ...args, "--rpc", world.url]);
        assert.equal(r.code, 2, r.out);
        assert.match(r.err, reason);
      });
    }

    it("an amount whose sum with the balance held passes the u64 maximum: exit 2 naming it, the balance unchanged", async () => {
      const full = Keypair.generate().publicKey;
      let r = await run(["localnet", "fund", "--owner", full.toBase58(), "--usdc", "18446744073709.551615", "--rpc", world.url]);
      assert.equal(r.code, 0, r.err);
      r = await run(["localnet", "fund", "--owner", full.toBase58(), "--usdc", "0.000001", "--rpc", world.url]);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, /\+0\.000001 USDC on the 18446744073709\.551615 held would be more than a token account can hold: at most 18446744073709\.551615 USDC \(the u64 maximum\); fund less/);
      assert.equal(await tokenBalance(connection, MAINNET.custodies.USDC.mint, full), (1n << 64n) - 1n);
    });

    it("an endpoint that is not our localnet is refused before anything is sent", async () => {
      const seen: string[] = [];
      const server = http.createServer((req, res) => {
        let body = "";
        req.on("data", (c) => (body += c));
        req.on("end", () => {
          const { id, method } = JSON.parse(body) as { id: number; method: string };
          seen.push(method);
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ jsonrpc: "2.0", id, error: { code: -32601, message: "Method not found" } }));
        });
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      try {
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/?api-key=SECRET123`;
        const r = await run(["localnet", "fund", "--owner", owner, "--sol", "1", "--rpc", url]);
        assert.equal(r.code, 2);
        assert.match(r.err, /is not a gamma-keeper localnet \(it has no surfnet_setTokenAccount: Method not found\).*gamma-keeper localnet/);
        assert.doesNotMatch(r.err, /SECRET123/);
        assert.deepEqual(seen, ["surfnet_setTokenAccount"], "no airdrop was asked for");
      } finally {
        server.close();
      }
    });
    it("a dead endpoint: exit 1 naming it and saying a localnet must be running", async () => {
      // A port that was free a moment ago: nothing listens, as when no localnet runs (fetch refuses port 9 itself).
      const probe = http.createServer();
      await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
      const port = (probe.address() as AddressInfo).port;
      await new Promise((resolve) => probe.close(resolve));
      const r = await run(["localnet", "fund", "--owner", owner, "--sol", "1", "--rpc", `http://127.0.0.1:${port}`]);
      assert.equal(r.code, 1);
      assert.match(r.err, /the RPC at http:\/\/127\.0\.0\.1:\d+ is unreachable \(ECONNREFUSED\); localnet fund needs a running localnet: start one with `gamma-keeper localnet`/);
    });
  });

  /** The example config on this localnet with the keygen'd wallet: what a developer following the README runs. */
  const example = (...more: string[]) => [
    "--config",
    EXAMPLE,
    "--set",
    `rpc.url=${world.url}`,
    "--set",
    `rpc.wsUrl=${world.wsUrl}`,
    "--set",
    `execution.swapApi.url=${world.url}/swap/v1`,
    "--set",
    `stateDir=${path.join(dir, "state")}`,
    "--set",
    "metrics.port=0", // the example's 9464 may be taken
    "--set",
    `killFile=${path.join(dir, "KILL")}`,
    "--set",
    `mandates.0.wallet=${wallet.toBase58()}`,
    "--set",
    `mandates.0.keypairFile=${keyFile}`,
    ...more,
  ];
  const expired = ["--set", "mandates.0.exposures.options.1.expiry=2026-01-02T03:04:05Z"];
  const warning = /sol-straddle WARN 1 option leg has expired and counts as zero delta, so the keeper no longer hedges it: SOL put 150 x200 expired 2026-01-02T03:04:05\.000Z; fix: /;

  describe("expired legs are named by plan, status and config check", () => {
    it("plan prints the warning with the mandate, the leg and its expiry", async () => {
      const r = await run(["plan", ...example(...expired)]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, warning);
      assert.equal(r.out.match(/expired and counts/g)?.length, 1, "once");
    });
    it("status prints it too", async () => {
      const r = await run(["status", ...example(...expired)]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, warning);
    });
    it("config check prints it", async () => {
      const args = example(...expired);
      const r = await run(["config", "check", args[1]!, ...args.slice(2)]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /warning: mandate sol-straddle: 1 option leg has expired .*SOL put 150 x200 expired 2026-01-02T03:04:05\.000Z/);
    });
    it("the running keeper logs one warning at warn level at start, not every cycle", async () => {
      const r = await run(["run", ...example(...expired, "--dry-run", "--duration", "3", "--log", "json")]);
      assert.equal(r.code, 0, r.err);
      const lines = r.out.split("\n").filter((l) => l.includes("expired and counts"));
      assert.equal(lines.length, 1, r.out.slice(0, 3000));
      const line = JSON.parse(lines[0]!) as { level: number; kind?: string; event?: string; mandate: string };
      assert.equal(line.level, 40, "pino's warn");
      assert.equal(line.mandate, "sol-straddle");
      assert.match(lines[0]!, /SOL put 150 x200 expired 2026-01-02T03:04:05\.000Z/);
    });
    it("the example as shipped (+30d) has no expired leg", async () => {
      const r = await run(["plan", ...example()]);
      assert.equal(r.code, 0, r.err);
      assert.doesNotMatch(r.out, /expired/);
      assert.match(r.out, /sol-straddle SOL /);
    });
  });

  describe("status --watch", () => {
    it("refreshes every SEC until Ctrl-C, exit 0; no escape codes off a terminal", async () => {
      const started = Date.now();
      const r = await run(["status", ...example("--watch", "1")], () => new Promise((resolve) => setTimeout(resolve, 2500)));
      assert.equal(r.code, 0, r.err);
      const blocks = r.out.split(/^--- status of /m).slice(1);
      assert.ok(blocks.length >= 2 && blocks.length <= 4, `${blocks.length} refreshes in ${Date.now() - started} ms`);
      for (const b of blocks) assert.match(b, /every 1 s \(Ctrl-C to stop\)\nmandate sol-straddle: fees today/);
      assert.doesNotMatch(r.out, /\x1b/);
    });
    it("on a terminal each refresh clears the screen and redraws", async () => {
      const out: string[] = [];
      await runStatusWatch({ ...{ config: EXAMPLE, set: example().slice(2).filter((_, i) => i % 2 === 1) }, watch: "0.5" }, (s) => out.push(s), () => new Promise((r) => setTimeout(r, 1200)), true);
      assert.ok(out.length >= 2, `${out.length} refreshes`);
      for (const screen of out) assert.match(screen, /^\x1b\[2J\x1b\[Hstatus of .* every 0\.5 s/);
    });
    for (const [value, reason] of [
      ["0", /--watch takes seconds from 0\.5 to 86400, got "0"/],
      ["abc", /--watch takes seconds from 0\.5 to 86400, got "abc"/],
    ] as const) {
      it(`--watch ${value} is a usage error`, async () => {
        const r = await run(["status", ...example("--watch", value)]);
        assert.equal(r.code, 2);
        assert.match(r.err, reason);
      });
    }
    it("a bad config ends the watch at the first refresh (exit 2)", async () => {
      const r = await run(["status", "--config", path.join(dir, "missing.yaml"), "--watch", "1"]);
      assert.equal(r.code, 2);
      assert.match(r.err, /missing\.yaml/);
    });
  });
});
