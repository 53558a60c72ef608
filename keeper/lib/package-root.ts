import * as fs from "node:fs";
import * as path from "node:path";

/**
 * The folder holding gamma-keeper's package.json: the first one above this file, two folders up in the source and
 * three in dist/, wherever the package is installed. Files tsc does not emit (the localnet's fixtures and program)
 * are read from there at their source paths, which package.json's "files" ships, so a checkout, its build and an
 * installed tarball find the same files.
 */
export function packageRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json in ${from} or any folder above it: reinstall gamma-keeper`);
  }
}
