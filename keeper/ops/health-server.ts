import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

/** A probe's verdict: ok, or the reasons it is not. */
export interface Probe {
  ok: boolean;
  reasons: string[];
}

export interface HealthSources {
  registry: Registry;
  /** Liveness: the loop is running and ticked recently. */
  health: () => Probe;
  /** Readiness: subscriptions live, oracles fresh, wallets funded. */
  ready: () => Probe;
}

/**
 * GET /metrics (Prometheus text), /health and /ready (200 or 503 with the reasons as JSON) on one port.
 * Binds to the configured host only; 127.0.0.1 unless an operator opens it on purpose.
 */
export class HealthServer {
  private server?: Server;
  port = 0;

  constructor(private readonly sources: HealthSources) {}

  async listen(port: number, host: string): Promise<number> {
    const server = createServer((req, res) => {
      const path = (req.url ?? "/").split("?")[0];
      const answer = (status: number, type: string, body: string) => {
        res.writeHead(status, { "content-type": type });
        res.end(body);
      };
      if (req.method !== "GET") return answer(405, "text/plain", "GET only\n");
      if (path === "/metrics") {
        this.sources.registry
          .metrics()
          .then((text) => answer(200, this.sources.registry.contentType, text))
          .catch((e: Error) => answer(500, "text/plain", `metrics failed: ${e.message}\n`));
        return;
      }
      if (path === "/health" || path === "/ready") {
        const p = path === "/health" ? this.sources.health() : this.sources.ready();
        return answer(p.ok ? 200 : 503, "application/json", `${JSON.stringify({ status: p.ok ? "ok" : "fail", reasons: p.reasons })}\n`);
      }
      answer(404, "text/plain", "routes: /metrics /health /ready\n");
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, resolve);
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
