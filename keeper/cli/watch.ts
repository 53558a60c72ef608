import { CliError, EXIT_USAGE } from "./cli-error";
import { runStatus } from "./run";

type Print = (s: string) => void;

/** Clear the screen and move home: each refresh redraws in place on a terminal. */
const CLEAR = "\x1b[2J\x1b[H";
const MAX_WATCH_SEC = 86_400;

export function parseWatchSec(value: string | true): number {
  if (value === true) return 5;
  const sec = Number(value);
  if (value.trim() === "" || !Number.isFinite(sec) || sec < 0.5 || sec > MAX_WATCH_SEC) throw new CliError(`--watch takes seconds from 0.5 to ${MAX_WATCH_SEC}, got "${value}"`, EXIT_USAGE);
  return sec;
}

/**
 * `status --watch`: the status every `sec` seconds until `stop` resolves (Ctrl-C), which ends it normally (exit 0).
 * On a terminal each refresh clears the screen and redraws; otherwise (a pipe, a log) refreshes follow each other
 * under a header line, with no escape codes. The first refresh's error ends the command (a bad config is not worth
 * watching); a later one is shown in place of the status and the watch goes on (an RPC can come back).
 */
export async function runStatusWatch(
  opts: { config: string; set?: string[]; watch: string | true },
  out: Print,
  stop: () => Promise<unknown>,
  isTTY = process.stdout.isTTY === true,
): Promise<void> {
  const sec = parseWatchSec(opts.watch);
  let stopped = false;
  let wake = () => {};
  const stopping = stop().then(() => {
    stopped = true;
    wake();
  });
  for (let n = 0; !stopped; n++) {
    const lines: string[] = [];
    try {
      await runStatus(opts, (s) => lines.push(s));
    } catch (e) {
      if (n === 0) throw e;
      lines.push(`refresh failed: ${(e as Error).message}`);
    }
    const header = `status of ${opts.config} at ${new Date().toISOString()}, every ${sec} s (Ctrl-C to stop)`;
    out(isTTY ? `${CLEAR}${header}\n${lines.join("\n")}` : `${n ? "\n" : ""}--- ${header}\n${lines.join("\n")}`);
    if (stopped) break;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, sec * 1000);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  await stopping;
}
