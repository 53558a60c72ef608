import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Journal, JournalError } from "../../keeper/ops/journal";

/** A journal whose fsyncs are recorded with the file's size at each (what they covered), and whose deferred work waits for `runDeferred`. */
function harness(dir: string, failFsync = false) {
  const file = path.join(dir, "j.log");
  const fsyncs: number[] = [];
  const deferred: (() => void)[] = [];
  const journal = new Journal<{ n: number }>(file, {
    durable: true,
    fsync: () => {
      if (failFsync) throw new Error("EIO: i/o error");
      fsyncs.push(fs.statSync(file).size);
    },
    defer: (work) => deferred.push(work),
  });
  journal.open();
  const runDeferred = () => deferred.splice(0).forEach((w) => w());
  return { file, fsyncs, journal, runDeferred };
}

const settled = () => new Promise((r) => setImmediate(r));

describe("journal group commit (appendDurable)", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "gk-group-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const n of [1, 2, 20]) {
    it(`${n} appends in one turn: written at once, one fsync covering all of them, no promise resolved before it`, async () => {
      const { file, fsyncs, journal, runDeferred } = harness(dir);
      const resolvedAt: number[] = [];
      const all = Array.from({ length: n }, (_, i) => journal.appendDurable({ n: i }).then(() => resolvedAt.push(fsyncs.length)));
      assert.equal(new Journal(file).read().records.length, n, "every record is written before the fsync");
      await settled();
      assert.deepEqual(fsyncs, [], "the fsync waits for the turn to end");
      assert.deepEqual(resolvedAt, [], "no append resolves before an fsync covers it");
      runDeferred();
      await Promise.all(all);
      assert.deepEqual(fsyncs, [fs.statSync(file).size], "one fsync, after every write");
      assert.deepEqual(resolvedAt, Array(n).fill(1), "each resolved after that one fsync");
      journal.close();
    });
  }

  it("a synchronous append's fsync covers the group written before it; a later group gets its own", async () => {
    const { fsyncs, journal, runDeferred } = harness(dir);
    let early = false;
    const first = journal.appendDurable({ n: 0 }).then(() => (early = true));
    journal.append({ n: 1 });
    await first;
    assert.ok(early);
    assert.equal(fsyncs.length, 1);
    runDeferred(); // the first group's scheduled flush finds nothing left to cover
    assert.equal(fsyncs.length, 1);
    const second = journal.appendDurable({ n: 2 });
    runDeferred();
    await second;
    assert.equal(fsyncs.length, 2);
    journal.close();
  });

  it("flush settles the waiting group at once (the keeper's end of cycle); the scheduled fsync then has nothing to do", async () => {
    const { fsyncs, journal, runDeferred } = harness(dir);
    const ps = [journal.appendDurable({ n: 0 }), journal.appendDurable({ n: 1 })];
    journal.flush();
    await Promise.all(ps);
    assert.equal(fsyncs.length, 1);
    runDeferred();
    journal.flush();
    assert.equal(fsyncs.length, 1, "nothing waiting: no fsync");
    journal.close();
  });

  it("close flushes a group still waiting", async () => {
    const { fsyncs, journal } = harness(dir);
    const p = journal.appendDurable({ n: 0 });
    journal.close();
    await p;
    assert.equal(fsyncs.length, 1);
  });

  it("a failed fsync rejects every append it was to cover, and a synchronous append throws", async () => {
    const { journal, runDeferred } = harness(dir, true);
    const ps = [journal.appendDurable({ n: 0 }), journal.appendDurable({ n: 1 })];
    runDeferred();
    for (const p of ps) await assert.rejects(p, (e: Error) => e instanceof JournalError && /fsync failed \(EIO/.test(e.message));
    assert.throws(() => journal.append({ n: 2 }), /fsync failed/);
  });

  it("the default schedule: appends of one turn share one real fsync", async () => {
    const file = path.join(dir, "j.log");
    let count = 0;
    const journal = new Journal<{ n: number }>(file, { durable: true, fsync: (fd) => (count++, fs.fsyncSync(fd)) });
    journal.open();
    await Promise.all(Array.from({ length: 5 }, (_, n) => journal.appendDurable({ n })));
    assert.equal(count, 1);
    await journal.appendDurable({ n: 5 });
    assert.equal(count, 2);
    journal.close();
    assert.equal(new Journal(file).read().records.length, 6);
  });
});
