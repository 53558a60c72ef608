import * as os from "node:os";

/** The line every benchmark prints first: absolute figures mean little without it. */
export function describeMachine(): string {
  const cpu = os.cpus();
  return `machine: ${cpu.length} x ${cpu[0]?.model.trim() ?? "unknown cpu"}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, ${process.platform}/${process.arch}`;
}
