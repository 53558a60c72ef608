import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * An append-only journal of what the keeper intended, sent and observed. One record per line:
 * `<8 hex checksum> <json>`, fsynced before the call returns (unless the journal is not `durable`), so a record the
 * keeper acted on is on disk.
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

export class Journal<R extends object> {
  private fd: number | null = null;

  /**
   * `durable: false` skips the fsync per record (the file is synced on close): for records that inform rather than
   * decide (history samples), so a disk flush never sits on the hot path for them.
   */
  constructor(
    readonly file: string,
    private readonly opts: { durable: boolean } = { durable: true },
  ) {}

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

  append(record: R): void {
    if (this.fd === null) throw new JournalError(`${this.file} is not open`);
    const json = toJson(record);
    fs.writeSync(this.fd, `${checksum(json)} ${json}\n`);
    if (this.opts.durable) fs.fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd !== null && !this.opts.durable) fs.fsyncSync(this.fd);
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}
