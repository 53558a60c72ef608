import BN from "bn.js";
import type { Idl, IdlType, IdlTypeDef } from "@coral-xyz/anchor/dist/cjs/idl";

/**
 * Anchor's Borsh coders speak BN and `{ Variant: {} }`; the keeper speaks bigint and lower-case variant names.
 * These two walks convert between the shapes, driven by the IDL so every field is converted the same way.
 */
const WIDE_INTEGERS = new Set(["u64", "i64", "u128", "i128", "u256", "i256"]);

function typeDef(idl: Idl, name: string): IdlTypeDef {
  const def = idl.types?.find((t) => t.name === name);
  if (!def) throw new Error(`IDL ${idl.metadata.name} has no type ${name}`);
  return def;
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

export function fromAnchor(idl: Idl, type: IdlType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof type === "string") {
    if (WIDE_INTEGERS.has(type)) return BigInt((value as BN).toString());
    return value;
  }
  if ("option" in type) return fromAnchor(idl, type.option, value);
  if ("coption" in type) return fromAnchor(idl, type.coption, value);
  if ("vec" in type) return (value as unknown[]).map((v) => fromAnchor(idl, type.vec, v));
  if ("array" in type) {
    const [inner] = type.array;
    // Byte arrays stay bytes: a feed id is an opaque 32-byte value, not 32 numbers.
    if (inner === "u8") return Buffer.from(value as number[]);
    return (value as unknown[]).map((v) => fromAnchor(idl, inner, v));
  }
  if ("defined" in type) return fromDefined(idl, typeDef(idl, type.defined.name), value);
  return value;
}

function fromDefined(idl: Idl, def: IdlTypeDef, value: unknown): unknown {
  const ty = def.type;
  if (ty.kind === "struct") {
    const out: Record<string, unknown> = {};
    const src = value as Record<string, unknown>;
    for (const field of (ty.fields ?? []) as { name: string; type: IdlType }[]) {
      out[field.name] = fromAnchor(idl, field.type, src[field.name]);
    }
    return out;
  }
  if (ty.kind === "enum") {
    const [variantName, payload] = Object.entries(value as Record<string, unknown>)[0]!;
    const variant = ty.variants.find((v) => v.name === variantName);
    if (!variant?.fields || variant.fields.length === 0) return lowerFirst(variantName);
    const fields = variant.fields as { name: string; type: IdlType }[];
    const out: Record<string, unknown> = { kind: lowerFirst(variantName) };
    for (const f of fields) out[f.name] = fromAnchor(idl, f.type, (payload as Record<string, unknown>)[f.name]);
    return out;
  }
  return value;
}

export function toAnchor(idl: Idl, type: IdlType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof type === "string") {
    if (WIDE_INTEGERS.has(type)) return new BN((value as bigint).toString());
    return value;
  }
  if ("option" in type) return toAnchor(idl, type.option, value);
  if ("coption" in type) return toAnchor(idl, type.coption, value);
  if ("vec" in type) return (value as unknown[]).map((v) => toAnchor(idl, type.vec, v));
  if ("array" in type) {
    const [inner] = type.array;
    if (inner === "u8") return [...(value as Uint8Array)];
    return (value as unknown[]).map((v) => toAnchor(idl, inner, v));
  }
  if ("defined" in type) return toDefined(idl, typeDef(idl, type.defined.name), value);
  return value;
}

function toDefined(idl: Idl, def: IdlTypeDef, value: unknown): unknown {
  const ty = def.type;
  if (ty.kind === "struct") {
    const out: Record<string, unknown> = {};
    const src = value as Record<string, unknown>;
    for (const field of (ty.fields ?? []) as { name: string; type: IdlType }[]) {
      out[field.name] = toAnchor(idl, field.type, src[field.name]);
    }
    return out;
  }
  if (ty.kind === "enum") {
    const kind = typeof value === "string" ? value : (value as { kind: string }).kind;
    const variant = ty.variants.find((v) => lowerFirst(v.name) === kind);
    if (!variant) throw new Error(`${def.name} has no variant ${kind}`);
    const payload: Record<string, unknown> = {};
    for (const f of (variant.fields ?? []) as { name: string; type: IdlType }[]) {
      payload[f.name] = toAnchor(idl, f.type, (value as Record<string, unknown>)[f.name]);
    }
    return { [variant.name]: payload };
  }
  return value;
}

