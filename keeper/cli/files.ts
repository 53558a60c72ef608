import { statSync } from "node:fs";
import { CliError, EXIT_USAGE } from "./cli-error";

/**
 * A file the user named, checked before it is opened: a FIFO with no writer would block the read forever, a
 * folder fails with EISDIR. A missing file is left to the reader, whose error says what it expected there.
 */
export function refuseIfNotAFile(file: string, what: string): void {
  const stat = statSync(file, { throwIfNoEntry: false });
  if (stat && !stat.isFile()) throw new CliError(`${what} ${file} is not a regular file; fix: name a file`, EXIT_USAGE);
}

/** A folder results go to: it may not exist yet, but it cannot be a file. */
export function refuseIfNotAFolder(dir: string, what: string): void {
  const stat = statSync(dir, { throwIfNoEntry: false });
  if (stat && !stat.isDirectory()) throw new CliError(`${what} ${dir} is not a folder; fix: name a folder (it is created when missing)`, EXIT_USAGE);
}
