import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { KeeperMetrics } from "../../keeper/ops/metrics";

const DEPLOY = path.join(__dirname, "../../deploy");
const read = (file: string) => fs.readFileSync(path.join(DEPLOY, file), "utf8");

describe("deploy/: the Grafana dashboard and alert rules only use metrics the keeper exports", () => {
  const exported = new Set<string>();
  let exposition = "";
  before(async () => {
    const metrics = new KeeperMetrics();
    for (const m of await metrics.registry.getMetricsAsJSON()) {
      exported.add(m.name);
      if (String(m.type) === "histogram") for (const s of ["_bucket", "_sum", "_count"]) exported.add(m.name + s);
    }
    exposition = await metrics.registry.metrics();
  });
  const used = (text: string) => new Set([...text.matchAll(/\bgk_[a-z0-9_]+/g)].map((m) => m[0]));

  for (const file of ["grafana-dashboard.json", "alerts.yml"]) {
    it(file, () => {
      const text = read(file);
      if (file.endsWith(".json")) assert.doesNotThrow(() => JSON.parse(text));
      const names = used(text);
      assert.ok(names.size >= 5, `${file} uses keeper metrics`);
      for (const n of names) assert.ok(exported.has(n), `${file} uses ${n}, which the keeper does not export`);
    });
  }

  it("process and Node.js metrics carry the gk_ prefix once (gk_process_cpu_seconds_total, not gk_process_process_...)", () => {
    assert.ok(!/process_process|nodejs_nodejs/.test(exposition), "a doubled prefix in /metrics");
    for (const n of ["gk_process_cpu_seconds_total", "gk_process_resident_memory_bytes", "gk_nodejs_eventloop_lag_p99_seconds", "gk_nodejs_heap_size_used_bytes"]) {
      assert.ok(exported.has(n), `${n} is exported`);
    }
    for (const n of exported) assert.ok(n.startsWith("gk_"), `${n} has the gk_ prefix`);
  });
});

describe("deploy/: the Prometheus and Alertmanager examples fit the alert rules", () => {
  const rules = (YAML.parse(read("alerts.yml")) as { groups: { rules: { alert: string; expr: string; labels: { severity: string } }[] }[] }).groups.flatMap((g) => g.rules);

  it("prometheus.yml scrapes the job the alert rules select", () => {
    const prom = YAML.parse(read("prometheus.yml")) as { scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[] };
    const jobs = prom.scrape_configs.map((s) => s.job_name);
    const selected = new Set(rules.flatMap((r) => [...r.expr.matchAll(/job="([^"]+)"/g)].map((m) => m[1]!)));
    assert.ok(selected.size > 0, "alerts.yml selects a job (KeeperDown)");
    for (const job of selected) assert.ok(jobs.includes(job), `alerts.yml selects job="${job}", which prometheus.yml does not scrape (it has ${jobs.join(", ")})`);
    const keeper = prom.scrape_configs.find((s) => s.job_name === "gamma-keeper")!;
    assert.equal(keeper.metrics_path ?? "/metrics", "/metrics");
    assert.deepEqual(keeper.static_configs[0]!.targets, ["127.0.0.1:9464"], "the port of config/mainnet.example.yaml and the Docker image");
  });

  it("alertmanager.yml routes every severity the rules use to a receiver it defines", () => {
    const am = YAML.parse(read("alertmanager.yml")) as { route: { receiver: string; routes?: { matchers: string[]; receiver: string }[] }; receivers: { name: string }[] };
    const receivers = new Set(am.receivers.map((r) => r.name));
    const routeReceivers = [am.route.receiver, ...(am.route.routes ?? []).map((r) => r.receiver)];
    for (const r of routeReceivers) assert.ok(receivers.has(r), `route to ${r}, which is not a receiver`);
    const severities = new Set(rules.map((r) => r.labels.severity));
    assert.deepEqual([...severities].sort(), ["page", "warn"]);
    const pager = (am.route.routes ?? []).find((r) => r.matchers.includes('severity="page"'));
    assert.ok(pager && pager.receiver !== am.route.receiver, "severity=page has its own receiver; warn goes to the default");
  });

  // Two keepers scraped by one Prometheus: one down must not mute the other's pages.
  it("KeeperDown inhibits only its own keeper's alerts: equal job and instance, which every rule keeps", () => {
    const am = YAML.parse(read("alertmanager.yml")) as { inhibit_rules: { source_matchers: string[]; equal?: string[] }[] };
    const down = am.inhibit_rules.filter((r) => r.source_matchers.includes('alertname="KeeperDown"'));
    assert.equal(down.length, 1);
    assert.deepEqual([...(down[0]!.equal ?? [])].sort(), ["instance", "job"]);
    for (const r of rules) {
      // An aggregation without job and instance drops them, and the inhibition would then never match its alert.
      const clauses = [...r.expr.matchAll(/\b(?:sum|avg|min|max|count)\s*(?:by\s*\(([^)]*)\))?\s*\(/g)];
      for (const c of clauses) {
        const by = (c[1] ?? "").split(",").map((l) => l.trim());
        assert.ok(by.includes("job") && by.includes("instance"), `${r.alert}: \`${c[0]}\` drops job or instance`);
      }
    }
  });
});
