import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadConfigFile } from "../../keeper/app/config-load";
import { FIXTURES_DIR } from "../../localnet/fixtures/generate";
import { PERPS_SO_PATH } from "../../localnet/programs/paths";

/**
 * No Docker daemon in CI: the Dockerfile and the systemd unit are checked against the build instead. Every file the
 * image copies exists (from the build context, not excluded by .dockerignore, or made by `npm run build`), the
 * entrypoint and the files the runtime reads are where the image puts them, the user is the documented uid, and the
 * image's environment makes the keeper's metrics reachable through `-p 127.0.0.1:9464:9464`.
 */

const ROOT = path.join(__dirname, "../..");
const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), "utf8");

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  name: string;
  workdir: string;
  steps: Instruction[];
}

/** Instructions by stage; continuation lines joined, comments dropped. */
function parseDockerfile(text: string): Stage[] {
  const logical = text
    .split("\n")
    .filter((l) => !/^\s*#/.test(l))
    .join("\n")
    .replace(/\\\n/g, " ")
    .split("\n")
    .filter((l) => l.trim());
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, op, args] = /^\s*(\w+)\s+(.*)$/.exec(line)!;
    const upper = op!.toUpperCase();
    if (upper === "FROM") {
      stages.push({ name: /\bAS\s+(\S+)/i.exec(args!)?.[1] ?? String(stages.length), workdir: "/", steps: [] });
      continue;
    }
    const stage = stages.at(-1)!;
    if (upper === "WORKDIR") stage.workdir = path.posix.resolve(stage.workdir, args!.trim());
    stage.steps.push({ op: upper, args: args!.trim() });
  }
  return stages;
}

interface Copy {
  from?: string;
  sources: string[];
  /** Absolute path in the stage's filesystem. */
  dest: string;
}

function copies(stage: Stage): Copy[] {
  let workdir = "/";
  const out: Copy[] = [];
  for (const s of stage.steps) {
    if (s.op === "WORKDIR") workdir = path.posix.resolve(workdir, s.args);
    if (s.op !== "COPY") continue;
    const words = s.args.split(/\s+/);
    const from = words.find((w) => w.startsWith("--from="))?.slice("--from=".length);
    const paths = words.filter((w) => !w.startsWith("--"));
    const dest = paths.at(-1)!;
    const sources = paths.slice(0, -1);
    // "COPY a b ./" puts a and b in the folder; "COPY a ./x" names the copy x.
    const folder = dest.endsWith("/") || sources.length > 1;
    for (const src of sources) {
      const target = path.posix.resolve(workdir, dest);
      out.push({ from, sources: [src], dest: folder ? path.posix.join(target, path.posix.basename(src)) : target });
    }
  }
  return out;
}

/** .dockerignore patterns as Docker matches them: from the context root, a match excludes a folder's contents too. */
function ignoredBy(patterns: string[]): (rel: string) => string | undefined {
  const regexes = patterns.map((p) => {
    const body = p
      .replace(/[.+^${}()|[\]]/g, "\\$&")
      .replace(/\*\*\//g, "\u0000")
      .replace(/\*/g, "[^/]*")
      .replace(/\?/g, "[^/]")
      .replace(/\u0000/g, "(?:.*/)?");
    return { p, re: new RegExp(`^${body}(?:/.*)?$`) };
  });
  return (rel) => regexes.find(({ re }) => re.test(rel))?.p;
}

/** Where a path of a stage's filesystem comes from: the longest COPY destination that holds it. */
function origin(stageCopies: Copy[], p: string): { copy: Copy; rest: string } | undefined {
  const holding = stageCopies.filter((c) => p === c.dest || p.startsWith(c.dest + "/")).sort((a, b) => b.dest.length - a.dest.length);
  const copy = holding[0];
  return copy && { copy, rest: p.slice(copy.dest.length) };
}

describe("deploy/Dockerfile and deploy/gamma-keeper.service against the build", () => {
  const stages = parseDockerfile(read("deploy/Dockerfile"));
  const build = stages.find((s) => s.name === "build")!;
  const final = stages.at(-1)!;
  const buildCopies = copies(build);
  const finalCopies = copies(final);
  const ignored = ignoredBy(
    read(".dockerignore")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#")),
  );
  const readme = read("README.md");

  before(function () {
    if (!fs.existsSync(path.join(ROOT, "dist/keeper/cli/main.js"))) {
      throw new Error("dist/ is not built: run `npm run build` (npm ci does) before this test, which checks the image against it");
    }
  });

  /** The repository file a path of the build stage holds, or an error: copied from the context, or made by the build. */
  function inBuildStage(p: string): string {
    const o = origin(buildCopies, p);
    if (o) {
      const rel = path.posix.join(o.copy.sources[0]!, o.rest);
      const by = ignored(rel);
      assert.equal(by, undefined, `the build stage copies ${rel} from the context, but .dockerignore's "${by}" leaves it out`);
      return rel;
    }
    // Not copied from the context: made in the stage by `npm ci` / `npm run build`, which the checkout has run too.
    return path.posix.relative(build.workdir, p);
  }

  /** The repository file an image path comes from (after `npm run build`), asserting it exists. */
  function inImage(p: string): string {
    const o = origin(finalCopies, p);
    assert.ok(o, `nothing in the final stage's COPY lines puts ${p} in the image`);
    const rel = o.copy.from === build.name ? inBuildStage(path.posix.join(o.copy.sources[0]!, o.rest)) : path.posix.join(o.copy.sources[0]!, o.rest);
    assert.ok(fs.existsSync(path.join(ROOT, rel)), `the image's ${p} comes from ${rel}, which does not exist after npm run build`);
    return rel;
  }

  it("every file the build stage copies exists in the context and is not excluded by .dockerignore", () => {
    assert.ok(buildCopies.length >= 5);
    for (const c of buildCopies) {
      for (const src of c.sources) {
        assert.ok(fs.existsSync(path.join(ROOT, src)), `COPY ${src}: not in the repository`);
        assert.equal(ignored(src), undefined, `COPY ${src}: excluded by .dockerignore`);
      }
    }
  });

  it("the build stage runs package.json's build, so the checkout's dist/ is what the image holds", () => {
    const runs = build.steps.filter((s) => s.op === "RUN").map((s) => s.args);
    assert.ok(runs.some((r) => /\bnpm run build\b/.test(r)), `no RUN npm run build in: ${runs.join(" | ")}`);
    assert.ok(runs.some((r) => /\bnpm ci\b/.test(r)), "npm ci from the lockfile");
  });

  it("every file the final stage copies from the build stage exists after npm run build", () => {
    for (const c of finalCopies) {
      assert.equal(c.from, build.name, `COPY ${c.sources.join(" ")}: the final stage copies only from the build stage`);
      inImage(c.dest);
    }
  });

  it("the entrypoint, package.json's files and what the runtime reads from the package root are in the image", () => {
    const entry = JSON.parse(final.steps.find((s) => s.op === "ENTRYPOINT")!.args) as string[];
    assert.equal(entry[0], "node");
    assert.equal(inImage(entry[1]!), "dist/keeper/cli/main.js");
    const pkg = JSON.parse(read("package.json")) as { bin: Record<string, string>; files: string[] };
    assert.equal(path.posix.relative(final.workdir, entry[1]!), path.posix.normalize(pkg.bin["gamma-keeper"]!), "the entrypoint is package.json's bin");
    assert.ok(fs.existsSync(path.join(ROOT, "package.json")) && inImage(path.posix.join(final.workdir, "package.json")), "package.json (the version, the package root) is in the image");
    for (const f of pkg.files.filter((f) => f !== "README.md")) assert.equal(inImage(path.posix.join(final.workdir, f)), f);
    // The localnet (the demo `run`, `localnet`) reads its program and fixtures at these paths, relative to the package root.
    for (const file of [PERPS_SO_PATH, FIXTURES_DIR]) inImage(path.posix.join(final.workdir, path.relative(ROOT, file).split(path.sep).join("/")));
  });

  it("the image runs as uid/gid 10001, the owner README.md and the Dockerfile tell the host to chown the key file to", () => {
    const user = final.steps.filter((s) => s.op === "USER").at(-1)!.args;
    assert.equal(user, "10001:10001");
    const run = final.steps.filter((s) => s.op === "RUN").map((s) => s.args).join(" ");
    assert.match(run, /groupadd --system --gid 10001 gamma-keeper/);
    assert.match(run, /useradd --system --uid 10001 --gid 10001 /);
    const header = read("deploy/Dockerfile");
    for (const [doc, text] of [["deploy/Dockerfile", header], ["README.md", readme]] as const) {
      assert.ok(/chown 10001:10001 \S*desk-wallet\.json && chmod 600 /.test(text), `${doc} gives the key file's chown to the image's uid`);
      assert.ok(/-p 127\.0\.0\.1:9464:9464/.test(text), `${doc} publishes the metrics port on the host's loopback`);
    }
  });

  it("the image's environment makes the keeper's metrics listen on 0.0.0.0 at the exposed port, whatever the config says", () => {
    const env: NodeJS.ProcessEnv = {};
    for (const s of final.steps.filter((s) => s.op === "ENV")) {
      for (const pair of s.args.split(/\s+/)) {
        const eq = pair.indexOf("=");
        env[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gk-deploy-"));
    try {
      const file = path.join(dir, "keeper.yaml");
      // What config/mainnet.example.yaml sets, which alone would bind the container's loopback.
      fs.writeFileSync(
        file,
        [
          "rpc: { url: https://api.mainnet-beta.solana.com }",
          "metrics: { port: 9100, host: 127.0.0.1 }",
          "mandates:",
          "  - { name: desk, wallet: So11111111111111111111111111111111111111112, keypairEnv: GK_DESK_KEY, markets: [SOL], limits: { maxNotionalUsd: 1000, maxLeverage: 3, maxTradesPerHour: 10, dailyFeeBudgetUsd: 10 } }",
        ].join("\n"),
      );
      assert.equal(loadConfigFile(file, { env: {} }).metrics.host, "127.0.0.1", "without the image's environment");
      const cfg = loadConfigFile(file, { env });
      const exposed = Number(final.steps.find((s) => s.op === "EXPOSE")!.args);
      assert.equal(cfg.metrics.host, "0.0.0.0");
      assert.equal(cfg.metrics.port, exposed);
      const health = final.steps.find((s) => s.op === "HEALTHCHECK")!.args;
      assert.match(health, new RegExp(`http://127\\.0\\.0\\.1:${exposed}/health`));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the systemd unit starts the built entrypoint from the documented install folder as the documented user", () => {
    const unit = read("deploy/gamma-keeper.service");
    const key = (k: string) => new RegExp(`^${k}=(.*)$`, "m").exec(unit)?.[1];
    // README: `git clone <this repo> /opt/gamma-keeper && cd /opt/gamma-keeper && npm ci`.
    const install = "/opt/gamma-keeper";
    assert.ok(/git clone .+ \/opt\/gamma-keeper && cd \/opt\/gamma-keeper && npm ci/.test(readme), "README.md installs into /opt/gamma-keeper");
    assert.equal(key("WorkingDirectory"), install);
    const [node, script, command] = key("ExecStart")!.split(/\s+/);
    assert.match(node!, /^\/usr\/bin\/node$/);
    assert.ok(script!.startsWith(install + "/"), `${script} is under ${install}`);
    assert.ok(fs.existsSync(path.join(ROOT, path.posix.relative(install, script!))), `ExecStart runs ${script}, which npm run build does not make`);
    assert.equal(command, "run");
    assert.equal(key("User"), "gamma-keeper");
    assert.ok(/useradd [^\n]*gamma-keeper/.test(readme), "README.md creates the unit's user");
    assert.ok(readme.includes(`EnvironmentFile=${key("EnvironmentFile")}`), "README.md's check command reads the unit's environment file");
  });

  // npx runs the keeper as npm exec -> sh -c -> node and passes no signal on: a SIGTERM to it orphans a keeper that
  // keeps trading. Whatever stops the keeper by signal runs node itself.
  it("no deploy file runs the keeper through npx or npm exec, and README says why", () => {
    for (const file of fs.readdirSync(path.join(ROOT, "deploy"))) {
      const text = read(`deploy/${file}`);
      const lines = text.split("\n").filter((l) => /\b(npx|npm exec|npm run cli)\b/.test(l) && !/^\s*#.*pino-pretty/.test(l));
      assert.deepEqual(lines, [], `deploy/${file} runs gamma-keeper through npm`);
    }
    assert.match(readme, /a supervisor, a script, CI or Docker\s+must run `node dist\/keeper\/cli\/main\.js`[\s\S]*?never\s+`npx -- gamma-keeper run`[\s\S]*?a SIGTERM to\s+the npx process[\s\S]*?orphaned and still trading/);
    assert.match(readme, /### Running under systemd\s+Whatever runs the keeper and stops it by signal[^]*?never `npx`/);
  });

  it("the report timer's service line runs: report --csv writes the three CSVs into the state directory", function () {
    if (spawnSync("date", ["-u", "-d", "30 days ago", "+%F"]).status !== 0) this.skip(); // needs GNU date, as on the Debian host
    const unit = read("deploy/gamma-keeper-report.service");
    assert.match(read("deploy/gamma-keeper-report.timer"), /^Unit=gamma-keeper-report\.service$/m);
    const key = (k: string) => new RegExp(`^${k}=(.*)$`, "m").exec(unit)![1]!;
    assert.ok(key("ReadWritePaths").split(/\s+/).includes("/var/lib/gamma-keeper"), "the reports folder is writable");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gk-report-unit-"));
    try {
      const wallet = "So11111111111111111111111111111111111111112";
      fs.mkdirSync(path.join(dir, "state"));
      fs.writeFileSync(path.join(dir, "state", "journal.log"), "");
      const mandate = key("Environment").replace(/^MANDATE=/, "");
      fs.writeFileSync(
        path.join(dir, "keeper.yaml"),
        `rpc: { url: https://api.mainnet-beta.solana.com }\nstateDir: ${path.join(dir, "state")}\nmandates:\n  - { name: ${mandate}, wallet: ${wallet}, keypairEnv: GK_KEY, markets: [SOL], limits: { maxNotionalUsd: 1000, maxLeverage: 3, maxTradesPerHour: 10, dailyFeeBudgetUsd: 10 } }\n`,
      );
      // The unit's line with the host's paths moved into the scratch folder; %% is systemd's escape of %.
      const line = /^\/bin\/sh -c '(.*)'$/.exec(key("ExecStart"))![1]!
        .replace(/%%/g, "%")
        .replace("/usr/bin/node ", `${process.execPath} `)
        .replace("/opt/gamma-keeper/dist/", `${path.join(ROOT, "dist")}/`)
        .replace("/etc/gamma-keeper/keeper.yaml", path.join(dir, "keeper.yaml"))
        .replaceAll("/var/lib/gamma-keeper", path.join(dir, "state"));
      const r = spawnSync("/bin/sh", ["-c", line], { encoding: "utf8", env: { ...process.env, MANDATE: mandate }, timeout: 60_000 });
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      const written = fs.readdirSync(path.join(dir, "state", "reports")).sort();
      const day = new Date().toISOString().slice(0, 10);
      assert.deepEqual(written, [`${mandate}-${day}-liquidations.csv`, `${mandate}-${day}-trades.csv`, `${mandate}-${day}.csv`]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
