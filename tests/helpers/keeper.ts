import { PROGRAM_IDS, accountDiscriminator } from "../../programs-client";
import bs58 from "bs58";
import type { KeeperEvent } from "../../keeper/app/events";
import type { KeeperConfig } from "../../keeper/app/config";
import type { LocalDemo } from "../../keeper/app/local-demo";

/** +100 SOL of static exposure plus a 100/100 long straddle, so the band has gamma to work with. */
export function hundredSolMandate(cfg: KeeperConfig): KeeperConfig {
  const m = cfg.mandates[0]!;
  m.exposures.offsets = { SOL: 100 };
  m.exposures.options = m.exposures.options.map((l) => ({ ...l, quantity: 100 }));
  return cfg;
}

/** Watches the event stream for the invariants every run must keep. */
export class Recorder {
  events: KeeperEvent[] = [];
  open = new Set<string>();
  maxOpen = 0;
  tradesInsideBand: string[] = [];
  emit = (e: KeeperEvent) => {
    this.events.push(e);
    if (e.kind === "request" && e.stage === "intent") {
      this.open.add(e.id);
      this.maxOpen = Math.max(this.maxOpen, this.open.size);
    }
    if (e.kind === "outcome") this.open.delete(e.id);
    if (e.kind === "decision" && e.action === "trade" && Math.abs(e.hedgeTokens - e.bandCenter) <= e.bandHalfWidth) this.tradesInsideBand.push(JSON.stringify(e));
  };
  outcomes(result?: string) {
    return this.events.filter((e): e is Extract<KeeperEvent, { kind: "outcome" }> => e.kind === "outcome" && (!result || e.result === result));
  }
  intents() {
    return this.events.filter((e) => e.kind === "request" && e.stage === "intent");
  }
  lastDecision() {
    return this.events.filter((e): e is Extract<KeeperEvent, { kind: "decision" }> => e.kind === "decision").at(-1)!;
  }
}

export async function openRequestsOnChain(demo: LocalDemo): Promise<number> {
  const accounts = await demo.world.connection.getProgramAccounts(PROGRAM_IDS.perpetuals, {
    filters: [{ memcmp: { offset: 0, bytes: bs58.encode(accountDiscriminator("PositionRequest")) } }],
  });
  return accounts.length;
}

