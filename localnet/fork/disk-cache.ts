import { mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { PublicKey } from "@solana/web3.js";
import type { RawAccount } from "../../programs-client";
import { fromAccountJson, toAccountJson } from "../fixtures/account-json";

/** A file in the cache directory that is not an account dump. */
export class ForkCacheError extends Error {}

/**
 * Accounts a fork fetched from its remote, one `solana account --output json` file per account, so a restart
 * (or a colleague's run) starts from the same state without asking the remote again. Each file is written to a
 * temporary name and renamed, so a crash leaves the old file or the new one, never half of one.
 */
export class ForkDiskCache {
  constructor(readonly dir: string) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new ForkCacheError(`fork cache: cannot create the directory ${dir} (${(e as Error).message}); choose a writable directory`);
    }
  }

  write(address: PublicKey, account: RawAccount): void {
    const path = join(this.dir, `${address.toBase58()}.json`);
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, toAccountJson(address, account));
    renameSync(tmp, path);
  }

  /** Every cached account; a file that does not parse is an error naming it (delete it to fetch it again). */
  readAll(): { address: PublicKey; account: RawAccount }[] {
    return readdirSync(this.dir)
      .filter((f) => f.endsWith(".json"))
      .sort()
      .map((f) => {
        const path = join(this.dir, f);
        try {
          return fromAccountJson(readFileSync(path, "utf8"), path);
        } catch (e) {
          throw new ForkCacheError(`fork cache: ${(e as Error).message}; delete the file and the fork fetches the account again`);
        }
      });
  }
}
