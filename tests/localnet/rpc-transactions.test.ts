import { strict as assert } from "node:assert";
import {
  AddressLookupTableAccount,
  ComputeBudgetProgram,
  Connection,
  Keypair,
  LAMPORTS_PER_SOL,
  PublicKey,
  SendTransactionError,
  SystemProgram,
  Transaction,
  TransactionInstruction,
  TransactionMessage,
  VersionedTransaction,
  sendAndConfirmTransaction,
} from "@solana/web3.js";
import { TOKEN_PROGRAM_ID, createMint, getAccount, getOrCreateAssociatedTokenAccount, mintTo, transfer } from "@solana/spl-token";
import bs58 from "bs58";
import { PrioritizationFeeCache } from "../../localnet/validator/ledger";
import { type Localnet, startLocalnet } from "../../localnet/validator/server";
import { isStaticWritable, parseTransaction } from "../../localnet/validator/wire";
import { fundedKeypair, rpc } from "../helpers/localnet";

const MEMO_PROGRAM = new PublicKey("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr");

describe("localnet validator: transactions and PubSub through an unmodified web3.js Connection", function () {
  this.timeout(60_000);
  let net: Localnet;
  let connection: Connection;
  let payer: Keypair;

  before(async () => {
    net = await startLocalnet({ port: 0, slotMs: 100 });
    connection = new Connection(net.url, "confirmed");
    payer = await fundedKeypair(connection, 100);
  });
  after(async () => net.close());

  it("serves PubSub on the HTTP port + 1, bound to 127.0.0.1", () => {
    assert.match(net.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(net.wsUrl, `ws://127.0.0.1:${Number(new URL(net.url).port) + 1}`);
  });

  it("airdrops with a confirmable signature", async () => {
    assert.equal(await connection.getBalance(payer.publicKey), 100 * LAMPORTS_PER_SOL);
  });

  it("transfers SOL with sendAndConfirmTransaction and charges a priority fee exactly", async () => {
    const to = Keypair.generate().publicKey;
    const before = await connection.getBalance(payer.publicKey);
    const tx = new Transaction().add(
      ComputeBudgetProgram.setComputeUnitLimit({ units: 10_000 }),
      ComputeBudgetProgram.setComputeUnitPrice({ microLamports: 50_001 }),
      SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: to, lamports: 1_000_000 }),
    );
    const sig = await sendAndConfirmTransaction(connection, tx, [payer]);
    // 5,000 per signature + ceil(50,001 x 10,000 / 1e6) = 5,000 + 501
    assert.equal(before - (await connection.getBalance(payer.publicKey)), 1_000_000 + 5_501);
    assert.equal(await connection.getBalance(to), 1_000_000);
    const [status] = (await connection.getSignatureStatuses([sig])).value;
    assert.equal(status?.err, null);
    assert.equal(status?.confirmationStatus, "finalized");
  });

  it("quotes getFeeForMessage as the runtime charges it, with the default compute limit", async () => {
    const { blockhash } = await connection.getLatestBlockhash();
    const msg = new TransactionMessage({
      payerKey: payer.publicKey,
      recentBlockhash: blockhash,
      instructions: [
        ComputeBudgetProgram.setComputeUnitPrice({ microLamports: 3 }),
        SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: Keypair.generate().publicKey, lamports: 1_000_000 }),
      ],
    }).compileToV0Message();
    const quoted = (await connection.getFeeForMessage(msg)).value;
    const tx = new VersionedTransaction(msg);
    tx.sign([payer]);
    const before = await connection.getBalance(payer.publicKey);
    const sig = await connection.sendTransaction(tx);
    await connection.confirmTransaction({ signature: sig, blockhash, lastValidBlockHeight: (await connection.getBlockHeight()) + 150 });
    assert.equal(before - (await connection.getBalance(payer.publicKey)), 1_000_000 + quoted!);
    // 2 builtin instructions budget 3,000 CU each: ceil(3 x 6,000 / 1e6) = 1
    assert.equal(quoted, 5_001);
  });

  it("mints and transfers an SPL token", async () => {
    const mint = await createMint(connection, payer, payer.publicKey, null, 6);
    const from = await getOrCreateAssociatedTokenAccount(connection, payer, mint, payer.publicKey);
    const other = Keypair.generate().publicKey;
    const to = await getOrCreateAssociatedTokenAccount(connection, payer, mint, other);
    await mintTo(connection, payer, mint, from.address, payer, 5_000_000n);
    await transfer(connection, payer, from.address, to.address, payer, 1_250_000n);
    assert.equal((await getAccount(connection, from.address)).amount, 3_750_000n);
    assert.equal((await getAccount(connection, to.address)).amount, 1_250_000n);
    const tokenAccounts = await connection.getProgramAccounts(TOKEN_PROGRAM_ID, {
      filters: [{ dataSize: 165 }, { memcmp: { offset: 32, bytes: other.toBase58() } }],
    });
    assert.deepEqual(tokenAccounts.map((t) => t.pubkey.toBase58()), [to.address.toBase58()]);
  });

  it("fails preflight with -32002, the logs and no fee", async () => {
    const poor = Keypair.generate();
    await connection.confirmTransaction(await connection.requestAirdrop(poor.publicKey, 1_000_000));
    const before = await connection.getBalance(poor.publicKey);
    const tx = new Transaction().add(SystemProgram.transfer({ fromPubkey: poor.publicKey, toPubkey: payer.publicKey, lamports: 5_000_000 }));
    await assert.rejects(sendAndConfirmTransaction(connection, tx, [poor]), (e: unknown) => {
      assert.ok(e instanceof SendTransactionError);
      assert.ok(e.logs?.some((l) => l.includes("insufficient lamports")), String(e.logs));
      return true;
    });
    assert.equal(await connection.getBalance(poor.publicKey), before);
  });

  it("executes with skipPreflight, records the failure and charges the fee", async () => {
    const poor = Keypair.generate();
    await connection.confirmTransaction(await connection.requestAirdrop(poor.publicKey, 1_000_000));
    const latest = await connection.getLatestBlockhash();
    const tx = new Transaction({ feePayer: poor.publicKey, ...latest }).add(
      SystemProgram.transfer({ fromPubkey: poor.publicKey, toPubkey: payer.publicKey, lamports: 5_000_000 }),
    );
    tx.sign(poor);
    const sig = await connection.sendRawTransaction(tx.serialize(), { skipPreflight: true });
    const result = await connection.confirmTransaction({ signature: sig, ...latest });
    assert.deepEqual(result.value.err, { InstructionError: [0, { Custom: 1 }] });
    assert.equal(await connection.getBalance(poor.publicKey), 1_000_000 - 5_000);
  });

  it("simulates an unsigned v0 transaction with replaceRecentBlockhash", async () => {
    const msg = new TransactionMessage({
      payerKey: payer.publicKey,
      recentBlockhash: PublicKey.default.toBase58(),
      instructions: [SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: Keypair.generate().publicKey, lamports: 1_000_000 })],
    }).compileToV0Message();
    const sim = await connection.simulateTransaction(new VersionedTransaction(msg), { replaceRecentBlockhash: true, sigVerify: false });
    assert.equal(sim.value.err, null);
    assert.equal(sim.value.unitsConsumed, 150);
    assert.ok(sim.value.logs?.some((l) => l.includes("success")));
  });

  it("reports prioritization fees per writable account over the last 150 slots", async () => {
    const hot = Keypair.generate().publicKey;
    const tx = new Transaction().add(
      ComputeBudgetProgram.setComputeUnitPrice({ microLamports: 777_000 }),
      SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: hot, lamports: 1_000_000 }),
    );
    await sendAndConfirmTransaction(connection, tx, [payer]);
    const fees = await connection.getRecentPrioritizationFees({ lockedWritableAccounts: [hot] });
    assert.equal(fees.length, 150);
    assert.equal(Math.max(...fees.map((f) => f.prioritizationFee)), 777_000);
  });

  it("per slot: the lowest price landed, raised to the given accounts' lowest (Agave's rule)", () => {
    const cache = new PrioritizationFeeCache();
    const [a, b, c] = [Keypair.generate().publicKey, Keypair.generate().publicKey, Keypair.generate().publicKey];
    cache.record(10n, 0n, [a.toBytes()]);
    cache.record(10n, 777_000n, [b.toBytes()]);
    cache.record(10n, 900_000n, [b.toBytes(), c.toBytes()]);
    cache.record(12n, 5n, [c.toBytes()]);
    const fee = (keys: PublicKey[]) => Object.fromEntries(cache.recent(12n, keys).filter((f) => f.slot >= 10n).map((f) => [String(f.slot), f.prioritizationFee]));
    assert.deepEqual(fee([]), { "10": 0n, "11": 0n, "12": 5n });
    assert.deepEqual(fee([b]), { "10": 777_000n, "11": 0n, "12": 5n });
    assert.deepEqual(fee([a, c]), { "10": 900_000n, "11": 0n, "12": 5n });
    assert.equal(cache.recent(500n, []).length, 150);
  });

  it("notifies onAccountChange and onSlotChange", async () => {
    const watched = Keypair.generate().publicKey;
    const changed = new Promise<number>((resolve) => {
      const id = connection.onAccountChange(watched, (info) => {
        void connection.removeAccountChangeListener(id);
        resolve(info.lamports);
      });
    });
    const slot = new Promise<number>((resolve) => {
      const id = connection.onSlotChange((s) => {
        void connection.removeSlotChangeListener(id);
        resolve(s.slot);
      });
    });
    await new Promise((r) => setTimeout(r, 200));
    await sendAndConfirmTransaction(connection, new Transaction().add(SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: watched, lamports: 2_000_000 })), [payer]);
    assert.equal(await changed, 2_000_000);
    assert.ok((await slot) > 0);
  });

  it("notifies every subscriber of a changed account, each connection its own account and program notification", async () => {
    // The server reads each changed account once per transaction and shares it among subscriptions.
    const watched = Keypair.generate();
    const others = [new Connection(net.url, "confirmed"), new Connection(net.url, "confirmed")];
    const unsubscribe: (() => Promise<void>)[] = [];
    const notified = others.flatMap((c) => [
      new Promise<number>((resolve) => {
        const id = c.onAccountChange(watched.publicKey, (info) => resolve(info.lamports));
        unsubscribe.push(() => c.removeAccountChangeListener(id));
      }),
      new Promise<number>((resolve) => {
        const id = c.onProgramAccountChange(SystemProgram.programId, (keyed) => keyed.accountId.equals(watched.publicKey) && resolve(keyed.accountInfo.lamports));
        unsubscribe.push(() => c.removeProgramAccountChangeListener(id));
      }),
    ]);
    await new Promise((r) => setTimeout(r, 200));
    await sendAndConfirmTransaction(connection, new Transaction().add(SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: watched.publicKey, lamports: 3_000_000 })), [payer]);
    assert.deepEqual(await Promise.all(notified), [3_000_000, 3_000_000, 3_000_000, 3_000_000]);
    await Promise.all(unsubscribe.map((u) => u()));
  });

  it("rejects a blockhash older than 150 blocks, and reports it invalid", async () => {
    // A Connection of its own: web3.js caches a blockhash for 30 s, and this test ages 151 blocks at once.
    const own = new Connection(net.url, "confirmed");
    const old = await own.getLatestBlockhash();
    net.chain.timeTravel({ slot: net.chain.slot + 151n });
    assert.equal((await own.isBlockhashValid(old.blockhash)).value, false);
    const tx = new Transaction({ feePayer: payer.publicKey, ...old }).add(SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: payer.publicKey, lamports: 1 }));
    tx.sign(payer);
    await assert.rejects(own.sendRawTransaction(tx.serialize()), /BlockhashNotFound/);
    const fresh = await own.getLatestBlockhash();
    assert.equal((await own.isBlockhashValid(fresh.blockhash)).value, true);
  });

  it("answers minContextSlot ahead of the chain with -32016", async () => {
    const r = await rpc(net.url, "getBalance", [payer.publicKey.toBase58(), { minContextSlot: Number(net.chain.slot) + 1000 }]);
    assert.equal(r.error?.code, -32016);
  });

  // sendTransaction with preflight executes once: the preflight's execution is what lands. These pin what that
  // must not change: the preflight error, nothing landing on failure, landing exactly once, and the recorded meta.
  describe("sendTransaction with preflight executes once", () => {
    const send = (wire: Uint8Array, skipPreflight = false) =>
      rpc<string>(net.url, "sendTransaction", [Buffer.from(wire).toString("base64"), { encoding: "base64", skipPreflight }]);
    const transfer = async (from: Keypair, lamports: number, opts: { blockhash?: string; badSignature?: boolean } = {}) => {
      const blockhash = opts.blockhash ?? (await connection.getLatestBlockhash()).blockhash;
      const tx = new Transaction({ feePayer: from.publicKey, blockhash, lastValidBlockHeight: 0 }).add(
        SystemProgram.transfer({ fromPubkey: from.publicKey, toPubkey: payer.publicKey, lamports }),
      );
      tx.sign(from);
      const wire = tx.serialize();
      if (opts.badSignature) wire[64]! ^= 1;
      return wire;
    };
    const nothingLanded = async (signature: string, from: PublicKey, lamports: number) => {
      assert.deepEqual((await connection.getSignatureStatuses([signature])).value, [null]);
      assert.equal((await rpc(net.url, "getTransaction", [signature, { encoding: "json" }])).result, null);
      assert.deepEqual((await rpc(net.url, "getSignaturesForAddress", [from.toBase58()])).result, []);
      assert.equal(await connection.getBalance(from), lamports);
    };

    const failures: [string, (poor: Keypair) => Promise<Uint8Array>, string][] = [
      ["an instruction error (insufficient lamports)", (poor) => transfer(poor, 5_000_000), "Transaction simulation failed: Error processing Instruction 0: custom program error: 0x1"],
      ["a bad signature", (poor) => transfer(poor, 1_000, { badSignature: true }), "Transaction simulation failed: SignatureFailure"],
      ["an unknown blockhash", (poor) => transfer(poor, 1_000, { blockhash: Keypair.generate().publicKey.toBase58() }), "Transaction simulation failed: BlockhashNotFound"],
    ];
    for (const [what, build, message] of failures) {
      it(`a preflight failure on ${what} answers -32002 with the simulation's err, logs and units, and nothing lands`, async () => {
        const poor = Keypair.generate();
        await connection.confirmTransaction(await connection.requestAirdrop(poor.publicKey, 1_000_000));
        const wire = await build(poor);
        const sim = await rpc<{ value: Record<string, unknown> }>(net.url, "simulateTransaction", [Buffer.from(wire).toString("base64"), { encoding: "base64", sigVerify: true }]);
        const { err, logs, unitsConsumed, returnData } = sim.result!.value;
        const answer = await send(wire);
        assert.deepEqual(answer.error, { code: -32002, message, data: { err, logs, accounts: null, unitsConsumed, returnData } });
        await nothingLanded(signatureOf(wire), poor.publicKey, 1_000_000);
      });
    }

    it("the same bytes land after a failed preflight, since the failure never landed", async () => {
      const poor = Keypair.generate();
      await connection.confirmTransaction(await connection.requestAirdrop(poor.publicKey, 1_000_000));
      const wire = await transfer(poor, 2_000_000);
      assert.equal((await send(wire)).error?.code, -32002);
      await connection.confirmTransaction(await connection.requestAirdrop(poor.publicKey, 2_000_000));
      assert.equal((await send(wire)).result, signatureOf(wire));
      assert.equal(await connection.getBalance(poor.publicKey), 3_000_000 - 2_000_000 - 5_000);
    });

    it("the same transaction sent twice lands once, with preflight or without", async () => {
      const from = await fundedKeypair(connection, 1);
      const before = await connection.getBalance(from.publicKey);
      const wire = await transfer(from, 1_000_000);
      const signature = (await send(wire)).result!;
      assert.equal(signature, signatureOf(wire));
      const again = await send(wire);
      assert.equal(again.error?.code, -32002);
      assert.equal(again.error?.message, "Transaction simulation failed: AlreadyProcessed");
      assert.equal((await send(wire, true)).result, signature, "skipPreflight answers the signature and drops the duplicate");
      assert.equal(await connection.getBalance(from.publicKey), before - 1_000_000 - 5_000);
      const history = (await rpc<{ signature: string }[]>(net.url, "getSignaturesForAddress", [from.publicKey.toBase58()])).result!;
      assert.deepEqual(history.map((h) => h.signature), [signature]);
      const [status] = (await connection.getSignatureStatuses([signature])).value;
      assert.equal(status?.err, null);
    });

    it("records the same status meta whether the preflight's execution landed or LiteSVM's send", async () => {
      const meta = async (skipPreflight: boolean) => {
        const from = await fundedKeypair(connection, 1);
        const to = Keypair.generate().publicKey;
        const { blockhash } = await connection.getLatestBlockhash();
        const tx = new Transaction({ feePayer: from.publicKey, blockhash, lastValidBlockHeight: 0 }).add(
          ComputeBudgetProgram.setComputeUnitLimit({ units: 20_000 }),
          ComputeBudgetProgram.setComputeUnitPrice({ microLamports: 12_345 }),
          SystemProgram.transfer({ fromPubkey: from.publicKey, toPubkey: to, lamports: 3_000_000 }),
          new TransactionInstruction({ programId: MEMO_PROGRAM, keys: [], data: Buffer.from("once") }),
        );
        tx.sign(from);
        const signature = (await send(tx.serialize(), skipPreflight)).result!;
        const record = (await rpc<{ meta: Record<string, unknown> }>(net.url, "getTransaction", [signature, { encoding: "json" }])).result!;
        const [listed] = (await rpc<{ memo: string }[]>(net.url, "getSignaturesForAddress", [to.toBase58()])).result!;
        return { meta: record.meta, memo: listed?.memo };
      };
      const [landedPreflight, landedSkip] = [await meta(false), await meta(true)];
      assert.deepEqual(landedPreflight, landedSkip);
      assert.equal(landedPreflight.meta.fee, 5_000 + Math.ceil((12_345 * 20_000) / 1e6));
      assert.equal(landedPreflight.memo, "[4] once");
    });

    it("reads a transaction from the wire as web3.js does (legacy, v0 with a lookup table, two signers), and refuses what it refuses", () => {
      const [a, b] = [Keypair.generate(), Keypair.generate()];
      const table = new AddressLookupTableAccount({
        key: Keypair.generate().publicKey,
        state: { deactivationSlot: 2n ** 64n - 1n, lastExtendedSlot: 0, lastExtendedSlotStartIndex: 0, addresses: [Keypair.generate().publicKey] },
      });
      const ixs = [
        SystemProgram.transfer({ fromPubkey: a.publicKey, toPubkey: table.state.addresses[0]!, lamports: 1 }),
        SystemProgram.transfer({ fromPubkey: b.publicKey, toPubkey: Keypair.generate().publicKey, lamports: 1 }),
        new TransactionInstruction({ programId: MEMO_PROGRAM, keys: [], data: Buffer.alloc(300, 7) }),
      ];
      const blockhash = Keypair.generate().publicKey.toBase58();
      const legacy = new VersionedTransaction(new TransactionMessage({ payerKey: a.publicKey, recentBlockhash: blockhash, instructions: ixs }).compileToLegacyMessage());
      const v0 = new VersionedTransaction(new TransactionMessage({ payerKey: a.publicKey, recentBlockhash: blockhash, instructions: ixs }).compileToV0Message([table]));
      const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
      for (const tx of [legacy, v0]) {
        tx.sign([a, b]);
        const wire = tx.serialize();
        const ours = parseTransaction(wire);
        const m = tx.message;
        const theirs = VersionedTransaction.deserialize(wire);
        assert.deepEqual(
          {
            version: ours.version,
            signature: hex(ours.signature),
            header: ours.header,
            keys: ours.staticKeys.map(hex),
            blockhash: bs58.encode(ours.recentBlockhash),
            instructions: ours.compiledInstructions.map((ix) => ({ ...ix, data: hex(ix.data) })),
            lookups: ours.addressTableLookups.map((l) => ({ ...l, accountKey: l.accountKey.toBase58() })),
            writable: ours.staticKeys.map((_, i) => isStaticWritable(ours, i)),
          },
          {
            version: theirs.version,
            signature: hex(theirs.signatures[0]!),
            header: m.header,
            keys: m.staticAccountKeys.map((k) => k.toBuffer().toString("hex")),
            blockhash,
            instructions: m.compiledInstructions.map((ix) => ({ ...ix, data: hex(ix.data) })),
            lookups: m.addressTableLookups.map((l) => ({ ...l, accountKey: l.accountKey.toBase58() })),
            writable: m.staticAccountKeys.map((_, i) => m.isAccountWritable(i)),
          },
          `version ${tx.version}`,
        );
        // Truncated anywhere, refused (web3.js reads a missing final length as 0, and so accepts a v0 cut by its last byte).
        for (const cut of [0, 1, 65, 100, wire.length - 1]) assert.throws(() => parseTransaction(wire.subarray(0, cut)), RangeError, `cut at ${cut}`);
      }
      const v1 = v0.serialize();
      v1[1 + 2 * 64] = 0x81;
      assert.throws(() => VersionedTransaction.deserialize(v1));
      assert.throws(() => parseTransaction(v1), /version 1 is not supported/);
    });
  });
});

function signatureOf(wire: Uint8Array): string {
  return bs58.encode(wire.subarray(1, 65));
}
