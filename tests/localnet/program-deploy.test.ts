import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Keypair, Transaction, TransactionInstruction } from "@solana/web3.js";
import { BPF_LOADER_UPGRADEABLE, deployWithUpgradeableLoader } from "../../localnet/programs/deploy";
import { PERPS_SO_PATH } from "../../localnet/programs/paths";
import { readObject } from "../../localnet/programs/sbf-linker/elf";
import { LinkError, link } from "../../localnet/programs/sbf-linker/link";
import { LocalChain } from "../../localnet/validator/chain";

type Send = (chain: LocalChain, wire: Uint8Array) => ReturnType<LocalChain["sendTransaction"]>;

// Both ways a transaction lands: executed by LiteSVM's send (skipPreflight), and the preflight's own execution
// committed account by account, which must leave the loader's program cache as LiteSVM's send does.
const SEND_PATHS: [string, Send][] = [
  ["skipPreflight", (chain, wire) => chain.sendTransaction(wire)],
  ["preflight (its execution committed)", (chain, wire) => chain.sendWithPreflight(wire)],
];

function sender(chain: LocalChain, payer: Keypair, send: Send) {
  return (tx: Transaction, signers: Keypair[]) => {
    tx.feePayer = payer.publicKey;
    tx.recentBlockhash = chain.latestBlockhash().blockhash;
    tx.sign(...signers);
    const out = send(chain, tx.serialize());
    if (out.err) throw new Error(`${JSON.stringify(out.err)}\n${out.logs.join("\n")}`);
  };
}

function clang(): string | undefined {
  for (const c of [process.env.CLANG, "clang-14", "clang-19"].filter((c): c is string => !!c)) {
    try {
      execFileSync(c, ["--version"], { stdio: "ignore" });
      return c;
    } catch {
      // next
    }
  }
  return undefined;
}

describe("stand-in Jupiter Perps program: deployment", function () {
  this.timeout(60_000);

  for (const [path, send] of SEND_PATHS) it(`deploys through the upgradeable loader (deploy-time ELF checks and verifier) and runs: ${path}`, async () => {
    const chain = new LocalChain();
    const payer = Keypair.generate();
    chain.airdrop(payer.publicKey, 100_000_000_000n);
    const program = Keypair.generate();
    const so = readFileSync(PERPS_SO_PATH);
    const { programData } = await deployWithUpgradeableLoader(sender(chain, payer, send), { payer, program, so, rent: (n) => Number(chain.minimumBalanceForRentExemption(n)) });
    const account = chain.getAccount(program.publicKey);
    assert.ok(account?.executable && account.owner.equals(BPF_LOADER_UPGRADEABLE));
    assert.ok(chain.getAccount(programData)!.data.subarray(45, 45 + so.length).equals(so), "ProgramData holds the ELF after its 45-byte header");
    // An unknown instruction reaches the program's dispatcher: Anchor's InstructionFallbackNotFound (101).
    chain.advanceSlot();
    const tx = new Transaction().add(new TransactionInstruction({ programId: program.publicKey, keys: [], data: Buffer.alloc(8) }));
    tx.feePayer = payer.publicKey;
    tx.recentBlockhash = chain.latestBlockhash().blockhash;
    tx.sign(payer);
    const out = send(chain, tx.serialize());
    assert.deepEqual(out.err, { InstructionError: [0, { Custom: 101 }] });
    assert.ok(out.logs.some((l) => l.includes("InstructionFallbackNotFound")));
  });

  describe("the SBF linker", function () {
    const cc = clang();
    let dir: string;
    before(function () {
      if (!cc) {
        console.log("      (skipped: no clang-14/clang-19 on this machine; apt-get install -y clang-14 to run the linker tests)");
        this.skip();
      }
      dir = mkdtempSync(join(tmpdir(), "sbf-link-test-"));
    });
    after(() => dir && rmSync(dir, { recursive: true, force: true }));

    const compile = (name: string, source: string) => {
      writeFileSync(join(dir, `${name}.c`), source);
      const obj = join(dir, `${name}.o`);
      execFileSync(cc!, ["-target", "bpf", "-mcpu=v2", "-O2", "-ffreestanding", "-fno-builtin", "-nostdlib", "-c", join(dir, `${name}.c`), "-o", obj]);
      return readObject(obj, readFileSync(obj));
    };

    it("refuses writable globals, which SBPFv0 cannot map", () => {
      const obj = compile("writable", "unsigned long long counter; unsigned long long entrypoint(const unsigned char *in) { return ++counter; }");
      assert.throws(() => link([obj]), (e: unknown) => e instanceof LinkError && /writable\/bss section/.test(e.message));
    });

    it("refuses an object without the entry function", () => {
      const obj = compile("noentry", "unsigned long long not_the_entry(void) { return 0; }");
      assert.throws(() => link([obj]), /entry function entrypoint is not defined/);
    });

    it("links two objects: a call across them and a syscall, loaded and run by the runtime", () => {
      const a = compile("a", 'void sol_log_(const char *, unsigned long long); unsigned long long twice(unsigned long long); unsigned long long entrypoint(const unsigned char *in) { sol_log_("linked", 6); return twice(21) == 42 ? 0 : 1; }');
      const b = compile("b", "unsigned long long twice(unsigned long long x) { return 2 * x; }");
      const so = link([a, b]);
      const chain = new LocalChain();
      const id = Keypair.generate().publicKey;
      chain.svm.addProgram(id.toBytes(), so);
      const payer = Keypair.generate();
      chain.airdrop(payer.publicKey, 1_000_000_000n);
      const tx = new Transaction({ feePayer: payer.publicKey, recentBlockhash: chain.latestBlockhash().blockhash }).add(new TransactionInstruction({ programId: id, keys: [], data: Buffer.alloc(0) }));
      tx.sign(payer);
      const out = chain.sendTransaction(tx.serialize());
      assert.equal(out.err, null, out.logs.join("\n"));
      assert.ok(out.logs.includes("Program log: linked"));
    });

    it("rebuilds the committed program byte for byte", () => {
      const out = execFileSync(process.execPath, ["-r", "tsx/cjs", join(__dirname, "../../localnet/programs/build.ts"), "--check"], { encoding: "utf8" });
      assert.match(out, /is up to date/);
    });
  });
});
