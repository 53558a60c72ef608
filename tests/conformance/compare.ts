import { PublicKey } from "@solana/web3.js";
import type { Value } from "./borsh-oracle";

/**
 * Differences between a value decoded by the conformance oracle and the same value from programs-client, as
 * "path: oracle X, client Y" lines. The client's shapes are mapped, not trusted: PublicKey and Buffer compare by
 * base58/hex, number and bigint by value, enum names case-insensitively ("Long" vs "long"), and a variant with
 * fields ({ Partial: { numSignatures } }) against the client's { kind: "partial", numSignatures }.
 */
export function diffValues(oracle: Value, client: unknown, path = ""): string[] {
  const show = (x: unknown) => (typeof x === "bigint" ? `${x}n` : x instanceof PublicKey ? x.toBase58() : Buffer.isBuffer(x) ? `0x${x.toString("hex")}` : JSON.stringify(x, (_k, v) => (typeof v === "bigint" ? `${v}n` : v)));
  const bad = () => [`${path || "(root)"}: oracle ${show(oracle)}, client ${show(client)}`];
  if (oracle === null) return client === null || client === undefined ? [] : bad();
  if (typeof oracle === "bigint") {
    if (typeof client === "bigint") return client === oracle ? [] : bad();
    if (typeof client === "number" && Number.isInteger(client)) return BigInt(client) === oracle ? [] : bad();
    return bad();
  }
  if (typeof oracle === "boolean" || typeof oracle === "number") return client === oracle ? [] : bad();
  if (typeof oracle === "string") {
    if (client instanceof PublicKey) return client.toBase58() === oracle ? [] : bad();
    if (client instanceof Uint8Array) return Buffer.from(client).toString("hex") === oracle ? [] : bad();
    if (typeof client === "string") return client === oracle || client.toLowerCase() === oracle.toLowerCase() ? [] : bad();
    return bad();
  }
  if (Array.isArray(oracle)) {
    if (!Array.isArray(client) || client.length !== oracle.length) return bad();
    return oracle.flatMap((o, i) => diffValues(o, client[i], `${path}[${i}]`));
  }
  if (typeof client !== "object" || client === null) return bad();
  const keys = Object.keys(oracle);
  const c = client as Record<string, unknown>;
  if (keys.length === 1 && /^[A-Z]/.test(keys[0]!) && typeof c.kind === "string") {
    const variant = keys[0]!;
    if (c.kind.toLowerCase() !== variant.toLowerCase()) return bad();
    const { kind: _kind, ...rest } = c;
    return diffValues(oracle[variant]!, rest, `${path}.${variant}`);
  }
  const out = keys.flatMap((k) => (k in c ? diffValues(oracle[k]!, c[k], path ? `${path}.${k}` : k) : [`${path ? `${path}.` : ""}${k}: in the public layout, missing from the client's value`]));
  for (const k of Object.keys(c)) if (!(k in oracle)) out.push(`${path ? `${path}.` : ""}${k}: in the client's value, not in the public layout`);
  return out;
}

/** Look a dotted path ("a.b.3") up in an oracle value. */
export function at(v: Value, dotted: string): Value | undefined {
  let cur: Value | undefined = v;
  for (const part of dotted.split(".")) {
    if (cur === null || cur === undefined || typeof cur !== "object") return undefined;
    cur = Array.isArray(cur) ? cur[Number(part)] : (cur as Record<string, Value>)[part];
  }
  return cur;
}

/** Render an oracle value the way vixen-expected.json writes it (integers as decimal strings). */
export function asVectorValue(v: Value | undefined): unknown {
  return typeof v === "bigint" ? v.toString() : v;
}
