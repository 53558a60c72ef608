import { strict as assert } from "node:assert";
import { Keypair, PublicKey } from "@solana/web3.js";
import {
  MAINNET,
  POSITION_ACCOUNT_SIZE,
  POSITION_REQUEST_ACCOUNT_SIZE,
  PROGRAM_IDS,
  decodeAccount,
  encodeAccount,
  matchesFilters,
  ownedAccountFilters,
} from "../../programs-client";
import { MemoryAccountSource } from "../../keeper/market/account-source";
import { readMarketSnapshot } from "../../keeper/market/reader";
import { DUMPS, loadDump, requireReference } from "../helpers/reference";
import { type PublicIdl, type Value, keyValues, loadVector, perpsOracle } from "./borsh-oracle";
import { asVectorValue, at, diffValues } from "./compare";
import { VIXEN, VIXEN_ACCOUNTS } from "./mainnet-vectors";

// Account layouts and sizes the keeper reads, from the public IDL and public indexers, against programs-client
// and the keeper's market reader.
const perps = perpsOracle();
const julian = loadVector<PublicIdl>("jupiter-perpetuals.julianfssen.idl.json");
const sonar = keyValues("sonarwatch-filters.txt");
const PERPS = new PublicKey("PERPHjGBqRHArX4DySjwM6UJHiR3sWAatqfdBS2qQJu");
const KINDS = ["Perpetuals", "Pool", "Custody", "Position", "PositionRequest"] as const;

const owner = Keypair.generate().publicKey;
const pk = () => Keypair.generate().publicKey.toBase58();
const positionValue = (o: PublicKey): { [k: string]: Value } => ({
  owner: o.toBase58(),
  pool: MAINNET.pool.toBase58(),
  custody: MAINNET.custodies.SOL.custody.toBase58(),
  collateralCustody: MAINNET.custodies.SOL.custody.toBase58(),
  openTime: 1_770_648_474n,
  updateTime: 1_770_650_409n,
  side: "Long",
  price: 84_500_000n,
  sizeUsd: 3_285_360_000n,
  collateralUsd: 82_192_851n,
  realisedPnlUsd: -1_234_567n,
  cumulativeInterestSnapshot: 989_574_039n,
  lockedAmount: 38_880_000_000n,
  bump: 255n,
});
const requestValue = (o: PublicKey): { [k: string]: Value } => ({
  owner: o.toBase58(),
  pool: MAINNET.pool.toBase58(),
  custody: MAINNET.custodies.ETH.custody.toBase58(),
  position: pk(),
  mint: MAINNET.custodies.USDC.mint.toBase58(),
  openTime: 1_770_650_022n,
  updateTime: 1_770_650_022n,
  sizeUsdDelta: 25_000_000_000n,
  collateralDelta: 8_333_333_333n,
  requestChange: "Increase",
  requestType: "Market",
  side: "Short",
  priceSlippage: 2_900_000_000n,
  jupiterMinimumOut: null,
  preSwapAmount: null,
  triggerPrice: null,
  triggerAboveThreshold: null,
  entirePosition: null,
  executed: false,
  counter: 1_733_000_000_123n,
  bump: 254n,
  referral: pk(),
});

describe("conformance: account layouts and sizes", () => {
  it("both public IDLs agree on Perpetuals, Position and PositionRequest; julianfssen's older Pool and Custody are prefixes of monakki's", () => {
    const fields = (idl: PublicIdl, n: string) => JSON.stringify((idl.accounts ?? []).find((a) => a.name === n)!.type);
    for (const n of ["Perpetuals", "Position", "PositionRequest"]) assert.equal(fields(julian, n), fields(perps.idl, n), n);
    for (const n of ["Pool", "Custody"]) {
      const newer = (perps.idl.accounts ?? []).find((a) => a.name === n)!.type as { fields: unknown[] };
      const older = (julian.accounts ?? []).find((a) => a.name === n)!.type as { fields: unknown[] };
      assert.equal(JSON.stringify(newer.fields.slice(0, older.fields.length)), JSON.stringify(older.fields), n);
    }
  });

  it("Borsh sizes from the public IDL: Position 210 bytes with its discriminator, PositionRequest up to 286", () => {
    assert.equal(8 + perps.borshMaxSize({ defined: "Position" })!, 210);
    assert.equal(8 + perps.borshMaxSize({ defined: "PositionRequest" })!, 286);
  });

  it(`allocated sizes: 8 + the Rust layout of the public IDL's structs = sonarwatch's dataSize filters (${sonar.get("Position.dataSize")}, ${sonar.get("PositionRequest.dataSize")})`, () => {
    assert.equal(8 + perps.rustLayout({ defined: "Position" }).size, Number(sonar.get("Position.dataSize")));
    assert.equal(8 + perps.rustLayout({ defined: "PositionRequest" }).size, Number(sonar.get("PositionRequest.dataSize")));
  });

  it("programs-client's allocated sizes are the mainnet ones", () => {
    assert.equal(POSITION_ACCOUNT_SIZE, Number(sonar.get("Position.dataSize")), "POSITION_ACCOUNT_SIZE");
    assert.equal(POSITION_REQUEST_ACCOUNT_SIZE, Number(sonar.get("PositionRequest.dataSize")), "POSITION_REQUEST_ACCOUNT_SIZE");
  });

  it("the owner sits at offset 8 in Position and PositionRequest, as sonarwatch's memcmp assumes", () => {
    for (const n of ["Position", "PositionRequest"]) {
      const def = perps.def(n).type;
      assert.equal(def.kind === "struct" ? def.fields[0]!.name : def.kind, "owner", `${n}'s first field`);
      assert.equal(Number(sonar.get(`${n}.ownerOffset`)), 8);
    }
  });

  for (const [kind, value, size] of [
    ["Position", positionValue(owner), 216],
    ["PositionRequest", requestValue(owner), 312],
  ] as const) {
    it(`${kind}: a ${size}-byte mainnet-sized account built by the oracle decodes in programs-client field for field`, () => {
      const bytes = perps.encodeAccount(kind, value, size);
      const d = decodeAccount(kind, bytes, PERPS);
      assert.ok(d.ok, d.ok ? "" : d.error.message);
      assert.deepEqual(diffValues(value, d.value), []);
    });

    it(`${kind}: programs-client encodes the same bytes as the oracle, padded to ${size}`, () => {
      const bytes = perps.encodeAccount(kind, value, size);
      const d = decodeAccount(kind, bytes, PERPS);
      assert.ok(d.ok);
      assert.equal(encodeAccount(kind, d.value, size).toString("hex"), bytes.toString("hex"));
    });

    it(`${kind}: the keeper's getProgramAccounts filters match a ${size}-byte account of the owner and no other owner's`, () => {
      const mine = { owner: PERPS, data: perps.encodeAccount(kind, value, size), lamports: 1 };
      const other = { owner: PERPS, data: perps.encodeAccount(kind, { ...value, owner: pk() }, size), lamports: 1 };
      assert.equal(matchesFilters(mine, ownedAccountFilters(kind, owner)), true);
      assert.equal(matchesFilters(other, ownedAccountFilters(kind, owner)), false);
    });
  }

  it("the keeper's market reader lists a 216-byte Position and a 312-byte PositionRequest of its owner, and nothing of another owner", async () => {
    const source = new MemoryAccountSource();
    const mine = Keypair.generate().publicKey;
    const position = Keypair.generate().publicKey;
    const request = Keypair.generate().publicKey;
    source.set(position, { owner: PERPS, data: perps.encodeAccount("Position", positionValue(mine), 216), lamports: 2_394_240 });
    source.set(request, { owner: PERPS, data: perps.encodeAccount("PositionRequest", requestValue(mine), 312), lamports: 3_062_400 });
    source.set(Keypair.generate().publicKey, { owner: PERPS, data: perps.encodeAccount("Position", positionValue(Keypair.generate().publicKey), 216), lamports: 2_394_240 });
    const snap = await readMarketSnapshot(source, { owner: mine, markets: [], nowSec: 1_770_650_500n });
    assert.deepEqual(snap.positions.map((p) => p.address.toBase58()), [position.toBase58()], `the reader's positions (snapshot issues, for context: ${snap.issues.join("; ") || "none"})`);
    assert.deepEqual(snap.requests.map((r) => r.address.toBase58()), [request.toBase58()]);
    assert.deepEqual(diffValues(positionValue(mine), snap.positions[0]!.position), []);
  });

  describe("real mainnet Pool and Custody (vendored from yellowstone-vixen)", () => {
    for (const acc of VIXEN_ACCOUNTS) {
      const kind = acc.pubkey === VIXEN.pool.address ? "Pool" : "Custody";
      const expected = kind === "Pool" ? VIXEN.pool.fields : VIXEN.custody.fields;
      const data = Buffer.from(acc.dataHex, "hex");
      it(`${kind} ${acc.pubkey} (${data.length} bytes): the oracle reads the values vixen's own test asserts`, () => {
        const { value, consumed } = perps.decodeAccount(kind, data);
        assert.ok(consumed <= data.length);
        const got = Object.fromEntries(Object.keys(expected).map((k) => [k, asVectorValue(at(value, k))]));
        assert.deepEqual(got, expected);
      });
      it(`${kind} ${acc.pubkey}: programs-client decodes it field for field as the oracle does`, () => {
        const d = decodeAccount(kind, data, new PublicKey(acc.owner));
        assert.ok(d.ok, d.ok ? "" : d.error.message);
        assert.deepEqual(diffValues(perps.decodeAccount(kind, data).value, d.value), []);
      });
    }
  });

  describe("mainnet dumps in ../shared/reference", function () {
    before(requireReference);
    for (const [kind, rel] of [
      ["Perpetuals", DUMPS.perpetuals],
      ["Pool", DUMPS.pool],
      ["Custody", DUMPS.solCustody],
    ] as const) {
      it(`${kind} (${rel}): both decoders agree field by field, and the account is owned by the perps program`, () => {
        const dump = loadDump(rel);
        assert.equal(dump.owner.toBase58(), PROGRAM_IDS.perpetuals.toBase58());
        const oracle = perps.decodeAccount(kind, dump.data);
        assert.ok(oracle.consumed <= dump.data.length);
        const d = decodeAccount(kind, dump.data, dump.owner);
        assert.ok(d.ok, d.ok ? "" : d.error.message);
        assert.deepEqual(diffValues(oracle.value, d.value), []);
      });
    }
  });

  it("the kinds the keeper decodes are all in the public IDL", () => {
    for (const k of KINDS) perps.def(k);
  });
});
