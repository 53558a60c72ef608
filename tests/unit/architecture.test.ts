import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";

/**
 * The import rules of ../shared/DESIGN.md ("Where the shell is heading"), checked on every import (static,
 * `export from`, `require`, `import()` and `typeof import`) under keeper/, localnet/ and programs-client/, as
 * TypeScript's own scanner finds them. A hand-written checker: the rules are a table of folders, and the scanner is
 * already a dependency (dependency-cruiser would add a package and a config file for the same table).
 */

const ROOT = path.resolve(__dirname, "../..");

/**
 * Who may import whom, by folder (the longest matching prefix wins; a folder may always import itself).
 * keeper/market (chain reads decoded into views) and keeper/rpc (the endpoint pool) are not in DESIGN's table:
 * they are read-side plumbing, so they sit with state. keeper/sim (the simulator) shares the pure core's kernels and
 * sits with it. keeper/cli and keeper/bench are entry points, as free as app.
 */
const CORE = ["programs-client", "keeper/lib", "keeper/strategy", "keeper/risk", "keeper/exposure"];
const STATE = ["programs-client", "keeper/lib", "keeper/state", "keeper/market", "keeper/rpc"];
const BELOW_MANDATE = [...new Set([...STATE, ...CORE, "keeper/execution"])];
const EVERYTHING = ["*"];
const RULES: Record<string, readonly string[]> = {
  "programs-client": [],
  "keeper/lib": [],
  "keeper/state": ["programs-client", "keeper/lib"],
  "keeper/market": STATE,
  "keeper/rpc": STATE,
  "keeper/strategy": CORE,
  "keeper/risk": CORE,
  "keeper/exposure": CORE,
  "keeper/sim": [...CORE, "keeper/sim"],
  "keeper/execution": ["programs-client", "keeper/lib", "keeper/risk"],
  "keeper/mandate": BELOW_MANDATE,
  "keeper/ops": [...BELOW_MANDATE, "keeper/mandate"],
  "keeper/app": EVERYTHING,
  "keeper/cli": EVERYTHING,
  "keeper/bench": EVERYTHING,
  localnet: ["programs-client", "keeper/lib"],
};

/**
 * Imports that break a rule today, each with why and where it should go. This list only shrinks: an entry that no
 * longer matches an import fails the test, so remove it with the move that fixes it.
 */
const EXCEPTIONS: { from: string; to: string; why: string }[] = [
  {
    from: "keeper/mandate/context.ts",
    to: "keeper/app/config.ts",
    why: "the config schema (KeeperConfig, MandateConfig; types only) lives with the wiring; it belongs in a neutral module below mandate",
  },
  {
    from: "keeper/mandate/external-exposure.ts",
    to: "keeper/app/config.ts",
    why: "MandateConfig (type only), as above",
  },
  {
    from: "keeper/execution/",
    to: "keeper/strategy/orders.ts",
    why: "requests are built and checked from the strategy's Order (types only); execution may import risk, not strategy: Order belongs in a neutral module both may import",
  },
  {
    from: "keeper/risk/liquidation.ts",
    to: "keeper/market/position-math.ts",
    why: "Jupiter's position arithmetic (pnl, borrow) is pure but sits with the chain reads in market/, which the core may not import: it belongs in the core",
  },
  {
    from: "keeper/strategy/costs.ts",
    to: "keeper/market/position-math.ts",
    why: "as above",
  },
  {
    from: "localnet/bench/tps.ts",
    to: "keeper/bench/machine.ts",
    why: "the localnet benchmark prints the machine as the keeper's benchmarks do; describeMachine belongs in keeper/lib (tps.ts is being changed by another session)",
  },
];

/** An exception covers its `from` file, or every file under it when `from` ends with a slash. */
const covers = (e: { from: string; to: string }, i: Import) => (e.from.endsWith("/") ? i.from.startsWith(e.from) : i.from === e.from) && e.to === i.to;

/** The files a rule applies to: TypeScript sources under the checked roots, generated and vendored code aside. */
function sources(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return e.name === "node_modules" || e.name === "target" ? [] : sources(rel);
    return /\.tsx?$/.test(e.name) && !e.name.endsWith(".d.ts") ? [rel] : [];
  });
}

/** The repository file a relative specifier names, with the extension or index TypeScript would pick. */
function resolve(fromFile: string, spec: string): string {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(fromFile), spec));
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, `${base}/index.ts`]) {
    if (fs.existsSync(path.join(ROOT, candidate)) && fs.statSync(path.join(ROOT, candidate)).isFile()) return candidate;
  }
  return base;
}

/** The rule's folder for a file: the longest folder of RULES that holds it, or null outside every checked folder. */
function layerOf(file: string): string | null {
  const folders = Object.keys(RULES).filter((f) => file === f || file.startsWith(`${f}/`));
  return folders.sort((a, b) => b.length - a.length)[0] ?? null;
}

interface Import {
  from: string;
  to: string;
}

function projectImports(): Import[] {
  return ["keeper", "localnet", "programs-client"].flatMap(sources).flatMap((from) => {
    const { importedFiles } = ts.preProcessFile(fs.readFileSync(path.join(ROOT, from), "utf8"), true, true);
    return importedFiles.filter((f) => f.fileName.startsWith(".")).map((f) => ({ from, to: resolve(from, f.fileName) }));
  });
}

/** Why an import breaks the rules, or null when it keeps them. */
function violation({ from, to }: Import): string | null {
  const fromLayer = layerOf(from);
  const toLayer = layerOf(to);
  if (fromLayer === null) return null;
  // Data, not code: programs-client reads the programs' IDLs (idl/*.json).
  if (toLayer === null && to.endsWith(".json")) return null;
  if (toLayer === null) return `${from} imports ${to}, outside every folder of the rules`;
  const allowed = RULES[fromLayer]!; // layerOf returns a key of RULES
  if (toLayer === fromLayer || allowed.includes("*") || allowed.includes(toLayer)) return null;
  return `${from} imports ${to}: ${fromLayer} may import ${allowed.length ? allowed.join(", ") : "nothing of ours"}`;
}

describe("architecture: import rules (DESIGN.md, 'Where the shell is heading')", () => {
  const imports = projectImports();
  const isException = (i: Import) => EXCEPTIONS.some((e) => covers(e, i));

  it("reads the imports of every checked folder", () => {
    for (const layer of ["programs-client", "keeper/state", "keeper/mandate", "keeper/ops", "keeper/app", "localnet"]) {
      assert.ok(
        imports.some((i) => layerOf(i.from) === layer),
        `no import found under ${layer}: the scanner or the folder list is broken`,
      );
    }
  });

  it("every import keeps the rules, apart from the named exceptions", () => {
    const broken = imports.filter((i) => !isException(i)).flatMap((i) => violation(i) ?? []);
    assert.deepEqual(broken, [], `imports that break DESIGN.md's rules (move the code, or as a last resort name an exception in this test):\n${broken.join("\n")}`);
  });

  it("every exception is still needed (the list only shrinks)", () => {
    const stale = EXCEPTIONS.filter((e) => !imports.some((i) => covers(e, i) && violation(i) !== null));
    assert.deepEqual(stale, [], "exceptions no longer matching a rule-breaking import: remove them");
  });

  // The checker itself, on imports it must refuse and allow: a rule table that allows everything would pass above.
  const cases: { name: string; from: string; to: string; broken: boolean }[] = [
    { name: "ops into app", from: "keeper/ops/metrics.ts", to: "keeper/app/keeper.ts", broken: true },
    { name: "programs-client into keeper", from: "programs-client/pda.ts", to: "keeper/lib/redact.ts", broken: true },
    { name: "lib into state", from: "keeper/lib/trace.ts", to: "keeper/state/account-cache.ts", broken: true },
    { name: "state into strategy", from: "keeper/state/account-cache.ts", to: "keeper/strategy/policy.ts", broken: true },
    { name: "execution into mandate", from: "keeper/execution/sender.ts", to: "keeper/mandate/runner.ts", broken: true },
    { name: "mandate into ops", from: "keeper/mandate/runner.ts", to: "keeper/ops/journal.ts", broken: true },
    { name: "localnet into keeper/state", from: "localnet/world.ts", to: "keeper/state/account-cache.ts", broken: true },
    { name: "mandate into execution", from: "keeper/mandate/submit.ts", to: "keeper/execution/sender.ts", broken: false },
    { name: "ops into mandate", from: "keeper/ops/metrics.ts", to: "keeper/mandate/events.ts", broken: false },
    { name: "execution into risk", from: "keeper/execution/transaction.ts", to: "keeper/risk/signing-policy.ts", broken: false },
    { name: "localnet into keeper/lib", from: "localnet/world.ts", to: "keeper/lib/redact.ts", broken: false },
    { name: "cli into app", from: "keeper/cli/run.ts", to: "keeper/app/keeper.ts", broken: false },
  ];
  for (const c of cases) {
    it(`${c.broken ? "refuses" : "allows"} ${c.name}`, () => {
      assert.equal(violation({ from: c.from, to: c.to }) !== null, c.broken);
    });
  }
});
