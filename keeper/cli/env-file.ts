import * as fs from "node:fs";
import { CliError, EXIT_USAGE } from "./cli-error";

/**
 * `--environment-file FILE`: the variables of a systemd EnvironmentFile (the service's /etc/gamma-keeper/env), so root can
 * check a config whose keys or RPC URLs live there as the service will see them. Values are secrets: errors name
 * the file and the line, never a value.
 */

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Inside double quotes systemd unescapes only these; any other backslash stays. */
const ESCAPED = new Set(['"', "\\", "$", "`"]);

/**
 * A value as systemd reads it: trimmed with backslashes unescaped, or the text inside double quotes (\" \\ \$ \`
 * unescaped) or single quotes (literal).
 */
function unquote(raw: string, where: string): string {
  const text = raw.trim();
  const quote = text[0];
  if (quote !== '"' && quote !== "'") return text.replace(/\\(.)/g, "$1");
  let value = "";
  for (let i = 1; i < text.length; i++) {
    const c = text[i]!;
    if (c === quote) {
      if (text.slice(i + 1).trim() !== "") throw new CliError(`${where}: text after the closing quote; fix: quote the whole value`, EXIT_USAGE);
      return value;
    }
    if (quote === '"' && c === "\\" && ESCAPED.has(text[i + 1] ?? "")) value += text[++i];
    else value += c;
  }
  throw new CliError(`${where}: the value's quote is never closed; fix: close it on the same line`, EXIT_USAGE);
}

/** KEY=VALUE lines; blank lines and lines starting with # or ; are comments; a trailing backslash joins lines. */
export function parseEnvFile(text: string, source: string): Record<string, string> {
  const vars: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const first = i + 1;
    let line = lines[i]!;
    while (line.endsWith("\\") && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i];
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#") || trimmed.startsWith(";")) continue;
    const where = `${source} line ${first}`;
    const eq = trimmed.indexOf("=");
    if (eq < 0) throw new CliError(`${where} is not KEY=VALUE (systemd would skip it); fix: name the variable, as in GK_DAO_TREASURY_KEY=...`, EXIT_USAGE);
    const name = trimmed.slice(0, eq).trim();
    // What precedes the first = may hold a value (a line missing its =, with one later in a URL): not repeated.
    if (!NAME.test(name)) throw new CliError(`${where}: the text before the first = is not a variable name; fix: write NAME=VALUE with a name of letters, digits and _ (not starting with a digit)`, EXIT_USAGE);
    vars[name] = unquote(trimmed.slice(eq + 1), where);
  }
  return vars;
}

/** The file's variables, set in `env` over what it held: the check sees what the service will. */
export function applyEnvFile(file: string, env: NodeJS.ProcessEnv = process.env): string[] {
  let text: string;
  try {
    if (!fs.statSync(file).isFile()) throw new CliError(`--environment-file ${file} is not a regular file; fix: pass the service's EnvironmentFile, e.g. /etc/gamma-keeper/env`, EXIT_USAGE);
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if (e instanceof CliError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? "unreadable";
    throw new CliError(`cannot read --environment-file ${file} (${code}); fix: ${code === "EACCES" ? "run the check as root (the file is root-only by design)" : "check the path"}`, EXIT_USAGE);
  }
  const vars = parseEnvFile(text, file);
  Object.assign(env, vars);
  return Object.keys(vars);
}
