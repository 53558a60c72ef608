/**
 * An independent Borsh decoder/encoder for the conformance suite, driven only by a vendored public IDL
 * (Anchor's pre-0.30 notation: "publicKey", { defined: "Name" }, isMut/isSigner) and Anchor's documented rules.
 * It shares no code with programs-client or the project's idl/: no Anchor coder, no buffer-layout, so a mistake
 * in either cannot hide behind the same mistake here.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { PublicKey } from "@solana/web3.js";

export const VECTORS_DIR = path.join(__dirname, "vectors");

export type IdlType = string | { defined: string } | { option: IdlType } | { vec: IdlType } | { array: [IdlType, number] };
export interface IdlField {
  name: string;
  type: IdlType;
}
type Variant = { name: string; fields?: (IdlField | IdlType)[] };
export type TypeDef = { name: string; type: { kind: "struct"; fields: IdlField[] } | { kind: "enum"; variants: Variant[] } };
export interface IdlAccountItem {
  name: string;
  isMut: boolean;
  isSigner: boolean;
  isOptional?: boolean;
}
export interface PublicIdl {
  name: string;
  instructions?: { name: string; accounts: IdlAccountItem[]; args: IdlField[] }[];
  accounts?: TypeDef[];
  types?: TypeDef[];
  events?: { name: string; fields: IdlField[] }[];
  errors?: { code: number; name: string; msg?: string }[];
}

/**
 * Decoded values: integers of every width as bigint, publicKey as base58, [u8; N] and bytes as hex, f32/f64 as
 * number, Option as null or the value, a unit enum variant as its name, a variant with fields as { Name: {...} }.
 */
export type Value = bigint | boolean | number | string | null | Value[] | { [k: string]: Value };

export function loadVector<T = unknown>(file: string): T {
  return JSON.parse(readFileSync(path.join(VECTORS_DIR, file), "utf8")) as T;
}

export function readVectorText(file: string): string {
  return readFileSync(path.join(VECTORS_DIR, file), "utf8");
}

/** key=value lines of a text vector, comments (#) skipped. */
export function keyValues(file: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readVectorText(file).split("\n")) {
    if (line.startsWith("#") || !line.includes("=")) continue;
    const i = line.indexOf("=");
    out.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return out;
}

export const sha256 = (s: string): Buffer => createHash("sha256").update(s).digest();

/** Anchor's sighash: sha256("<namespace>:<name>")[..8] (vectors/anchor.txt). */
export const sighash = (namespace: string, name: string): Buffer => sha256(`${namespace}:${name}`).subarray(0, 8);

/** Anchor IDLs camelCase the Rust fn name; the sighash uses the Rust (snake_case) name. Digits stay attached. */
export const snakeCase = (camel: string): string => camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

const INT_BYTES: Record<string, [bytes: number, signed: boolean]> = {
  u8: [1, false], i8: [1, true], u16: [2, false], i16: [2, true], u32: [4, false], i32: [4, true],
  u64: [8, false], i64: [8, true], u128: [16, false], i128: [16, true],
};

function readInt(buf: Buffer, at: number, bytes: number, signed: boolean): bigint {
  let v = 0n;
  for (let i = bytes - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[at + i]!);
  if (signed && v >= 1n << BigInt(bytes * 8 - 1)) v -= 1n << BigInt(bytes * 8);
  return v;
}

function writeInt(v: bigint, bytes: number, signed: boolean, what: string): Buffer {
  const bits = BigInt(bytes * 8);
  const min = signed ? -(1n << (bits - 1n)) : 0n;
  const max = signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
  if (v < min || v > max) throw new RangeError(`${what}: ${v} does not fit ${signed ? "i" : "u"}${bytes * 8}`);
  let u = v < 0n ? v + (1n << bits) : v;
  const out = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) {
    out[i] = Number(u & 0xffn);
    u >>= 8n;
  }
  return out;
}

export class BorshOracle {
  private readonly defs = new Map<string, TypeDef>();

  constructor(readonly idl: PublicIdl) {
    for (const d of [...(idl.types ?? []), ...(idl.accounts ?? [])]) this.defs.set(d.name, d);
    for (const e of idl.events ?? []) this.defs.set(e.name, { name: e.name, type: { kind: "struct", fields: e.fields } });
  }

  def(name: string): TypeDef {
    const d = this.defs.get(name);
    if (!d) throw new Error(`${this.idl.name}: no type ${name} in the public IDL`);
    return d;
  }

  /** Decode one value of `type` at `at`; returns the value and the offset just past it. Throws past the end. */
  decode(type: IdlType, buf: Buffer, at = 0, where = "value"): { value: Value; end: number } {
    const need = (n: number) => {
      if (at + n > buf.length) throw new RangeError(`${where}: needs ${n} bytes at offset ${at}, buffer has ${buf.length}`);
    };
    if (typeof type === "string") {
      const int = INT_BYTES[type];
      if (int) {
        need(int[0]);
        return { value: readInt(buf, at, int[0], int[1]), end: at + int[0] };
      }
      switch (type) {
        case "bool":
          need(1);
          if (buf[at]! > 1) throw new RangeError(`${where}: bool byte ${buf[at]} at offset ${at}`);
          return { value: buf[at] === 1, end: at + 1 };
        case "f32":
          need(4);
          return { value: buf.readFloatLE(at), end: at + 4 };
        case "f64":
          need(8);
          return { value: buf.readDoubleLE(at), end: at + 8 };
        case "publicKey":
          need(32);
          return { value: new PublicKey(buf.subarray(at, at + 32)).toBase58(), end: at + 32 };
        case "string":
        case "bytes": {
          need(4);
          const n = buf.readUInt32LE(at);
          need(4 + n);
          const raw = buf.subarray(at + 4, at + 4 + n);
          return { value: type === "string" ? raw.toString("utf8") : raw.toString("hex"), end: at + 4 + n };
        }
        default:
          throw new Error(`${where}: primitive type ${type} is not Borsh`);
      }
    }
    if ("option" in type) {
      need(1);
      if (buf[at] === 0) return { value: null, end: at + 1 };
      if (buf[at] !== 1) throw new RangeError(`${where}: option tag ${buf[at]} at offset ${at}`);
      return this.decode(type.option, buf, at + 1, where);
    }
    if ("array" in type || "vec" in type) {
      const [elem, fixed] = "array" in type ? type.array : [type.vec, undefined];
      let n = fixed;
      let p = at;
      if (n === undefined) {
        need(4);
        n = buf.readUInt32LE(at);
        p += 4;
      }
      if (elem === "u8") {
        if (p + n > buf.length) throw new RangeError(`${where}: ${n} bytes at offset ${p} run past ${buf.length}`);
        return { value: buf.subarray(p, p + n).toString("hex"), end: p + n };
      }
      const items: Value[] = [];
      for (let i = 0; i < n; i++) {
        const r = this.decode(elem, buf, p, `${where}[${i}]`);
        items.push(r.value);
        p = r.end;
      }
      return { value: items, end: p };
    }
    const d = this.def(type.defined);
    if (d.type.kind === "struct") return this.decodeFields(d.type.fields, buf, at, `${where}.${d.name}`);
    need(1);
    const variant = d.type.variants[buf[at]!];
    if (!variant) throw new RangeError(`${where}: ${d.name} has no variant ${buf[at]}`);
    if (!variant.fields || variant.fields.length === 0) return { value: variant.name, end: at + 1 };
    const fields = variant.fields.map((f, i) => (typeof f === "object" && "name" in f && "type" in f ? (f as IdlField) : { name: String(i), type: f as IdlType }));
    const r = this.decodeFields(fields, buf, at + 1, `${where}.${variant.name}`);
    return { value: { [variant.name]: r.value }, end: r.end };
  }

  decodeFields(fields: IdlField[], buf: Buffer, at: number, where: string): { value: { [k: string]: Value }; end: number } {
    const value: { [k: string]: Value } = {};
    let p = at;
    for (const f of fields) {
      const r = this.decode(f.type, buf, p, `${where}.${f.name}`);
      value[f.name] = r.value;
      p = r.end;
    }
    return { value, end: p };
  }

  encode(type: IdlType, v: Value, where = "value"): Buffer {
    if (typeof type === "string") {
      const int = INT_BYTES[type];
      if (int) return writeInt(BigInt(v as bigint | number), int[0], int[1], where);
      switch (type) {
        case "bool":
          return Buffer.from([v ? 1 : 0]);
        case "publicKey":
          return new PublicKey(v as string).toBuffer();
        case "f32": {
          const b = Buffer.alloc(4);
          b.writeFloatLE(v as number);
          return b;
        }
        case "string": {
          const s = Buffer.from(v as string, "utf8");
          return Buffer.concat([writeInt(BigInt(s.length), 4, false, where), s]);
        }
        default:
          throw new Error(`${where}: cannot encode ${type}`);
      }
    }
    if ("option" in type) return v === null ? Buffer.from([0]) : Buffer.concat([Buffer.from([1]), this.encode(type.option, v, where)]);
    if ("array" in type) {
      const [elem, n] = type.array;
      if (elem === "u8") {
        const b = Buffer.from(v as string, "hex");
        if (b.length !== n) throw new RangeError(`${where}: ${b.length} bytes for [u8; ${n}]`);
        return b;
      }
      return Buffer.concat((v as Value[]).map((x, i) => this.encode(elem, x, `${where}[${i}]`)));
    }
    if ("vec" in type) {
      const items = v as Value[];
      return Buffer.concat([writeInt(BigInt(items.length), 4, false, where), ...items.map((x, i) => this.encode(type.vec, x, `${where}[${i}]`))]);
    }
    const d = this.def(type.defined);
    if (d.type.kind === "struct") return this.encodeFields(d.type.fields, v as { [k: string]: Value }, `${where}.${d.name}`);
    const name = typeof v === "string" ? v : Object.keys(v as object)[0]!;
    const idx = d.type.variants.findIndex((x) => x.name === name);
    if (idx < 0) throw new Error(`${where}: ${d.name} has no variant ${name}`);
    const variant = d.type.variants[idx]!;
    const body = variant.fields?.length ? this.encodeFields(variant.fields as IdlField[], (v as { [k: string]: { [k: string]: Value } })[name]!, where) : Buffer.alloc(0);
    return Buffer.concat([Buffer.from([idx]), body]);
  }

  encodeFields(fields: IdlField[], v: { [k: string]: Value }, where: string): Buffer {
    return Buffer.concat(
      fields.map((f) => {
        if (!(f.name in v)) throw new Error(`${where}: field ${f.name} missing`);
        return this.encode(f.type, v[f.name]!, `${where}.${f.name}`);
      }),
    );
  }

  /** Largest Borsh size of a type (every Option as Some); undefined for variable-length types. */
  borshMaxSize(type: IdlType): number | undefined {
    if (typeof type === "string") {
      if (INT_BYTES[type]) return INT_BYTES[type]![0];
      return { bool: 1, f32: 4, f64: 8, publicKey: 32 }[type];
    }
    if ("option" in type) {
      const s = this.borshMaxSize(type.option);
      return s === undefined ? undefined : 1 + s;
    }
    if ("vec" in type) return undefined;
    if ("array" in type) {
      const s = this.borshMaxSize(type.array[0]);
      return s === undefined ? undefined : s * type.array[1];
    }
    const d = this.def(type.defined);
    if (d.type.kind === "struct") return sum(d.type.fields.map((f) => this.borshMaxSize(f.type)));
    const variants = d.type.variants.map((x) => sum((x.fields ?? []).map((f) => this.borshMaxSize(typeof f === "object" && "type" in f ? f.type : (f as IdlType)))));
    return variants.some((x) => x === undefined) ? undefined : 1 + Math.max(0, ...(variants as number[]));
  }

  /**
   * Size and alignment of the type's Rust in-memory representation, which is what Anchor allocates for
   * `8 + size_of::<T>()` accounts. Integers are aligned to their size (u128 to 16, as LLVM's SBF data layout
   * "i128:128" and x86-64 since Rust 1.77 do). Rust reorders fields by alignment, so a struct of these primitives is
   * its fields' sizes summed and rounded up to its largest alignment. Option<bool> and unit enums are one byte
   * (niche / tag), Option<Pubkey> 33, Option<u64> 16.
   */
  rustLayout(type: IdlType): { size: number; align: number } {
    if (typeof type === "string") {
      const int = INT_BYTES[type];
      if (int) return { size: int[0], align: int[0] };
      const prim: Record<string, { size: number; align: number }> = { bool: { size: 1, align: 1 }, f32: { size: 4, align: 4 }, f64: { size: 8, align: 8 }, publicKey: { size: 32, align: 1 } };
      if (prim[type]) return prim[type]!;
      throw new Error(`no fixed Rust layout for ${type}`);
    }
    if ("option" in type) {
      if (type.option === "bool") return { size: 1, align: 1 };
      const inner = this.rustLayout(type.option);
      return { size: roundUp(1, inner.align) + inner.size, align: inner.align };
    }
    if ("array" in type) {
      const e = this.rustLayout(type.array[0]);
      return { size: e.size * type.array[1], align: e.align };
    }
    if ("vec" in type) throw new Error("no fixed Rust layout for a Vec");
    const d = this.def(type.defined);
    if (d.type.kind === "enum") {
      if (d.type.variants.every((x) => !x.fields?.length)) return { size: 1, align: 1 };
      throw new Error(`Rust layout of data-carrying enum ${d.name} is not modelled`);
    }
    const parts = d.type.fields.map((f) => this.rustLayout(f.type));
    const align = Math.max(1, ...parts.map((p) => p.align));
    return { size: roundUp(parts.reduce((a, p) => a + p.size, 0), align), align };
  }

  accountDiscriminator(name: string): Buffer {
    return sighash("account", name);
  }

  /**
   * Decode an account: discriminator checked, trailing bytes (allocation padding) allowed and reported. `rustIdent`
   * is the name Anchor hashes when the IDL spells the account differently (Doves' IDL says agPriceFeed).
   */
  decodeAccount(name: string, data: Buffer, rustIdent = name): { value: { [k: string]: Value }; consumed: number } {
    const disc = this.accountDiscriminator(rustIdent);
    if (!data.subarray(0, 8).equals(disc)) throw new Error(`${name}: discriminator ${data.subarray(0, 8).toString("hex")}, expected ${disc.toString("hex")}`);
    const r = this.decode({ defined: name }, data, 8, name);
    return { value: r.value as { [k: string]: Value }, consumed: r.end };
  }

  encodeAccount(name: string, value: { [k: string]: Value }, allocated?: number, rustIdent = name): Buffer {
    const body = Buffer.concat([this.accountDiscriminator(rustIdent), this.encode({ defined: name }, value, name)]);
    if (allocated === undefined) return body;
    if (body.length > allocated) throw new Error(`${name}: ${body.length} bytes exceed ${allocated} allocated`);
    return Buffer.concat([body, Buffer.alloc(allocated - body.length)]);
  }

  instruction(name: string) {
    const ix = this.idl.instructions?.find((i) => i.name === name);
    if (!ix) throw new Error(`${this.idl.name}: no instruction ${name} in the public IDL`);
    return ix;
  }

  /**
   * Data and account metas of an instruction, from the public IDL alone: sighash("global", snake_name) ++ Borsh args;
   * metas in IDL order with its isSigner/isMut; an optional account left out takes the program id, read-only.
   */
  buildInstruction(name: string, accounts: Record<string, PublicKey | undefined>, args: Record<string, Value>, programId: PublicKey) {
    const ix = this.instruction(name);
    const keys = ix.accounts.map((a) => {
      const k = accounts[a.name];
      if (k) return { pubkey: k, isSigner: a.isSigner, isWritable: a.isMut };
      if (a.isOptional) return { pubkey: programId, isSigner: false, isWritable: false };
      throw new Error(`${name}: account ${a.name} not given`);
    });
    const data = Buffer.concat([sighash("global", snakeCase(name)), this.encodeFields(ix.args, args, name)]);
    return { keys, data };
  }

  eventDiscriminator(name: string): Buffer {
    return sighash("event", name);
  }

  /** Decode emit_cpi instruction data: tag, event discriminator, Borsh fields. Throws on anything else. */
  decodeEvent(data: Buffer, tag: Buffer): { name: string; value: { [k: string]: Value }; consumed: number } {
    if (!data.subarray(0, 8).equals(tag)) throw new Error(`event data starts ${data.subarray(0, 8).toString("hex")}, not the emit_cpi tag ${tag.toString("hex")}`);
    const disc = data.subarray(8, 16);
    const ev = this.idl.events?.find((e) => this.eventDiscriminator(e.name).equals(disc));
    if (!ev) throw new Error(`no event of ${this.idl.name} has discriminator ${disc.toString("hex")}`);
    const r = this.decodeFields(ev.fields, data, 16, ev.name);
    return { name: ev.name, value: r.value, consumed: r.end };
  }
}

function sum(xs: (number | undefined)[]): number | undefined {
  return xs.some((x) => x === undefined) ? undefined : xs.reduce<number>((a, x) => a + x!, 0);
}

function roundUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

/** The emit_cpi tag from Anchor's constant (vectors/anchor.txt): a u64 stored little-endian. */
export function anchorEventTag(): Buffer {
  const hex = keyValues("anchor.txt").get("event_ix_tag_u64");
  if (!hex) throw new Error("vectors/anchor.txt has no event_ix_tag_u64");
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(hex));
  return b;
}

export const perpsOracle = () => new BorshOracle(loadVector<PublicIdl>("jupiter-perpetuals.monakki.idl.json"));
export const dovesOracle = () => new BorshOracle(loadVector<PublicIdl>("doves.julianfssen.idl.json"));
export const pythOracle = () => new BorshOracle(loadVector<PublicIdl>("pyth-price-update-v2.layout.json"));
