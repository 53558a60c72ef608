/** `digits` decimals with thousands separators; a value that rounds to zero has no sign. */
export function grouped(v: number, digits: number): string {
  if (!Number.isFinite(v)) return String(v);
  const text = Math.abs(v).toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return v < 0 && /[1-9]/.test(text) ? `-${text}` : text;
}

/** $1,164.57, -$3.20. */
export function usd(v: number, digits = 2): string {
  const text = grouped(v, digits);
  return text.startsWith("-") ? `-$${text.slice(1)}` : `$${text}`;
}
