import { strict as assert } from "node:assert";
import { Keypair, SystemProgram } from "@solana/web3.js";
import bs58 from "bs58";
import type { RawAccount } from "../../programs-client";
import { type DecodedSubscribeRequest, matchingFilters, parseSubscription } from "../../localnet/validator/geyser-filter";

const program = Keypair.generate().publicKey;
const other = Keypair.generate().publicKey;
const key = Keypair.generate().publicKey.toBase58();
const account = (owner = program, data = Buffer.from([1, 2, 3, 4, 5, 6])): RawAccount => ({ owner, data, lamports: 1, executable: false });
const memcmp = (offset: number, bytes: Buffer) => ({ filter: "memcmp", memcmp: { offset: String(offset), data: "bytes", bytes } });

function sub(req: DecodedSubscribeRequest) {
  const s = parseSubscription(req);
  if ("error" in s) throw new Error(s.error);
  return s;
}

describe("localnet Geyser filters (Yellowstone's rules: every condition of a named filter, any named filter)", () => {
  const cases: Array<{ name: string; req: DecodedSubscribeRequest; account: RawAccount; pubkey?: string; matches: string[] }> = [
    { name: "by address", req: { accounts: { a: { account: [key] } } }, account: account(), matches: ["a"] },
    { name: "another address", req: { accounts: { a: { account: [other.toBase58()] } } }, account: account(), matches: [] },
    { name: "by owner", req: { accounts: { o: { owner: [program.toBase58()] } } }, account: account(), matches: ["o"] },
    { name: "owner and a memcmp that holds", req: { accounts: { o: { owner: [program.toBase58()], filters: [memcmp(2, Buffer.from([3, 4]))] } } }, account: account(), matches: ["o"] },
    { name: "owner and a memcmp that does not", req: { accounts: { o: { owner: [program.toBase58()], filters: [memcmp(2, Buffer.from([4]))] } } }, account: account(), matches: [] },
    { name: "memcmp past the data's end", req: { accounts: { o: { owner: [program.toBase58()], filters: [memcmp(5, Buffer.from([6, 7]))] } } }, account: account(), matches: [] },
    { name: "memcmp in base58", req: { accounts: { o: { filters: [{ filter: "memcmp", memcmp: { offset: "0", data: "base58", base58: bs58.encode([1, 2]) } }] } } }, account: account(), matches: ["o"] },
    { name: "memcmp in base64", req: { accounts: { o: { filters: [{ filter: "memcmp", memcmp: { offset: "4", data: "base64", base64: Buffer.from([5, 6]).toString("base64") } }] } } }, account: account(), matches: ["o"] },
    { name: "datasize", req: { accounts: { d: { owner: [program.toBase58()], filters: [{ filter: "datasize", datasize: "6" }] }, e: { filters: [{ filter: "datasize", datasize: "7" }] } } }, account: account(), matches: ["d"] },
    { name: "address and owner must both hold", req: { accounts: { a: { account: [key], owner: [other.toBase58()] } } }, account: account(), matches: [] },
    { name: "several named filters: each that matches is listed", req: { accounts: { a: { account: [key] }, o: { owner: [program.toBase58()] }, x: { owner: [other.toBase58()] } } }, account: account(), matches: ["a", "o"] },
    { name: "a closed account (System-owned, no data) leaves an owner filter", req: { accounts: { o: { owner: [program.toBase58()] }, a: { account: [key] } } }, account: account(SystemProgram.programId, Buffer.alloc(0)), matches: ["a"] },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.matches.length ? c.matches.join(", ") : "no filter"}`, () => {
      assert.deepEqual(matchingFilters(sub(c.req), c.pubkey ?? key, c.account), c.matches);
    });
  }

  const refused: Array<{ name: string; req: DecodedSubscribeRequest; error: RegExp }> = [
    { name: "transactions", req: { transactions: { t: {} } }, error: /accounts and slots only; remove the transactions filter/ },
    { name: "blocks", req: { blocks: { b: {} } }, error: /remove the blocks filter/ },
    { name: "from_slot", req: { fromSlot: "1" }, error: /from_slot is not supported/ },
    { name: "a data slice", req: { accountsDataSlice: [{ offset: "0", length: "8" }] }, error: /accounts_data_slice/ },
    { name: "five filters", req: { accounts: { o: { filters: [1, 2, 3, 4, 5].map((i) => memcmp(i, Buffer.from([i]))) } } }, error: /at most 4 filters, got 5/ },
    { name: "a lamports filter", req: { accounts: { o: { filters: [{ filter: "lamports" }] } } }, error: /only memcmp and datasize .* got lamports/ },
    { name: "a memcmp without data", req: { accounts: { o: { filters: [{ filter: "memcmp", memcmp: { offset: "0" } }] } } }, error: /memcmp without data/ },
    { name: "an invalid pubkey", req: { accounts: { o: { owner: ["not-a-key"] } } }, error: /invalid pubkey "not-a-key"/ },
  ];
  for (const c of refused) {
    it(`refuses ${c.name}`, () => {
      const s = parseSubscription(c.req);
      assert.ok("error" in s, "refused");
      assert.match(s.error, c.error);
    });
  }

  it("slots: the names, filter_by_commitment, and the request's commitment", () => {
    assert.deepEqual(sub({ slots: { s: { filterByCommitment: true }, t: {} }, commitment: 1 }), { accounts: [], slots: [{ name: "s", filterByCommitment: true }, { name: "t", filterByCommitment: false }], commitment: 1 });
  });
});
