import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * An append-only journal of what the keeper intended, sent and observed. One record per line:
 * `<8 hex checksum> <json>`, fsynced before the call returns (unless the journal is not `durable`), so a record the
 * keeper acted on is on disk. `appendDurable` is the group commit: written at once, on disk when its promise resolves,
 * the records of one turn of the event loop sharing one fsync.
 * A crash can tear only the last line; opening the journal detects that by its checksum, drops it and
 * truncates the file back to the last whole record. A bad line anywhere else is corruption and is refused.
 */

export class JournalError extends Error {}

function checksum(json: string): string {
  return createHash("sha256").update(json).digest("hex").slice(0, 8);
}

const toJson = (record: object) => JSON.stringify(record, (_k, v) => (typeof v === "bigint" ? v.toString() : v));

export interface OpenedJournal<R> {
  records: R[];
  /** True when a torn last record was found and dropped. */
  droppedTornRecord: boolean;
}

export interface JournalOptions {
  /**
   * False skips the fsync per record (the file is synced on close): for records that inform rather than decide
   * (history samples), so a disk flush never sits on the hot path for them.
   */
  durable: boolean;
  /** How the file is flushed to disk; tests count and order it. */
  fsync?: (fd: number) => void;
  /** When a group commit's shared fsync runs: once the current turn's writes are in (setImmediate). */
  defer?: (work: () => void) => void;
}

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

export class Journal<R extends object> {
  private fd: number | null = null;
  private readonly fsync: (fd: number) => void;
  private readonly defer: (work: () => void) => void;
  /** appendDurable calls whose records are written but not yet covered by an fsync. */
  private waiting: Waiter[] = [];

  constructor(
    readonly file: string,
    private readonly opts: JournalOptions = { durable: true },
  ) {
    this.fsync = opts.fsync ?? fs.fsyncSync;
    this.defer = opts.defer ?? ((work) => void setImmediate(work));
  }

  /** Reads every whole record without changing the file (a report may read while the keeper writes). */
  read(): OpenedJournal<R> & { goodBytes: number; totalBytes: number } {
    const text = fs.existsSync(this.file) ? fs.readFileSync(this.file, "utf8") : "";
    const records: R[] = [];
    let goodBytes = 0;
    let droppedTornRecord = false;
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      const isLast = i === lines.length - 1;
      if (line === "" && isLast) break;
      const json = line.slice(9);
      const ok = line.length > 9 && line[8] === " " && checksum(json) === line.slice(0, 8);
      let parsed: R | undefined;
      if (ok) {
        try {
          parsed = JSON.parse(json) as R;
        } catch {
          parsed = undefined;
        }
      }
      if (parsed === undefined) {
        // Only the final line can be torn by a crash (it may lack its newline, or be the last one with it).
        const tail = lines.slice(i + 1).every((l) => l === "");
        if (tail) {
          droppedTornRecord = true;
          break;
        }
        throw new JournalError(`${this.file} line ${i + 1} is corrupt (bad checksum or JSON) and is not the last record; restore it from backup or move it aside`);
      }
      // A whole line can still hold something no writer produces (null, a number): refuse it rather than fold it.
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        throw new JournalError(`${this.file} line ${i + 1} holds ${json.slice(0, 40)}, not a journal record; restore it from backup or move it aside`);
      }
      records.push(parsed);
      goodBytes += Buffer.byteLength(line, "utf8") + 1;
    }
    return { records, droppedTornRecord, goodBytes, totalBytes: Buffer.byteLength(text, "utf8") };
  }

  /** Reads every whole record, cuts a torn tail off the file, and opens it for appending. */
  open(): OpenedJournal<R> {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const { records, droppedTornRecord, goodBytes, totalBytes } = this.read();
    // A whole last record whose newline was never written is kept and terminated; anything torn is cut off.
    if (goodBytes === totalBytes + 1) fs.appendFileSync(this.file, "\n");
    else if (goodBytes !== totalBytes) fs.truncateSync(this.file, goodBytes);
    this.fd = fs.openSync(this.file, "a");
    return { records, droppedTornRecord };
  }

  /** Writes the record and fsyncs it (and any group commit still waiting) before returning. */
  append(record: R): void {
    const fd = this.write(record);
    const failed = this.opts.durable ? this.sync(fd) : null;
    if (failed) throw failed;
  }

  /**
   * Writes the record now; resolves once an fsync covers it. Every record appended this way in one turn of the event
   * loop shares that fsync, so N requests decided in one cycle cost one disk flush, each still on disk before its
   * caller goes on (to broadcast it). Rejects when the fsync fails: the record may not be on disk.
   */
  appendDurable(record: R): Promise<void> {
    this.write(record);
    if (!this.opts.durable) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (this.waiting.length === 1) this.defer(() => void (this.fd !== null && this.waiting.length > 0 && this.sync(this.fd)));
    });
  }

  /**
   * Settles the group commit now rather than at the end of the turn: the keeper calls it once every mandate of a cycle
   * has decided, so their broadcasts do not wait for the event loop to come round. Nothing waiting: no fsync. A failed
   * fsync rejects the appends it was to cover, as the scheduled one would.
   */
  flush(): void {
    if (this.fd !== null && this.waiting.length > 0) this.sync(this.fd);
  }

  close(): void {
    const failed = this.fd !== null && (!this.opts.durable || this.waiting.length > 0) ? this.sync(this.fd) : null;
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    if (failed) throw failed;
  }

  private write(record: R): number {
    if (this.fd === null) throw new JournalError(`${this.file} is not open`);
    const json = toJson(record);
    fs.writeSync(this.fd, `${checksum(json)} ${json}\n`);
    return this.fd;
  }

  /**
   * One fsync for everything written so far: it settles every group-commit waiter, whose records are all before it.
   * Returns the failure (each waiter is rejected with it) for a synchronous caller to throw.
   */
  private sync(fd: number): JournalError | null {
    const covered = this.waiting;
    this.waiting = [];
    try {
      this.fsync(fd);
    } catch (e) {
      const err = new JournalError(`${this.file}: fsync failed (${(e as Error).message}); its records may not be on disk, so nothing that depends on them may go out`);
      for (const w of covered) w.reject(err);
      return err;
    }
    for (const w of covered) w.resolve();
    return null;
  }
}
