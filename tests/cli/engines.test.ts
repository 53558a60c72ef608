import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * The installed tree has no engine mismatch for the running Node: what `npm ci` warns about as EBADENGINE (issue 16:
 * commander@15 under litesvm asked for Node >= 22.12 while the README says 20). semver is not installed, so the
 * range forms found in node_modules are evaluated here: `*`, `x`/`N.x`/`N.*`, `>= >` `<= <` `=` with full or partial
 * versions, `^`, `~`, a bare (partial) version, space-separated AND and `||`. A form outside these fails the test
 * with the package's name, so a new dependency cannot slip past unchecked.
 */

type Version = [number, number, number];

function parsePartial(text: string, range: string): { v: Version; parts: number } {
  const m = /^v?(\d+)(?:\.(\d+|[x*]))?(?:\.(\d+|[x*]))?$/i.exec(text);
  if (!m) throw new Error(`engines.node "${range}": cannot read version "${text}"`);
  const nums = [m[1], m[2], m[3]].filter((p) => p !== undefined && /^\d+$/.test(p)).map(Number);
  return { v: [nums[0] ?? 0, nums[1] ?? 0, nums[2] ?? 0], parts: nums.length };
}

const cmp = (a: Version, b: Version) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
/** The first version above a partial one: 14 -> 15.0.0, 14.17 -> 14.18.0. */
const next = (v: Version, parts: number): Version => (parts <= 1 ? [v[0] + 1, 0, 0] : parts === 2 ? [v[0], v[1] + 1, 0] : [v[0], v[1], v[2] + 1]);

function comparator(c: string, node: Version, range: string): boolean {
  if (c === "*" || c === "x" || c === "X" || c === "") return true;
  const m = /^(>=|<=|>|<|=|\^|~)?\s*(.+)$/.exec(c)!;
  const op = m[1] ?? "";
  const { v, parts } = parsePartial(m[2]!, range);
  if (parts === 0) return true;
  const upper = next(v, parts);
  switch (op) {
    case ">=":
      return cmp(node, v) >= 0;
    case ">":
      return parts === 3 ? cmp(node, v) > 0 : cmp(node, upper) >= 0; // "> 14" is ">= 15.0.0"
    case "<":
      return cmp(node, v) < 0;
    case "<=":
      return cmp(node, upper) < 0;
    case "^": {
      const cap: Version = v[0] > 0 || parts === 1 ? [v[0] + 1, 0, 0] : v[1] > 0 || parts === 2 ? [0, v[1] + 1, 0] : [0, 0, v[2] + 1];
      return cmp(node, v) >= 0 && cmp(node, cap) < 0;
    }
    case "~":
      return cmp(node, v) >= 0 && cmp(node, parts === 1 ? [v[0] + 1, 0, 0] : [v[0], v[1] + 1, 0]) < 0;
    default: // a bare version or "=": exact when full, the whole range when partial (14 is 14.x)
      return cmp(node, v) >= 0 && cmp(node, upper) < 0;
  }
}

export function satisfiesNodeRange(version: string, range: string): boolean {
  const node = parsePartial(version.replace(/^v/, ""), range).v;
  return range.split("||").some((alt) =>
    alt
      .trim()
      .replace(/(>=|<=|>|<|=|\^|~)\s+/g, "$1") // ">= 10" is ">=10"
      .split(/\s+/)
      .every((c) => comparator(c, node, range)),
  );
}

/** Every installed package's root package.json (nested node_modules included), with its engines.node. */
function installedEngines(root: string): { pkg: string; file: string; range: string }[] {
  const found: { pkg: string; file: string; range: string }[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory() || e.name.startsWith(".")) continue;
      const p = path.join(dir, e.name);
      if (e.name.startsWith("@")) {
        walk(p);
        continue;
      }
      const file = path.join(p, "package.json");
      if (fs.existsSync(file)) {
        const j = JSON.parse(fs.readFileSync(file, "utf8")) as { name?: string; version?: string; engines?: { node?: unknown } };
        if (j.engines?.node !== undefined) found.push({ pkg: `${j.name}@${j.version}`, file, range: String(j.engines.node) });
      }
      if (fs.existsSync(path.join(p, "node_modules"))) walk(path.join(p, "node_modules"));
    }
  };
  walk(root);
  return found;
}

describe("engines: the installed tree runs on this Node", () => {
  const cases: [string, string, boolean][] = [
    ["20.20.2", "*", true],
    ["20.20.2", ">=20", true],
    ["20.20.2", ">= 20", true],
    ["20.20.2", ">=20.18.0", true],
    ["20.17.0", ">=20.18.0", false],
    ["20.20.2", ">=22.12", false], // commander@15's range: what the overrides pin avoids
    ["22.12.0", ">=22.12", true],
    ["20.20.2", "> 0.1.90", true],
    ["0.1.90", "> 0.1.90", false],
    ["14.9.0", "> 14", false],
    ["15.0.0", "> 14", true],
    ["20.20.2", "4.x || >=6.0.0", true],
    ["5.1.0", "4.x || >=6.0.0", false],
    ["4.9.0", "4.x || >=6.0.0", true],
    ["20.20.2", "6.* || 8.* || >= 10.*", true],
    ["9.0.0", "6.* || 8.* || >= 10.*", false],
    ["20.20.2", "^18.18.0 || ^20.9.0 || >=21.1.0", true],
    ["20.8.0", "^18.18.0 || ^20.9.0 || >=21.1.0", false],
    ["19.0.0", "^18.18.0 || ^20.9.0 || >=21.1.0", false],
    ["20.20.2", "^16 || ^18 || >=20", true],
    ["19.9.0", "^16 || ^18 || >=20", false],
    ["14.17.0", ">=16 || 14 >=14.17", true],
    ["14.16.0", ">=16 || 14 >=14.17", false],
    ["15.0.0", ">=16 || 14 >=14.17", false],
    ["20.20.2", "^12.17.0 || ^14.13 || >=16.0.0", true],
    ["13.0.0", "^12.17.0 || ^14.13 || >=16.0.0", false],
    ["20.20.2", "<20", false],
    ["20.20.2", "<=20", true],
    ["20.20.2", "~20.20.0", true],
    ["20.21.0", "~20.20.0", false],
  ];
  for (const [version, range, want] of cases) {
    it(`${version} ${want ? "satisfies" : "does not satisfy"} "${range}"`, () => assert.equal(satisfiesNodeRange(version, range), want));
  }
  it("an unknown range form is an error naming it", () => assert.throws(() => satisfiesNodeRange("20.0.0", ">=lts"), /engines.node ">=lts": cannot read version "lts"/));

  const engines = installedEngines(path.join(__dirname, "../../node_modules"));
  const ours = (JSON.parse(fs.readFileSync(path.join(__dirname, "../../package.json"), "utf8")) as { engines: { node: string } }).engines.node;
  const lowest = /^>=\s*(\d+\.\d+\.\d+)$/.exec(ours)?.[1];
  const mismatches = (version: string) => engines.filter((e) => !satisfiesNodeRange(version, e.range)).map((e) => `${e.pkg} wants node ${e.range} (${path.relative(process.cwd(), e.file)})`);

  it(`every node_modules package's engines.node accepts Node ${process.version}`, () => {
    assert.ok(engines.length > 100, `only ${engines.length} packages with engines.node: is node_modules installed?`);
    assert.deepEqual(mismatches(process.version), []);
  });
  it(`package.json's engines.node ("${ours}") promises no Node that a dependency refuses`, () => {
    assert.ok(lowest, `package.json engines.node "${ours}" is not of the form >=X.Y.Z`);
    assert.deepEqual(mismatches(lowest), []);
  });
});

/**
 * npm 11.16+ lists, after `npm ci`, every dependency whose install script package.json's allowScripts does not
 * cover ("install scripts not yet covered by allowScripts"); the scripts still run (npm 12 will block unreviewed
 * ones). Each one here was reviewed (README, Install): a new one fails this test until it is. The lockfile has no
 * resolved URLs, so npm cannot pin an approval to a version: entries are by name, as `npm approve-scripts` writes them.
 */
describe("install scripts: every dependency's is reviewed in allowScripts", () => {
  it("each package-lock entry with an install script is allowed by name in package.json, none left pending", () => {
    const root = path.join(__dirname, "../..");
    const lock = JSON.parse(fs.readFileSync(path.join(root, "package-lock.json"), "utf8")) as { packages: Record<string, { hasInstallScript?: boolean }> };
    const allow = (JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { allowScripts?: Record<string, boolean> }).allowScripts ?? {};
    const withScripts = [...new Set(Object.entries(lock.packages).filter(([, p]) => p.hasInstallScript).map(([k]) => k.slice(k.lastIndexOf("node_modules/") + 13)))].sort();
    assert.ok(withScripts.includes("esbuild"), `tsx's esbuild has a postinstall: ${withScripts.join(", ")}`);
    assert.deepEqual(withScripts.filter((name) => allow[name] !== true), [], "not reviewed in package.json allowScripts");
    assert.deepEqual(Object.keys(allow).filter((name) => !withScripts.includes(name)), [], "allowed but has no install script (stale)");
  });
});
