import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import type { MandateConfig } from "../app/config";
import { applyOverrides, checkConfig, checkMandate, ConfigError, isMandateData, readStructured, redactedConfig } from "../app/config-load";
import { KeypairError, loadMandateKey } from "../app/keypair";
import { expiredLegWarnings } from "../app/mandate-book";

type Print = (s: string) => void;

export interface ConfigCheckOptions {
  file: string;
  set?: string[];
  /** Check FILE as one mandate (a DAO's mandate file) even if it does not look like one. */
  mandate?: boolean;
}

/** The signer's public key, or the problem with its key (the key itself never appears). */
function keyCheck(m: MandateConfig, env: NodeJS.ProcessEnv): { line?: string; problem?: string } {
  try {
    return { line: `mandate ${m.name}: signer ${loadMandateKey(m, env).publicKey.toBase58()} matches the wallet` };
  } catch (e) {
    if (!(e instanceof KeypairError)) throw e;
    return { problem: `mandate ${m.name}: ${e.message}` };
  }
}

/**
 * `config check FILE`: every problem of the config, its mandate files and its mandates' keys at once (exit 2), or
 * the signers and the effective config with secrets redacted. The environment is the process's, with
 * `--environment-file` applied before this runs.
 */
export function runConfigCheck(opts: ConfigCheckOptions, out: Print, env: NodeJS.ProcessEnv = process.env): void {
  const data = readStructured(opts.file);
  if (opts.mandate || isMandateData(data)) return checkMandateFile(data, opts, out, env);
  const r = checkConfig(applyOverrides(data, { env, set: opts.set }), path.dirname(path.resolve(opts.file)));
  const keys = r.mandates.map((m) => keyCheck(m, env));
  const problems = [...r.problems, ...keys.flatMap((k) => (k.problem ? [k.problem] : []))];
  if (!r.config || problems.length) throw new ConfigError(opts.file, problems);
  for (const k of keys) out(k.line!);
  for (const w of expiredLegWarnings(r.config, Math.floor(Date.now() / 1000))) out(w);
  out(`${opts.file} is valid. Effective config (secrets redacted):`);
  out(YAML.stringify(redactedConfig(r.config)).trimEnd());
}

/**
 * A DAO's mandate file on its own: the mandate schema and rules, `--set` applied (GAMMA_KEEPER__ variables address
 * the keeper's config, not a mandate). The key is checked where it is present; a DAO usually does not hold it.
 */
function checkMandateFile(data: unknown, opts: ConfigCheckOptions, out: Print, env: NodeJS.ProcessEnv): void {
  const r = checkMandate(applyOverrides(data, { set: opts.set }), path.dirname(path.resolve(opts.file)));
  const m = r.mandate;
  const present = m && (m.keypairEnv ? env[m.keypairEnv] !== undefined : fs.existsSync(m.keypairFile!));
  const key = m && present ? keyCheck(m, env) : undefined;
  const problems = [...r.problems, ...(key?.problem ? [key.problem] : [])];
  if (!m || problems.length) throw new ConfigError(opts.file, problems, "mandate file");
  out(`${opts.file} is a valid mandate file for mandate ${m.name}, wallet ${m.wallet}; the operator lists it under mandateFiles in the keeper's config.`);
  out(key?.line ?? `mandate ${m.name}: key not checked here: ${m.keypairEnv ? `${m.keypairEnv} is not set` : `${m.keypairFile} does not exist`} (the operator's \`config check\` of the keeper's config loads it)`);
  out(YAML.stringify(m).trimEnd());
}
