import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { KeeperMetrics } from "../../keeper/ops/metrics";

const DEPLOY = path.join(__dirname, "../../deploy");

describe("deploy/: the Grafana dashboard and alert rules only use metrics the keeper exports", () => {
  const exported = new Set<string>();
  before(async () => {
    for (const m of await new KeeperMetrics().registry.getMetricsAsJSON()) {
      exported.add(m.name);
      if (String(m.type) === "histogram") for (const s of ["_bucket", "_sum", "_count"]) exported.add(m.name + s);
    }
  });
  const used = (text: string) => new Set([...text.matchAll(/\bgk_[a-z_]+/g)].map((m) => m[0]));

  for (const file of ["grafana-dashboard.json", "alerts.yml"]) {
    it(file, () => {
      const text = fs.readFileSync(path.join(DEPLOY, file), "utf8");
      if (file.endsWith(".json")) assert.doesNotThrow(() => JSON.parse(text));
      const names = used(text);
      assert.ok(names.size >= 5, `${file} uses keeper metrics`);
      for (const n of names) assert.ok(exported.has(n), `${file} uses ${n}, which the keeper does not export`);
    });
  }
});
