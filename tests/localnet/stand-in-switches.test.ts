import { strict as assert } from "node:assert";
import { SendTransactionError } from "@solana/web3.js";
import { MAINNET, closePositionRequest3, customErrorCode } from "../../programs-client";
import { rpc } from "../helpers/localnet";
import { readPosition, standInWorld } from "./stand-in-model";

const { SOL, USDC } = MAINNET.custodies;
const USD = 1_000_000n;
const SOL_UNIT = 1_000_000_000n;
const custody = SOL.custody.toBase58();

describe("stand-in perps program: caps and admin switches, each set through localnet_setPerpsParams", function () {
  this.timeout(60_000);
  let t: Awaited<ReturnType<typeof standInWorld>>;
  before(async () => {
    t = await standInWorld();
    // A $1000 short to decrease and withdraw from.
    assert.equal((await t.fill(t.increase("short", 1000n * USD, 100n * USD))).result, "filled");
  });
  after(async () => t.world.close());

  /** Requests the fill keeper tries and refunds with the program's error while a switch is set. */
  const REFUSED_FILLS: { what: string; set: Record<string, unknown>; reset: Record<string, unknown>; request: () => ReturnType<typeof t.increase>; code: number }[] = [
    {
      what: "the custody's allowIncreasePosition off: an increase fails with InstructionNotAllowed",
      set: { custody, permissions: { allowIncreasePosition: false } },
      reset: { custody, permissions: { allowIncreasePosition: true } },
      request: () => t.increase("short", 100n * USD, 10n * USD),
      code: 6027,
    },
    {
      what: "Perpetuals' allowIncreasePosition off (every market)",
      set: { permissions: { allowIncreasePosition: false } },
      reset: { permissions: { allowIncreasePosition: true } },
      request: () => t.increase("long", 100n * USD, SOL_UNIT / 10n),
      code: 6027,
    },
    {
      what: "allowDecreasePosition off: a decrease fails",
      set: { custody, permissions: { allowDecreasePosition: false } },
      reset: { custody, permissions: { allowDecreasePosition: true } },
      request: () => t.decrease("short", 100n * USD, 0n),
      code: 6027,
    },
    {
      what: "allowCollateralWithdrawal off: a withdrawal (size 0) fails",
      set: { custody, permissions: { allowCollateralWithdrawal: false } },
      reset: { custody, permissions: { allowCollateralWithdrawal: true } },
      request: () => t.decrease("short", 0n, 5n * USD),
      code: 6027,
    },
    {
      what: "maxPositionSizeUsd $1,050: growing the $1000 short by $100 fails with PersonalPoolAmountLimit",
      set: { custody, maxPositionSizeUsd: String(1050n * USD) },
      reset: { custody, maxPositionSizeUsd: String(10_000_000n * USD) },
      request: () => t.increase("short", 100n * USD, 10n * USD),
      code: 6025,
    },
    {
      what: "maxGlobalShortSizes $1,150: the custody's shorts would reach $1,200, CustodyAmountLimit",
      set: { custody, maxGlobalShortSizes: String(1150n * USD) },
      reset: { custody, maxGlobalShortSizes: "0" },
      request: () => t.increase("short", 100n * USD, 10n * USD),
      code: 6023,
    },
    {
      what: "maxGlobalLongSizes $50: a $100 long fails with CustodyAmountLimit",
      set: { custody, maxGlobalLongSizes: String(50n * USD) },
      reset: { custody, maxGlobalLongSizes: "0" },
      request: () => t.increase("long", 100n * USD, SOL_UNIT / 10n),
      code: 6023,
    },
  ];

  for (const c of REFUSED_FILLS) {
    it(`${c.what} (${c.code}); refunded, and it fills once the switch is reset`, async () => {
      await t.setParams(c.set);
      try {
        const refused = await t.fill(c.request());
        assert.deepEqual([refused.result, refused.errorCode], ["rejected", c.code]);
      } finally {
        await t.setParams(c.reset);
      }
      assert.equal((await t.fill(c.request())).result, "filled");
    });
  }

  it("a size decrease still fills while withdrawals are paused", async () => {
    await t.setParams({ custody, permissions: { allowCollateralWithdrawal: false } });
    try {
      const req = t.decrease("short", 100n * USD, 0n);
      assert.equal((await t.fill(req)).result, "filled");
      assert.equal((await readPosition(t.connection, req.position)).sizeUsd, 1100n * USD);
    } finally {
      await t.setParams({ custody, permissions: { allowCollateralWithdrawal: true } });
    }
  });

  /** An owner's close of a request the fill keeper left alone, `afterSec` seconds after it was made. */
  const ownerClose = async (afterSec: number) => {
    t.world.fills!.setKnobs({ paused: true });
    const req = t.increase("short", 100n * USD, 10n * USD);
    await t.send(req.instruction);
    await t.travel(afterSec);
    const close = closePositionRequest3({ owner: t.wallet.publicKey, pool: MAINNET.pool, position: req.position, positionRequest: req.positionRequest, mint: USDC.mint, custody: SOL.custody });
    return { req, send: () => t.send(close) };
  };
  const failsWith = (code: number) => (e: unknown) => e instanceof SendTransactionError && customErrorCode(null, e.logs) === code;

  for (const [what, set, reset] of [
    ["the pool's", { pool: { disableClosePositionRequest: true } }, { pool: { disableClosePositionRequest: false } }],
    ["the custody's", { custody, disableClosePositionRequest: true }, { custody, disableClosePositionRequest: false }],
  ] as const) {
    it(`${what} disableClosePositionRequest refuses an owner's close even of an expired request (6027)`, async () => {
      const close = await ownerClose(46);
      await t.setParams(set);
      try {
        await assert.rejects(close.send(), failsWith(6027));
      } finally {
        await t.setParams(reset);
      }
      await close.send();
      t.world.fills!.setKnobs({ paused: false });
      assert.equal(await t.connection.getAccountInfo(close.req.positionRequest), null);
    });
  }

  it("pool.maxRequestExecutionSec decides when a request has expired: at 1000 s a 46-s-old request is still live (6042)", async () => {
    await t.setParams({ pool: { maxRequestExecutionSec: 1000 } });
    try {
      const close = await ownerClose(46);
      await assert.rejects(close.send(), failsWith(6042));
      await t.setParams({ pool: { maxRequestExecutionSec: 45 } });
      await close.send();
    } finally {
      await t.setParams({ pool: { maxRequestExecutionSec: 45 } });
      t.world.fills!.setKnobs({ paused: false });
    }
  });

  it("the control says what is wrong with its input", async () => {
    const cases: [unknown, RegExp][] = [
      [{ maxPositionSizeUsd: "1" }, /name it with "custody"/],
      [{ custody, permissions: { allowEverything: true } }, /permissions.allowEverything is not one of/],
      [{ custody, maxGlobalLongSizes: -1 }, /maxGlobalLongSizes must be an unsigned 64-bit integer/],
      [{ custody: USDC.mint.toBase58(), maxFeeBps: 1 }, /is not a Custody account/],
      [{}, /nothing to set/],
    ];
    for (const [params, message] of cases) {
      const r = await rpc(t.world.url, "localnet_setPerpsParams", [params]);
      assert.equal(r.error?.code, -32602, JSON.stringify(params));
      assert.match(r.error!.message, message);
    }
  });
});
