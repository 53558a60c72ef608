/**
 * A positive decimal amount ("1.5") as integer base units (1_500_000_000n at 9 decimals), exactly: no float, so
 * "0.1 SOL" is 100,000,000 lamports and not 100,000,000.00000001. Returns the reason instead when the text is not
 * a plain positive decimal with at most `decimals` digits after the point.
 */
export function parseDecimalUnits(text: string, decimals: number): bigint | { error: string } {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!m) return { error: `${JSON.stringify(text)} is not a positive decimal number such as 1.5` };
  const fraction = m[2] ?? "";
  if (fraction.length > decimals) return { error: `${JSON.stringify(text)} has ${fraction.length} decimals; the token has ${decimals}` };
  const units = BigInt(m[1]!) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, "0") || "0");
  return units > 0n ? units : { error: `${JSON.stringify(text)} must be more than 0` };
}
