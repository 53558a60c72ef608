import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Connection } from "@solana/web3.js";
import bs58 from "bs58";
import { MAINNET } from "../../programs-client";
import { setTokenBalance } from "../../localnet/fixtures/load";
import { type LocalDemo, startLocalDemo } from "../../keeper/app/local-demo";
import { runPreflight } from "../../keeper/app/preflight";
import { buildRequest } from "../../keeper/execution/request-builder";
import { jupiterQuoter } from "../../keeper/execution/swap-quote";
import { main } from "../../keeper/cli/main";
import { rpc } from "../helpers/localnet";
import { recordRemote } from "../helpers/remote";
import { startLocalWorld } from "../../localnet/world";

/**
 * The pre-flight on a localnet standing in for a fork of mainnet: the stand-in program, no fill keeper (nobody fills
 * requests on a fork), the demo mandate's wallet with SOL and USDC.
 */
describe("preflight: the keeper's exact requests on a fork, each created, decoded and cancelled", function () {
  this.timeout(120_000);
  let demo: LocalDemo;
  let dir: string;
  let configFile: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "gk-preflight-"));
    demo = await startLocalDemo({ stateDir: dir, fillKeeper: false, scenario: { kind: "constant", priceUsd: 150 } });
    const keyFile = path.join(dir, "wallet.json");
    fs.writeFileSync(keyFile, JSON.stringify(Array.from(demo.wallet.secretKey)), { mode: 0o600 });
    const cfg = demo.cfg;
    cfg.mandates[0]!.keypairFile = keyFile;
    configFile = path.join(dir, "config.json");
    fs.writeFileSync(configFile, JSON.stringify(cfg));
  });
  after(async () => {
    await demo.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function cli(...argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, (l) => out.push(l), (l) => err.push(l));
    return { code, out: out.join("\n"), err: err.join("\n") };
  }

  it("passes for the demo mandate: a short in USDC and a long in SOL, with CU and fee per request; nothing to decrease is a skip", async () => {
    const r = await cli("preflight", "--config", configFile, "--fork", demo.world.url);
    assert.equal(r.code, 0, `${r.out}\n${r.err}`);
    assert.match(r.out, /SOL\s+increase short \(USDC\)\s+\d+\s+\d+\s+PASS: request \w+ decoded as sent; the cancel returned \d+ base units/);
    assert.match(r.out, /SOL\s+increase long \(SOL\)\s+\d+\s+\d+\s+PASS/);
    assert.match(r.out, /decrease\s+-\s+-\s+SKIP: the wallet has no open position/);
    assert.match(r.out, /pre-flight passed: 2 requests/);
  });

  it("passes on a real fork of a localnet (the remote's program, fetched lazily), and the remote receives only reads", async () => {
    const fork = await startLocalWorld({ port: 0, fillKeeper: false, fork: { url: demo.world.url } });
    const seen = recordRemote(demo.world);
    try {
      const r = await cli("preflight", "--config", configFile, "--fork", fork.url);
      assert.equal(r.code, 0, `${r.out}\n${r.err}`);
      assert.match(r.out, /pre-flight passed: 2 requests/);
      assert.deepEqual([...new Set(seen.methods)].sort(), ["getMultipleAccounts", "getProgramAccounts"], "reads only");
      // Without --fork: a fork of the config's own RPC, started in the process.
      seen.methods.length = 0;
      const own = await cli("preflight", "--config", configFile);
      assert.equal(own.code, 0, `${own.out}\n${own.err}`);
      assert.match(own.out, /^pre-flight on a fork of http:\/\/127\.0\.0\.1:\d+/);
      assert.match(own.out, /pre-flight passed: 2 requests/);
      assert.deepEqual([...new Set(seen.methods)].sort(), ["getMultipleAccounts", "getProgramAccounts"], "reads only");
    } finally {
      await fork.close();
    }
  });

  it("passes for the example configs' mandates (placeholders filled), each market and collateral path, on a fork", async () => {
    const w = demo.wallet;
    const keyFile = path.join(dir, "wallet.json");
    const book = path.join(dir, "desk-book.csv");
    fs.writeFileSync(book, "underlying,kind,strike,expiry,quantity,impliedVol\nSOL,call,200,2030-01-01T00:00:00Z,10,0.7\n");
    // The desk's ETH longs post ETH: the wallet holds some on the remote, as a live desk wallet would.
    setTokenBalance(demo.world.chain, w.publicKey, MAINNET.custodies.ETH.mint, 1_000_000_000n);
    const fill = (file: string) => {
      const text = fs
        .readFileSync(path.join("config", file), "utf8")
        .replace(/REPLACE_WITH_[A-Z_]+/g, w.publicKey.toBase58())
        .replace(/keypairFile: \S+/g, `keypairFile: ${keyFile}`)
        .replace("/var/lib/gamma-keeper/desk-book.csv", book);
      fs.writeFileSync(path.join(dir, file), text);
      return path.join(dir, file);
    };
    fill("dao-mandate.example.yaml");
    process.env.GK_DAO_TREASURY_KEY = bs58.encode(w.secretKey);
    const fork = await startLocalWorld({ port: 0, fillKeeper: false, fork: { url: demo.world.url } });
    try {
      for (const file of ["localnet.example.yaml", "mainnet.example.yaml"]) {
        const overrides = ["--set", `rpc.url=${demo.world.url}`, "--set", `execution.swapApi.url=${demo.world.url}/swap/v1`];
        const r = await cli("preflight", "--config", fill(file), "--fork", fork.url, ...overrides);
        assert.equal(r.code, 0, `${file}:\n${r.out}\n${r.err}`);
        assert.doesNotMatch(r.out, /FAIL/);
      }
      const mainnet = await cli("preflight", "--config", path.join(dir, "mainnet.example.yaml"), "--fork", fork.url, "--set", `execution.swapApi.url=${demo.world.url}/swap/v1`);
      for (const row of [/desk-sol-book\s+ETH\s+increase long \(ETH\)\s+\d+\s+\d+\s+PASS/, /dao-treasury\s+SOL\s+increase long \(USDC, swapped\)\s+\d+\s+\d+\s+PASS/]) assert.match(mainnet.out, row);
    } finally {
      delete process.env.GK_DAO_TREASURY_KEY;
      await fork.close();
    }
  });

  it("fails with a clear line when a request is wrong (one account meta made read-only)", async () => {
    const connection = new Connection(demo.world.url, "confirmed");
    const rows = await runPreflight({
      connection,
      fork: { timeTravel: async (unixMs) => void (await rpc(demo.world.url, "surfnet_timeTravel", [{ absoluteTimestamp: unixMs }])) },
      cfg: demo.cfg,
      keypairs: new Map([[demo.cfg.mandates[0]!.name, demo.wallet]]),
      quoter: jupiterQuoter({ basePath: `${demo.world.url}/swap/v1`, timeoutMs: 5_000 }),
      nowMs: () => Date.now(),
      // The request's own account passed read-only (the public IDL marks it writable): the program must refuse it.
      build: (...args) => {
        const built = buildRequest(...args);
        const at = built.instruction.keys.findIndex((k) => k.pubkey.equals(built.positionRequest));
        built.instruction.keys[at] = { ...built.instruction.keys[at]!, isWritable: false };
        return built;
      },
    });
    const opened = rows.filter((r) => r.request.startsWith("increase"));
    assert.equal(opened.length, 2);
    for (const row of opened) {
      assert.equal(row.result, "fail", JSON.stringify(row));
      assert.match(row.detail, /simulation rejected the transaction|failed on the fork/);
    }
  });

  it("refuses an endpoint that is not a fork before building anything, and sends it nothing but reads", async () => {
    const methods: string[] = [];
    // A "real cluster": forwards reads to the localnet, knows no surfnet_ controls (as mainnet does not).
    const server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", async () => {
        const call = JSON.parse(body) as { id: number; method: string; params: unknown[] };
        methods.push(call.method);
        res.setHeader("content-type", "application/json");
        if (call.method.startsWith("surfnet_")) {
          res.end(JSON.stringify({ jsonrpc: "2.0", id: call.id, error: { code: -32601, message: "Method not found" } }));
          return;
        }
        const forwarded = await fetch(demo.world.url, { method: "POST", headers: { "content-type": "application/json" }, body });
        res.end(await forwarded.text());
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/?api-key=SECRET123`;
      const r = await cli("preflight", "--config", configFile, "--fork", url);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, /is not a fork \(surfnet_timeTravel: Method not found\); the pre-flight never sends to a real cluster/);
      assert.ok(!r.err.includes("SECRET123"), "the API key is never printed");
      assert.deepEqual(methods.filter((m) => /send|simulate|request/i.test(m)), [], `only reads reached it: ${methods.join(", ")}`);
    } finally {
      server.close();
    }
  });
});
