import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Keypair } from "@solana/web3.js";
import YAML from "yaml";
import { main } from "../../keeper/cli/main";

/** Nothing listens on the discard port: connections are refused at once. The path stands in for an API key. */
export const UNREACHABLE_RPC = "http://127.0.0.1:9/v2/SECRETKEY123";

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** The CLI in-process; `stop` stands in for SIGINT/SIGTERM (by default it never comes). */
export async function runCli(argv: string[], stop: () => Promise<unknown> = () => new Promise(() => {})): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, (s) => out.push(s), (s) => err.push(s), stop);
  return { code, out: out.join("\n"), err: err.join("\n") };
}

/** A scratch folder with a hedging wallet's key file (mode 0600) and configs written into it. */
export class ConfigScratch {
  readonly dir = mkdtempSync(path.join(tmpdir(), "gamma-keeper-input-"));
  readonly wallet = Keypair.generate();
  readonly keyFile = path.join(this.dir, "wallet.json");

  constructor() {
    writeFileSync(this.keyFile, JSON.stringify([...this.wallet.secretKey]), { mode: 0o600 });
    chmodSync(this.keyFile, 0o600);
  }

  /** A valid one-mandate config on an unreachable RPC whose stateDir is `state-<tag>` of the scratch folder. */
  config(tag = "main"): any {
    return {
      rpc: { url: UNREACHABLE_RPC, timeoutMs: 200 },
      stateDir: `./state-${tag}`,
      execution: { priorityFee: { staticMicroLamports: 1000 } },
      mandates: [
        {
          name: "m1",
          wallet: this.wallet.publicKey.toBase58(),
          keypairFile: "./wallet.json",
          markets: ["SOL"],
          trade: { minTradeUsd: 10, maxTradeUsd: 1000, cooldownSec: 5 },
          limits: { maxNetDeltaTokens: { SOL: 100 }, maxNotionalUsd: 1e6, maxLeverage: 5, maxTradesPerHour: 10, dailyFeeBudgetUsd: 100 },
          exposures: { options: [{ underlying: "SOL", kind: "call", strike: 150, expiry: "2030-01-01T00:00:00Z", quantity: 10, impliedVol: 0.6 }] },
        },
      ],
    };
  }

  /** Writes `content` (an object as YAML, or text as is) and returns the file's path. */
  write(name: string, content: unknown): string {
    const file = path.join(this.dir, name);
    writeFileSync(file, typeof content === "string" || Buffer.isBuffer(content) ? content : YAML.stringify(content));
    return file;
  }

  stateDir(tag = "main"): string {
    return path.join(this.dir, `state-${tag}`);
  }
}

/** A stack frame as Node prints it. */
export const STACK_LINE = /^\s{4}at /m;
