import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ComputeBudgetProgram, type Connection, type Keypair, Transaction, sendAndConfirmTransaction } from "@solana/web3.js";
import bs58 from "bs58";
import { main } from "../../keeper/cli/main";
import { MAINNET, createIncreasePositionMarketRequest } from "../../programs-client";
import type { LocalWorld } from "../../localnet/world";
import { fillOutcomeFor, perpsWorldWithWallet, rpc, usdcShortRequest } from "../helpers/localnet";
import { REFERENCE_DIR } from "../helpers/reference";

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, (s) => out.push(s), (s) => err.push(s));
  return { code, out: out.join("\n"), err: err.join("\n") };
}

interface JsonInstruction {
  index: number;
  innerIndex: number | null;
  known: boolean;
  name?: string;
  discriminatorHex: string;
  args?: Record<string, unknown>;
  accounts: { name: string | null; pubkey: string }[];
}
interface JsonTx {
  signature: string;
  slot: number | null;
  status: string;
  instructions: JsonInstruction[];
  events: { name: string; data: Record<string, unknown> }[];
}

async function inspectJson(...argv: string[]): Promise<JsonTx> {
  const r = await run("inspect", ...argv, "--json");
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as JsonTx;
}

const scratch = mkdtempSync(path.join(tmpdir(), "gamma-keeper-inspect-tx-"));
const write = (name: string, content: unknown) => {
  const file = path.join(scratch, name);
  writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
};
const USD = 1_000_000n;

describe("gamma-keeper inspect <SIGNATURE | getTransaction FILE>", function () {
  this.timeout(60_000);

  describe("a transaction from localnet, by signature", () => {
    let world: LocalWorld;
    let connection: Connection;
    let wallet: Keypair;
    let requestSig: string;
    let fillSig: string;
    let req: ReturnType<typeof createIncreasePositionMarketRequest>;

    before(async () => {
      ({ world, connection, wallet } = await perpsWorldWithWallet());
      req = usdcShortRequest(wallet.publicKey, { sizeUsd6: 1000n * USD, collateralUsdc6: 100n * USD, minPriceUsd6: 140n * USD, counter: 7n });
      const filled = fillOutcomeFor(world, req.positionRequest);
      requestSig = await sendAndConfirmTransaction(connection, new Transaction().add(ComputeBudgetProgram.setComputeUnitLimit({ units: 200_000 }), req.instruction), [wallet]);
      const outcome = await filled;
      assert.equal(outcome.result, "filled");
      fillSig = outcome.signature!;
    });
    after(async () => world.close());

    it("names the request instruction, its arguments and accounts", async () => {
      const tx = await inspectJson(requestSig, "--rpc", world.url);
      assert.equal(tx.signature, requestSig);
      assert.equal(tx.status, "succeeded");
      assert.equal(tx.instructions.length, 1);
      const [ix] = tx.instructions;
      assert.equal(ix!.index, 1, "after the compute-budget instruction");
      assert.equal(ix!.name, "createIncreasePositionMarketRequest");
      // Anchor's rule: sha256("global:<snake_case name>")[0..8]
      assert.equal(ix!.discriminatorHex, createHash("sha256").update("global:create_increase_position_market_request").digest().subarray(0, 8).toString("hex"));
      const params = ix!.args!.params as Record<string, unknown>;
      assert.deepEqual(
        [params.sizeUsdDelta, params.collateralTokenDelta, params.side, params.priceSlippage, params.jupiterMinimumOut, params.counter],
        ["1000000000", "100000000", "short", "140000000", null, "7"],
      );
      const named = Object.fromEntries(ix!.accounts.map((a) => [a.name, a.pubkey]));
      assert.equal(named.owner, wallet.publicKey.toBase58());
      assert.equal(named.position, req.position.toBase58());
      assert.equal(named.positionRequest, req.positionRequest.toBase58());
      assert.equal(named.positionRequestAta, req.positionRequestAta.toBase58());
      assert.equal(named.custody, MAINNET.custodies.SOL.custody.toBase58());
      assert.equal(named.collateralCustody, MAINNET.custodies.USDC.custody.toBase58());
    });

    it("names the fill keeper's instructions and the events of the fill", async () => {
      const tx = await inspectJson(fillSig, "--rpc", world.url);
      const names = tx.instructions.map((i) => i.name);
      assert.ok(names.includes("increasePosition4"), `fill instructions: ${names}`);
      const fill = tx.instructions.find((i) => i.name === "increasePosition4")!;
      const named = Object.fromEntries(fill.accounts.map((a) => [a.name, a.pubkey]));
      assert.equal(named.positionRequest, req.positionRequest.toBase58());
      assert.equal(named.position, req.position.toBase58());
      assert.equal(named.keeper, world.fills!.publicKey.toBase58());
      const increase = tx.events.find((e) => e.name === "IncreasePositionEvent");
      assert.ok(increase, `an IncreasePositionEvent among ${tx.events.map((e) => e.name)}`);
      assert.equal(increase.data.positionKey, req.position.toBase58());
      assert.equal(increase.data.sizeUsdDelta, "1000000000");
    });

    it("prints the same transaction as text, and reads a saved base64 getTransaction answer", async () => {
      const text = await run("inspect", requestSig, "--rpc", world.url);
      assert.equal(text.code, 0, text.err);
      assert.match(text.out, new RegExp(`^transaction ${requestSig}\\nslot \\d+, \\d{4}-\\d\\d-\\d\\dT[^,]+, succeeded, fee \\d+ lamports`));
      assert.match(text.out, /instruction 1: createIncreasePositionMarketRequest\n {2}owner +\w+/);
      assert.match(text.out, /arg params: \{"owner"|arg params: \{/);

      const saved = await rpc(world.url, "getTransaction", [requestSig, { encoding: "base64", maxSupportedTransactionVersion: 0 }]);
      const fromFile = await inspectJson(write("request.base64.json", saved));
      assert.deepEqual(fromFile, await inspectJson(requestSig, "--rpc", world.url), "file and RPC decode alike");
    });

    it("a signature the cluster does not know is a fixable input error (exit 2)", async () => {
      const r = await run("inspect", bs58.encode(Buffer.alloc(64, 3)), "--rpc", world.url);
      assert.equal(r.code, 2);
      assert.match(r.err, /is not known to that cluster/);
    });
  });

  describe("a real mainnet transaction as a getTransaction file (yellowstone-vixen's fixture of 3MnCnWjL...)", () => {
    const FIXTURE = path.resolve(__dirname, "fixtures/mainnet-tx-3MnCnWjL.getTransaction.json");
    const VECTORS = path.join(REFERENCE_DIR, "jupiter-perps-mainnet-vectors");

    /** A vector file of ../shared: its key=value lines, its account[i] lines and the "# name = value" lines it verified. */
    function vector(file: string) {
      const text = readFileSync(path.join(VECTORS, file), "utf8");
      const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
      const accounts: string[] = [];
      const names: string[] = [];
      const fields: Record<string, string> = {};
      let dataHex = "";
      for (const line of text.split("\n")) {
        let m: RegExpMatchArray | null;
        if ((m = line.match(/^account\[(\d+)\]=(\w+)$/))) accounts[Number(m[1])] = m[2]!;
        else if ((m = line.match(/^# account\[(\d+)\] name: (\w+)$/))) names[Number(m[1])] = camel(m[2]!);
        else if ((m = line.match(/^#\s{3}(\w+) = (\S+)$/))) fields[camel(m[1]!)] = m[2]!;
        else if ((m = line.match(/^data_hex=([0-9a-f]+)$/))) dataHex = m[1]!;
      }
      return { accounts, names, fields, dataHex };
    }
    /** A decoded field as the vector files write it: booleans 0/1, keys base58, integers decimal. */
    const asVector = (v: unknown) => (typeof v === "boolean" ? (v ? "1" : "0") : String(v));

    let tx: JsonTx;
    before(async function () {
      if (!existsSync(VECTORS)) {
        console.log(`      (skipped: ${VECTORS} is absent; the expected values come from its vector files)`);
        this.skip();
      }
      tx = await inspectJson(FIXTURE);
    });

    it("the fixture names its source", () => {
      const source = JSON.parse(readFileSync(FIXTURE, "utf8"))._source;
      assert.equal(source.repo, "rpcpool/yellowstone-vixen");
      assert.equal(source.commit, "f3207ee3d215858b7262eabd171e31894cf1cc3e");
      assert.match(source.path, /3MnCnWjL.*_tx\.json$/);
    });

    it("closePositionRequest2 with the 13 accounts and names the vector states", () => {
      const v = vector("ix_close_position_request2__3MnCnWjL_2-0.txt");
      const ix = tx.instructions.find((i) => i.discriminatorHex === v.dataHex);
      assert.equal(ix?.name, "closePositionRequest2");
      assert.deepEqual(
        ix!.accounts.map((a) => [a.name, a.pubkey]),
        v.accounts.map((a, i) => [v.names[i], a]),
      );
    });

    it("decreasePositionWithTpsl, absent from the project's IDL, is shown as unknown with the vector's discriminator and 16 accounts", () => {
      const v = vector("ix_decrease_position_with_tpsl__3MnCnWjL_1-0.txt");
      const ix = tx.instructions.find((i) => i.discriminatorHex === v.dataHex);
      assert.equal(ix?.known, false);
      assert.deepEqual(
        ix!.accounts.map((a) => a.pubkey),
        v.accounts,
      );
      assert.equal(tx.instructions.length, 2);
    });

    it("the ClosePositionRequestEvent with every field the vector verified, after the DecreasePositionEvent of the same fill", () => {
      const v = vector("event_ClosePositionRequestEvent__3MnCnWjL_2-0.txt");
      assert.deepEqual(
        tx.events.map((e) => e.name),
        ["DecreasePositionEvent", "ClosePositionRequestEvent"],
      );
      const close = tx.events[1]!.data;
      assert.equal(Object.keys(v.fields).length, 10);
      for (const [field, expected] of Object.entries(v.fields)) assert.equal(asVector(close[field]), expected, field);

      // The DecreasePositionEvent's keys are the accounts the decrease instruction's vector names.
      const d = vector("ix_decrease_position_with_tpsl__3MnCnWjL_1-0.txt");
      const account = (name: string) => d.accounts[d.names.indexOf(name)];
      const decrease = tx.events[0]!.data;
      assert.deepEqual(
        [decrease.positionKey, decrease.positionRequestKey, decrease.owner, decrease.pool, decrease.positionCustody, decrease.positionCollateralCustody],
        [account("position"), account("positionRequest"), account("owner"), account("pool"), account("custody"), account("collateralCustody")],
      );
    });

    it("prints it as text too: names, unknown discriminator, events", async () => {
      const r = await run("inspect", FIXTURE);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /slot unknown, block time unknown, status unknown/);
      assert.match(r.out, /instruction 0: unknown instruction, discriminator 6c12cbd1e36741a5 \(8 bytes of data\)/);
      assert.match(r.out, /instruction 1: closePositionRequest2\n {2}keeper +H3dDE6K6uqBp5kBKctH6w8hzpV5eAmxUiqvcdHxuE9i4/);
      assert.match(r.out, /ClosePositionRequestEvent\n {4}entirePosition: false\n {4}executed: true/);
    });
  });

  describe("bad input exits 2 with the reason; an RPC failure exits 1 without the URL's secret", () => {
    const cases: [string, () => string, RegExp][] = [
      ["a string that is neither address nor signature", () => "3MnCnWjL83RBYGe8", /not a base58 public key \(32 bytes\) or transaction signature \(64 bytes\)/],
      ["a response whose result is null", () => write("null.json", { jsonrpc: "2.0", id: 1, result: null }), /result is null: that node did not have the transaction/],
      ["a JSON-RPC error response", () => write("error.json", { jsonrpc: "2.0", id: 1, error: { code: -32602, message: "Invalid param" } }), /the response is an error/],
      ["bytes that are not a transaction", () => write("garbage.json", { result: { slot: 1, transaction: ["AAAA", "base64"], meta: null } }), /the base64 bytes do not deserialize/],
      ["an instruction without data", () => write("noix.json", { result: { slot: 1, transaction: { signatures: [], message: { header: { numRequiredSignatures: 1, numReadonlySignedAccounts: 0, numReadonlyUnsignedAccounts: 0 }, accountKeys: [], recentBlockhash: "", instructions: [{ programIdIndex: 0, accounts: [] }] } }, meta: null } }), /transaction\.message\.instructions\[0\]: expected \{programIdIndex, accounts, data \(base58\)\}/],
    ];
    for (const [what, target, reason] of cases) {
      it(what, async () => {
        const r = await run("inspect", target());
        assert.equal(r.code, 2, r.out);
        assert.match(r.err, reason);
        assert.equal(r.err.split("\n").length, 1);
      });
    }
    it("a signature against a dead RPC", async () => {
      const r = await run("inspect", bs58.encode(Buffer.alloc(64, 5)), "--rpc", "http://127.0.0.1:9/v2/SECRETKEY123?api-key=SECRETKEY123");
      assert.equal(r.code, 1);
      assert.match(r.err, /getTransaction \w+ failed at http:\/\/127\.0\.0\.1:9\/\*\*\*/);
      assert.doesNotMatch(r.err, /SECRETKEY123/);
    });
  });
});
