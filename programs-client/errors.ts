import { PERPETUALS_IDL } from "./idl";

export interface ProgramErrorInfo {
  code: number;
  name: string;
  msg: string;
}

const BY_CODE = new Map<number, ProgramErrorInfo>(
  (PERPETUALS_IDL.errors ?? []).map((e) => [e.code, { code: e.code, name: e.name, msg: e.msg ?? "" }]),
);

/** Name of a Jupiter Perps custom error code (6000-6066), for logs and vetoes. */
export function perpsErrorName(code: number): string | undefined {
  return BY_CODE.get(code)?.name;
}

export function perpsError(code: number): ProgramErrorInfo | undefined {
  return BY_CODE.get(code);
}

/**
 * The custom error code a failed transaction carries, from its TransactionError
 * (`{ InstructionError: [i, { Custom: n }] }`) or, failing that, from its program logs.
 */
export function customErrorCode(err: unknown, logs?: readonly string[] | null): number | undefined {
  const ie = (err as { InstructionError?: [number, unknown] } | null)?.InstructionError;
  const custom = (ie?.[1] as { Custom?: number } | undefined)?.Custom;
  if (typeof custom === "number") return custom;
  for (const line of logs ?? []) {
    const anchor = /Error Number: (\d+)\./.exec(line);
    if (anchor) return Number(anchor[1]);
    const hex = /custom program error: 0x([0-9a-fA-F]+)/.exec(line);
    if (hex) return parseInt(hex[1]!, 16);
  }
  return undefined;
}

/** "6021 MaxPriceSlippage: Price slippage limit exceeded", or "custom error 7000" for codes not in the IDL. */
export function describeCustomError(code: number): string {
  const info = BY_CODE.get(code);
  return info ? `${code} ${info.name}: ${info.msg}` : `custom error ${code}`;
}
