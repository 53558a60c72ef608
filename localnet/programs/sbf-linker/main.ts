#!/usr/bin/env node
/** sbf-link -o OUT.so IN.o [IN.o ...] [--entry NAME]: link clang BPF objects into an SBPFv0 program. */
import { readFileSync, writeFileSync } from "node:fs";
import { readObject } from "./elf";
import { LinkError, link } from "./link";

function main(argv: string[]): number {
  const inputs: string[] = [];
  let output: string | undefined;
  let entry = "entrypoint";
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-o") output = argv[++i];
    else if (a === "--entry") entry = argv[++i] ?? entry;
    else if (a === "-h" || a === "--help") {
      process.stdout.write("usage: sbf-link -o OUT.so IN.o [IN.o ...] [--entry NAME]\n");
      return 0;
    } else inputs.push(a);
  }
  if (!output || inputs.length === 0) {
    process.stderr.write("sbf-link: need -o OUT.so and at least one input object (see --help)\n");
    return 2;
  }
  try {
    const so = link(inputs.map((p) => readObject(p, readFileSync(p))), entry);
    writeFileSync(output, so);
    return 0;
  } catch (e) {
    if (e instanceof LinkError || (e as NodeJS.ErrnoException).code === "ENOENT" || e instanceof Error) {
      process.stderr.write(`sbf-link: ${(e as Error).message}\n`);
      return 1;
    }
    throw e;
  }
}

process.exitCode = main(process.argv.slice(2));
