import { strict as assert } from "node:assert";
import { PublicKey } from "@solana/web3.js";
import {
  MAINNET,
  associatedTokenAddress,
  custodyPda,
  custodyTokenAccountPda,
  eventAuthorityPda,
  lpTokenMintPda,
  perpetualsPda,
  poolPda,
  positionPda,
  positionRequestPda,
  pythPriceFeedPda,
  transferAuthorityPda,
} from "../../programs-client";
import { readVectorText } from "./borsh-oracle";
import { TX_BORROW, VIXEN, ixAt } from "./mainnet-vectors";

// PDAs derived from the seed rules in vectors/pda-seeds.txt (public sources) must land on the mainnet addresses
// and bumps vixen recorded; programs-client's derivations must land on the same.
type Arg = PublicKey | bigint | number | string;
const RULES = new Map(
  readVectorText("pda-seeds.txt")
    .split("\n")
    .filter((l) => l.includes("|") && !l.startsWith("#"))
    .map((l) => {
      const [name, program, seeds] = l.split("|") as [string, string, string];
      return [name, { program: new PublicKey(program), seeds: seeds.split(",") }];
    }),
);
const SOL_FEED = /sol_usd_feed_id=([0-9a-f]+)/.exec(readVectorText("pda-seeds.txt"))![1]!;

function derive(name: string, args: Record<string, Arg> = {}): { address: string; bump: number } {
  const rule = RULES.get(name);
  if (!rule) throw new Error(`pda-seeds.txt has no rule ${name}`);
  const arg = (k: string) => {
    if (!(k in args)) throw new Error(`${name}: seed argument ${k} not given`);
    return args[k]!;
  };
  const seeds = rule.seeds.map((s) => {
    if (s.startsWith('"')) return Buffer.from(s.slice(1, -1));
    if (s.startsWith("<")) {
      const v = arg(s.slice(1, -1));
      return typeof v === "string" ? Buffer.from(v, "hex") : (v as PublicKey).toBuffer();
    }
    const [kind, k] = s.split(":") as [string, string];
    const v = arg(k);
    if (kind === "utf8") return Buffer.from(v as string);
    const b = Buffer.alloc({ u8: 1, u16le: 2, u64le: 8 }[kind]!);
    if (kind === "u8") b.writeUInt8(Number(v));
    else if (kind === "u16le") b.writeUInt16LE(Number(v));
    else b.writeBigUInt64LE(BigInt(v as bigint));
    return b;
  });
  const [address, bump] = PublicKey.findProgramAddressSync(seeds, rule.program);
  return { address: address.toBase58(), bump };
}

const pk = (s: string) => new PublicKey(s);
const POOL = pk(VIXEN.pool.address);
const SOL_MINT = pk("So11111111111111111111111111111111111111112");
const TOKEN = pk("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
const dec = VIXEN.decreasePositionWithTpslAccounts.accounts;
const close = VIXEN.closePositionRequest2Accounts.accounts;
const borrow = ixAt(TX_BORROW, 2, 0).accounts;

describe("conformance: PDAs against mainnet addresses", () => {
  const cases: [string, Record<string, Arg>, string, number | undefined][] = [
    ["perpetuals", {}, dec.perpetuals, undefined],
    ["transfer_authority", {}, dec.transferAuthority, undefined],
    ["event_authority", {}, dec.eventAuthority, undefined],
    ["pool", { name: VIXEN.pool.fields.name as string }, VIXEN.pool.address, Number(VIXEN.pool.fields.bump)],
    ["custody", { pool: POOL, mint: SOL_MINT }, VIXEN.custody.address, Number(VIXEN.custody.fields.bump)],
    ["custody_token_account", { pool: POOL, mint: SOL_MINT }, VIXEN.custody.fields.tokenAccount as string, Number(VIXEN.custody.fields.tokenAccountBump)],
    ["lp_token_mint", { pool: POOL }, borrow[8]!, Number(VIXEN.pool.fields.lpTokenBump)],
    ["position", { owner: pk(dec.owner), pool: POOL, custody: pk(dec.custody), collateralCustody: pk(dec.collateralCustody), side: 1 }, dec.position, undefined],
    ["borrow_lend", { pool: POOL, owner: pk(borrow[0]!), custody: pk(borrow[3]!) }, borrow[5]!, undefined],
    ["associated_token_account", { wallet: pk(close.owner), tokenProgram: TOKEN, mint: SOL_MINT }, close.ownerAta, undefined],
    ["associated_token_account", { wallet: pk(close.positionRequest), tokenProgram: TOKEN, mint: SOL_MINT }, close.positionRequestAta, undefined],
    ["pyth_price_feed", { shard: 0, feedId: SOL_FEED }, VIXEN.custody.fields["oracle.oracleAccount"] as string, undefined],
  ];
  for (const [name, args, expected, bump] of cases) {
    it(`${name} from its public seed rule is the mainnet ${expected}${bump === undefined ? "" : ` with the stored bump ${bump}`}`, () => {
      const d = derive(name, args);
      assert.equal(d.address, expected);
      if (bump !== undefined) assert.equal(d.bump, bump);
    });
  }

  it("programs-client's fixed PDAs are the mainnet ones", () => {
    assert.deepEqual(
      [perpetualsPda(), transferAuthorityPda(), eventAuthorityPda(), poolPda(), custodyPda(POOL, SOL_MINT), custodyTokenAccountPda(POOL, SOL_MINT), lpTokenMintPda(POOL), pythPriceFeedPda(SOL_FEED, 0)].map(String),
      [dec.perpetuals, dec.transferAuthority, dec.eventAuthority, VIXEN.pool.address, VIXEN.custody.address, VIXEN.custody.fields.tokenAccount, borrow[8], VIXEN.custody.fields["oracle.oracleAccount"]],
    );
  });

  it("programs-client's positionPda reproduces the mainnet long SOL position of transaction 3MnCnWjL", () => {
    assert.equal(positionPda(pk(dec.owner), POOL, pk(dec.custody), pk(dec.collateralCustody), "long").toBase58(), dec.position);
  });

  it("programs-client's associatedTokenAddress reproduces the owner's and the request's (off-curve) ATAs of transaction 3MnCnWjL", () => {
    assert.equal(associatedTokenAddress(SOL_MINT, pk(close.owner)).toBase58(), close.ownerAta);
    assert.equal(associatedTokenAddress(SOL_MINT, pk(close.positionRequest)).toBase58(), close.positionRequestAta);
  });

  const owner = pk(dec.owner);
  for (const side of ["long", "short"] as const) {
    for (const [custody, collateral] of [["SOL", side === "long" ? "SOL" : "USDC"], ["BTC", side === "long" ? "BTC" : "USDC"]] as const) {
      it(`programs-client positionPda = the public rule: ${side} ${custody} collateral ${collateral}`, () => {
        const c = MAINNET.custodies[custody].custody;
        const cc = MAINNET.custodies[collateral].custody;
        assert.equal(positionPda(owner, POOL, c, cc, side).toBase58(), derive("position", { owner, pool: POOL, custody: c, collateralCustody: cc, side: side === "long" ? 1 : 2 }).address);
      });
    }
  }

  for (const counter of [0n, 1n, 1_733_000_000_123n, 0xffff_ffff_ffff_ffffn]) {
    for (const change of ["increase", "decrease"] as const) {
      it(`programs-client positionRequestPda = the public rule: counter ${counter}, ${change}`, () => {
        const position = pk(dec.position);
        assert.equal(positionRequestPda(position, counter, change).toBase58(), derive("position_request", { position, counter, requestChange: change === "increase" ? 1 : 2 }).address);
      });
    }
  }

  for (const [i, symbol] of (["SOL", "ETH", "BTC", "USDC", "USDT"] as const).entries()) {
    it(`programs-client's ${symbol} mint and token account derive the mainnet pool's custody #${i} and its token account`, () => {
      const c = MAINNET.custodies[symbol];
      assert.equal(derive("custody", { pool: POOL, mint: c.mint }).address, VIXEN.pool.fields[`custodies.${i}`]);
      assert.equal(derive("custody_token_account", { pool: POOL, mint: c.mint }).address, c.tokenAccount.toBase58());
      assert.equal(derive("pyth_price_feed", { shard: 0, feedId: c.pythFeedIdHex }).address, c.pythPriceUpdate.toBase58());
    });
  }

  it("programs-client's custody table matches the mainnet pool's custodies, SOL's token account, oracles and the borrow transaction's Doves feeds", () => {
    const table = MAINNET.custodies;
    assert.deepEqual(
      [table.SOL, table.ETH, table.BTC, table.USDC, table.USDT].map((c) => c.custody.toBase58()),
      [0, 1, 2, 3, 4].map((i) => VIXEN.pool.fields[`custodies.${i}`]),
    );
    // borrowFromCustody passes every custody then every custody's Doves aggregated feed as remaining accounts (vixen).
    assert.deepEqual([table.SOL, table.ETH, table.BTC, table.USDC, table.USDT].map((c) => c.dovesAg.toBase58()), borrow.slice(17, 22));
    const f = VIXEN.custody.fields;
    assert.deepEqual(
      [table.SOL.tokenAccount, table.SOL.pythPriceUpdate, table.SOL.dovesEdge, table.SOL.dovesAg, table.SOL.mint].map(String),
      [f.tokenAccount, f["oracle.oracleAccount"], f.dovesOracle, f.dovesAgOracle, f.mint],
    );
    assert.equal(MAINNET.perpetuals.toBase58(), dec.perpetuals);
    assert.equal(MAINNET.jlpMint.toBase58(), borrow[8]);
  });
});
