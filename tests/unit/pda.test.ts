import { strict as assert } from "node:assert";
import {
  CUSTODY_SYMBOLS,
  MAINNET,
  custodyPda,
  custodyTokenAccountPda,
  eventAuthorityPda,
  lpTokenMintPda,
  perpetualsPda,
  poolPda,
  pythPriceFeedPda,
  transferAuthorityPda,
} from "../../programs-client";

// reference/jupiter-perps.md §4 and pyth.md §3.
describe("PDAs", () => {
  const table: [string, () => string, string][] = [
    ["perpetuals", () => perpetualsPda().toBase58(), "H4ND9aYttUVLFmNypZqLjZ52FYiGvdEB45GmwNoKEjTj"],
    ["transfer authority", () => transferAuthorityPda().toBase58(), "AVzP2GeRmqGphJsMxWoqjpUifPpCret7LqWhD8NWQK49"],
    ["event authority", () => eventAuthorityPda().toBase58(), "37hJBDnntwqhGbK7L6M1bLyvccj4u55CCUiLPdYkiqBN"],
    ["JLP pool", () => poolPda("Pool").toBase58(), "5BUwFW4nRbftYTDMbgxykoFWqWHPzahFSNAaaaJtVKsq"],
    ["JLP mint", () => lpTokenMintPda(poolPda()).toBase58(), "27G8MtK7VtTcCHkpASjSDdkWWYfoqT6ggEuKidVJidD4"],
  ];
  for (const [name, derive, expected] of table) {
    it(`${name} = ${expected}`, () => assert.equal(derive(), expected));
  }

  for (const symbol of CUSTODY_SYMBOLS) {
    const c = MAINNET.custodies[symbol];
    it(`${symbol} custody and custody token account`, () => {
      assert.equal(custodyPda(MAINNET.pool, c.mint).toBase58(), c.custody.toBase58());
      assert.equal(custodyTokenAccountPda(MAINNET.pool, c.mint).toBase58(), c.tokenAccount.toBase58());
    });
    it(`${symbol} Pyth shard-0 price feed account`, () => {
      assert.equal(pythPriceFeedPda(c.pythFeedIdHex).toBase58(), c.pythPriceUpdate.toBase58());
    });
  }

  it("the address table spells the reference's custody addresses", () => {
    assert.deepEqual(
      CUSTODY_SYMBOLS.map((s) => MAINNET.custodies[s].custody.toBase58()),
      [
        "7xS2gz2bTp3fwCC7knJvUWTEU9Tycczu6VhJYKgi1wdz",
        "AQCGyheWPLeo6Qp9WpYS9m3Qj479t7R636N9ey1rEjEn",
        "5Pv3gM9JrFFH883SWAhvJC9RPYmo8UNxuFtv5bMMALkm",
        "G18jKKXQwBbrHeiK3C9MRXhkHsLHf7XgCSisykV46EZa",
        "4vkNeXiYEUizLdrpdPS1eC2mccyM4NUPRtERrk6ZETkk",
      ],
    );
  });

  it("rejects a feed id that is not 32 bytes", () => {
    assert.throws(() => pythPriceFeedPda("abcd"), RangeError);
  });
});
