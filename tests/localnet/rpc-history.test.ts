import { strict as assert } from "node:assert";
import {
  ComputeBudgetProgram,
  type Connection,
  Keypair,
  PublicKey,
  SendTransactionError,
  SystemProgram,
  Transaction,
  TransactionInstruction,
  TransactionMessage,
  VersionedTransaction,
  sendAndConfirmTransaction,
} from "@solana/web3.js";
import bs58 from "bs58";
import { MAINNET, PROGRAM_IDS, associatedTokenAddress } from "../../programs-client";
import { TransactionHistory, type TxRecord } from "../../localnet/validator/ledger";
import type { LocalWorld } from "../../localnet/world";
import { perpsWorldWithWallet, rpc, usdcShortRequest } from "../helpers/localnet";

const USD = 1_000_000n;
const MEMO_PROGRAM = new PublicKey("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr");

describe("localnet validator: getTransaction and getSignaturesForAddress in Solana's wire format", function () {
  this.timeout(60_000);
  let world: LocalWorld;
  let connection: Connection;
  let wallet: Keypair;

  before(async () => {
    ({ world, connection, wallet } = await perpsWorldWithWallet());
  });
  after(async () => world.close());

  const transfer = (to: PublicKey, lamports: number, ...extra: TransactionInstruction[]) =>
    sendAndConfirmTransaction(connection, new Transaction().add(SystemProgram.transfer({ fromPubkey: wallet.publicKey, toPubkey: to, lamports }), ...extra), [wallet]);

  it("returns a transfer with its slot, block time, message and status meta through web3.js", async () => {
    const to = Keypair.generate().publicKey;
    const tx = new Transaction().add(
      ComputeBudgetProgram.setComputeUnitPrice({ microLamports: 10_000 }),
      SystemProgram.transfer({ fromPubkey: wallet.publicKey, toPubkey: to, lamports: 2_000_000 }),
    );
    const sig = await sendAndConfirmTransaction(connection, tx, [wallet]);
    const got = await connection.getTransaction(sig, { maxSupportedTransactionVersion: 0, commitment: "confirmed" });
    assert.ok(got, "transaction found");
    const [status] = (await connection.getSignatureStatuses([sig])).value;
    assert.equal(got.slot, status?.slot);
    assert.ok(Math.abs(got.blockTime! - Date.now() / 1000) < 10, `blockTime ${got.blockTime} is now`);
    assert.equal(got.version, "legacy");
    assert.deepEqual(got.transaction.signatures, [sig]);
    const keys = got.transaction.message.staticAccountKeys.map((k) => k.toBase58());
    // web3.js orders the read-only program ids by key
    assert.deepEqual(keys, [wallet.publicKey, to, SystemProgram.programId, ComputeBudgetProgram.programId].map((k) => k.toBase58()));
    const meta = got.meta!;
    assert.equal(meta.err, null);
    // 5,000 per signature + ceil(10,000 µlamports x (3,000 + 3,000 default CU) / 1e6) = 5,000 + 60
    assert.equal(meta.fee, 5_060);
    assert.equal(meta.preBalances[0]! - meta.postBalances[0]!, 2_000_000 + 5_060);
    assert.deepEqual([meta.preBalances[1], meta.postBalances[1]], [0, 2_000_000]);
    assert.deepEqual(meta.innerInstructions, []);
    assert.deepEqual(meta.preTokenBalances, []);
    assert.deepEqual(meta.loadedAddresses, { writable: [], readonly: [] });
    assert.ok(meta.logMessages?.includes("Program 11111111111111111111111111111111 success"), meta.logMessages?.join("\n"));
    assert.ok(meta.computeUnitsConsumed! > 0);
  });

  it("encodes base64 and base58, adds `version` only when asked, and refuses v0 to a client that did not say it reads v0", async () => {
    const { blockhash } = await connection.getLatestBlockhash();
    const msg = new TransactionMessage({
      payerKey: wallet.publicKey,
      recentBlockhash: blockhash,
      instructions: [SystemProgram.transfer({ fromPubkey: wallet.publicKey, toPubkey: Keypair.generate().publicKey, lamports: 1_000_000 })],
    }).compileToV0Message();
    const v0 = new VersionedTransaction(msg);
    v0.sign([wallet]);
    const sig = await connection.sendTransaction(v0);
    await connection.confirmTransaction({ signature: sig, blockhash, lastValidBlockHeight: (await connection.getBlockHeight()) + 150 });

    const refused = await rpc(world.url, "getTransaction", [sig, { encoding: "json" }]);
    assert.equal(refused.error?.code, -32015);
    assert.match(refused.error!.message, /"maxSupportedTransactionVersion": 0/);

    for (const [encoding, decode] of [["base64", (s: string) => Buffer.from(s, "base64")], ["base58", (s: string) => Buffer.from(bs58.decode(s))]] as const) {
      const r = await rpc<{ transaction: [string, string]; version: unknown; meta: { fee: number } }>(world.url, "getTransaction", [sig, { encoding, maxSupportedTransactionVersion: 0 }]);
      assert.equal(r.result?.transaction[1], encoding);
      assert.deepEqual(decode(r.result!.transaction[0]), Buffer.from(v0.serialize()), `${encoding} is the wire transaction`);
      assert.equal(r.result?.version, 0);
      assert.equal(r.result?.meta.fee, 5_000);
    }

    const legacySig = await transfer(Keypair.generate().publicKey, 1_000_000);
    const plain = await rpc<Record<string, unknown>>(world.url, "getTransaction", [legacySig, "json"]);
    assert.ok(plain.result && !("version" in plain.result), "no version without maxSupportedTransactionVersion");
    const msgJson = (plain.result!.transaction as { message: { instructions: { stackHeight: unknown }[] } }).message;
    assert.equal(msgJson.instructions[0]!.stackHeight, null, "top-level instructions carry a null stackHeight");

    assert.equal((await rpc(world.url, "getTransaction", [bs58.encode(Buffer.alloc(64, 7)), { maxSupportedTransactionVersion: 0 }])).result, null, "unknown signature");
    assert.equal((await rpc(world.url, "getTransaction", ["not-a-signature"])).error?.code, -32602);
    assert.equal((await rpc(world.url, "getTransaction", [legacySig, { commitment: "processed" }])).error?.code, -32602);
    assert.equal((await rpc(world.url, "getTransaction", [legacySig, { encoding: "jsonParsed" }])).error?.code, -32602);
  });

  it("records a transaction that failed with skipPreflight (error and fee), and not one that failed preflight", async () => {
    const poor = Keypair.generate();
    const funding = await transfer(poor.publicKey, 1_000_000);
    const overdraw = () => new Transaction().add(SystemProgram.transfer({ fromPubkey: poor.publicKey, toPubkey: wallet.publicKey, lamports: 5_000_000 }));
    const { blockhash, lastValidBlockHeight } = await connection.getLatestBlockhash();
    const failed = overdraw();
    failed.recentBlockhash = blockhash;
    failed.feePayer = poor.publicKey;
    failed.sign(poor);
    const sig = await connection.sendRawTransaction(failed.serialize(), { skipPreflight: true });
    await connection.confirmTransaction({ signature: sig, blockhash, lastValidBlockHeight });
    const got = await connection.getTransaction(sig, { maxSupportedTransactionVersion: 0 });
    // System program: insufficient lamports for the transfer is custom error 1
    assert.deepEqual(got?.meta?.err, { InstructionError: [0, { Custom: 1 }] });
    assert.equal(got?.meta?.fee, 5_000);
    assert.deepEqual([got?.meta?.preBalances[0], got?.meta?.postBalances[0]], [1_000_000, 995_000]);
    const [listed] = await connection.getSignaturesForAddress(poor.publicKey, { limit: 1 });
    assert.equal(listed?.signature, sig);
    assert.deepEqual(listed?.err, { InstructionError: [0, { Custom: 1 }] });

    const preflight = overdraw();
    preflight.recentBlockhash = blockhash;
    preflight.feePayer = poor.publicKey;
    preflight.add(ComputeBudgetProgram.setComputeUnitPrice({ microLamports: 1 }));
    preflight.sign(poor);
    await assert.rejects(connection.sendRawTransaction(preflight.serialize()), SendTransactionError);
    const preflightSig = bs58.encode(preflight.signature!);
    assert.equal(await connection.getTransaction(preflightSig, { maxSupportedTransactionVersion: 0 }), null);
    assert.deepEqual((await connection.getSignaturesForAddress(poor.publicKey)).map((s) => s.signature), [sig, funding], "the failure and the funding, not the preflight failure");
  });

  it("shows the CPIs of createIncreasePositionMarketRequest as inner instructions, with token balances", async () => {
    const req = usdcShortRequest(wallet.publicKey, { sizeUsd6: 500n * USD, collateralUsdc6: 50n * USD, minPriceUsd6: 100n * USD, counter: 1n });
    const sig = await sendAndConfirmTransaction(connection, new Transaction().add(req.instruction), [wallet]);
    const got = await connection.getTransaction(sig, { maxSupportedTransactionVersion: 0 });
    const meta = got!.meta!;
    const keys = got!.transaction.message.staticAccountKeys;
    assert.equal(meta.innerInstructions?.length, 1);
    const group = meta.innerInstructions![0]!;
    assert.equal(group.index, 0);
    const transfers = group.instructions.filter((ix) => keys[ix.programIdIndex]!.equals(PROGRAM_IDS.token) && bs58.decode(ix.data)[0] === 3);
    assert.equal(transfers.length, 1, "one SPL Token Transfer moves the collateral");
    const data = Buffer.from(bs58.decode(transfers[0]!.data));
    assert.equal(data.readBigUInt64LE(1), 50n * USD);
    const [from, to] = transfers[0]!.accounts.map((i) => keys[i]!);
    assert.ok(from!.equals(associatedTokenAddress(MAINNET.custodies.USDC.mint, wallet.publicKey)));
    assert.ok(to!.equals(req.positionRequestAta));
    // [program, stack height, first data byte]: CreateAccount for the Position and the PositionRequest, the ATA
    // program's CreateIdempotent for the request's token account (its own CPIs one level deeper:
    // GetAccountDataSize, CreateAccount, InitializeImmutableOwner, InitializeAccount3), then the collateral Transfer.
    const S = PROGRAM_IDS.system.toBase58();
    const T = PROGRAM_IDS.token.toBase58();
    assert.deepEqual(
      group.instructions.map((ix) => [keys[ix.programIdIndex]!.toBase58(), (ix as { stackHeight?: number }).stackHeight, bs58.decode(ix.data)[0]]),
      [[S, 2, 0], [S, 2, 0], [PROGRAM_IDS.associatedToken.toBase58(), 2, 1], [T, 3, 21], [S, 3, 0], [T, 3, 22], [T, 3, 18], [T, 2, 3]],
    );

    const walletAta = keys.findIndex((k) => k.equals(from!));
    const pre = meta.preTokenBalances!.find((b) => b.accountIndex === walletAta);
    const post = meta.postTokenBalances!.find((b) => b.accountIndex === walletAta);
    assert.equal(pre?.mint, MAINNET.custodies.USDC.mint.toBase58());
    assert.equal(pre?.owner, wallet.publicKey.toBase58());
    assert.deepEqual(pre?.uiTokenAmount, { uiAmount: 1000, decimals: 6, amount: "1000000000", uiAmountString: "1000" });
    assert.deepEqual(post?.uiTokenAmount, { uiAmount: 950, decimals: 6, amount: "950000000", uiAmountString: "950" });
    const requestAta = keys.findIndex((k) => k.equals(req.positionRequestAta));
    assert.equal(meta.preTokenBalances!.find((b) => b.accountIndex === requestAta), undefined, "the request's token account did not exist before");
    assert.equal(meta.postTokenBalances!.find((b) => b.accountIndex === requestAta)?.uiTokenAmount.amount, "50000000");
  });

  it("lists an address's signatures newest first, with limit, before, until and memos", async () => {
    const to = Keypair.generate().publicKey;
    const sigs: string[] = [];
    for (let i = 0; i < 5; i++) {
      const memo = i === 2 ? [new TransactionInstruction({ programId: MEMO_PROGRAM, keys: [], data: Buffer.from("hedge #2") })] : [];
      sigs.push(await transfer(to, 1_000_000 + i, ...memo));
    }
    const newestFirst = [...sigs].reverse();
    const list = async (opts?: { limit?: number; before?: string; until?: string }) => (await connection.getSignaturesForAddress(to, opts)).map((s) => s.signature);
    const table: [string, Parameters<typeof list>[0], string[]][] = [
      ["all", undefined, newestFirst],
      ["limit 2", { limit: 2 }, [sigs[4]!, sigs[3]!]],
      ["before the 4th", { before: sigs[3] }, [sigs[2]!, sigs[1]!, sigs[0]!]],
      ["until the 2nd", { until: sigs[1] }, [sigs[4]!, sigs[3]!, sigs[2]!]],
      ["between, limit 1", { before: sigs[4], until: sigs[0], limit: 1 }, [sigs[3]!]],
      ["before the oldest", { before: sigs[0] }, []],
      ["before a signature the ledger never saw", { before: bs58.encode(Buffer.alloc(64, 9)) }, []],
    ];
    for (const [what, opts, expected] of table) assert.deepEqual(await list(opts), expected, what);

    const full = await connection.getSignaturesForAddress(to);
    const [status] = (await connection.getSignatureStatuses([sigs[2]!])).value;
    assert.deepEqual(full[2], { signature: sigs[2], slot: status!.slot, err: null, memo: "[8] hedge #2", blockTime: full[2]!.blockTime, confirmationStatus: "finalized" });
    assert.equal(full[0]!.memo, null);
    assert.ok(full.every((s, i) => i === 0 || s.slot <= full[i - 1]!.slot), "slots never increase down the list");

    assert.equal((await rpc(world.url, "getSignaturesForAddress", [to.toBase58(), { limit: 1001 }])).error?.message, "Invalid limit; max 1000");
    assert.equal((await rpc(world.url, "getSignaturesForAddress", [to.toBase58(), { commitment: "processed" }])).error?.code, -32602);
  });
});

describe("localnet ledger: the bounded transaction history", () => {
  const key = (n: number) => new PublicKey(Buffer.alloc(32, n));
  const record = (n: number) => ({ signature: `sig${n}` }) as TxRecord;

  it("forgets the oldest transactions beyond its capacity, by signature and by address", () => {
    const history = new TransactionHistory(3);
    // Transaction n touches key 0 (everyone) and key n.
    for (let n = 1; n <= 5; n++) history.add(record(n), [key(0), key(n), key(0)].map((k) => k.toBytes()));
    assert.equal(history.size, 3);
    const cases: [string, string | undefined][] = [["sig1", undefined], ["sig2", undefined], ["sig3", "sig3"], ["sig5", "sig5"]];
    for (const [sig, expected] of cases) assert.equal(history.get(sig)?.signature, expected, sig);
    assert.deepEqual(history.signaturesFor(key(0), { limit: 10 }).map((r) => r.signature), ["sig5", "sig4", "sig3"]);
    assert.deepEqual(history.signaturesFor(key(1), { limit: 10 }), []);
    assert.deepEqual(history.signaturesFor(key(4), { limit: 10 }).map((r) => r.signature), ["sig4"]);
    // `until` that has been forgotten sets no lower bound; `before` that has been forgotten gives nothing
    assert.deepEqual(history.signaturesFor(key(0), { limit: 10, until: "sig1" }).map((r) => r.signature), ["sig5", "sig4", "sig3"]);
    assert.deepEqual(history.signaturesFor(key(0), { limit: 10, before: "sig2" }), []);
  });

  it("defaults to 50,000 transactions and refuses a capacity below one", () => {
    assert.equal(new TransactionHistory().capacity, 50_000);
    assert.throws(() => new TransactionHistory(0), /positive integer/);
  });
});
