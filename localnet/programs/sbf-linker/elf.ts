/** ELF64 little-endian structures: what the SBF linker reads from clang's objects and writes into the .so. */

export const SHT = { NULL: 0, PROGBITS: 1, SYMTAB: 2, STRTAB: 3, RELA: 4, DYNAMIC: 6, NOBITS: 8, REL: 9, DYNSYM: 11 } as const;
export const SHF = { WRITE: 1, ALLOC: 2, EXECINSTR: 4 } as const;
export const STT = { NOTYPE: 0, FUNC: 2, SECTION: 3 } as const;
export const STB = { LOCAL: 0, GLOBAL: 1 } as const;
export const EM_BPF = 247;
export const ET_REL = 1;
export const ET_DYN = 3;

export interface Section {
  index: number;
  name: string;
  type: number;
  flags: bigint;
  offset: number;
  size: number;
  link: number;
  info: number;
  align: number;
  entsize: number;
}

export interface Symbol {
  name: string;
  type: number;
  bind: number;
  shndx: number;
  value: number;
}

export interface Relocation {
  offset: number;
  type: number;
  symbol: number;
}

export interface ObjectFile {
  path: string;
  bytes: Buffer;
  sections: Section[];
  symbols: Symbol[];
}

function cstring(buf: Buffer, at: number): string {
  const end = buf.indexOf(0, at);
  return buf.toString("latin1", at, end < 0 ? buf.length : end);
}

/** Parse a relocatable BPF object (clang -target bpf -c). Throws with the file's name on anything else. */
export function readObject(path: string, bytes: Buffer): ObjectFile {
  const fail = (why: string): never => {
    throw new Error(`${path}: ${why}`);
  };
  if (bytes.length < 64 || bytes.readUInt32BE(0) !== 0x7f454c46) fail("not an ELF file");
  if (bytes[4] !== 2 || bytes[5] !== 1) fail("not a 64-bit little-endian ELF");
  if (bytes.readUInt16LE(16) !== ET_REL) fail("not a relocatable object (compile with -c)");
  if (bytes.readUInt16LE(18) !== EM_BPF) fail(`machine ${bytes.readUInt16LE(18)} is not BPF (compile with -target bpf)`);
  const shoff = Number(bytes.readBigUInt64LE(40));
  const shnum = bytes.readUInt16LE(60);
  const shstrndx = bytes.readUInt16LE(62);
  const raw = Array.from({ length: shnum }, (_, i) => {
    const at = shoff + i * 64;
    return {
      index: i,
      nameOff: bytes.readUInt32LE(at),
      type: bytes.readUInt32LE(at + 4),
      flags: bytes.readBigUInt64LE(at + 8),
      offset: Number(bytes.readBigUInt64LE(at + 24)),
      size: Number(bytes.readBigUInt64LE(at + 32)),
      link: bytes.readUInt32LE(at + 40),
      info: bytes.readUInt32LE(at + 44),
      align: Number(bytes.readBigUInt64LE(at + 48)),
      entsize: Number(bytes.readBigUInt64LE(at + 56)),
    };
  });
  const shstr = raw[shstrndx] ?? fail("no section name table");
  const sections: Section[] = raw.map(({ nameOff, ...s }) => ({ ...s, name: cstring(bytes, shstr.offset + nameOff) }));
  const symtab = sections.find((s) => s.type === SHT.SYMTAB);
  const symbols: Symbol[] = [];
  if (symtab) {
    const strtab = sections[symtab.link] ?? fail("symbol table without strings");
    for (let at = symtab.offset; at < symtab.offset + symtab.size; at += 24) {
      const info = bytes[at + 4]!;
      symbols.push({
        name: cstring(bytes, strtab.offset + bytes.readUInt32LE(at)),
        type: info & 0xf,
        bind: info >> 4,
        shndx: bytes.readUInt16LE(at + 6),
        value: Number(bytes.readBigUInt64LE(at + 8)),
      });
    }
  }
  return { path, bytes, sections, symbols };
}

export function relocations(obj: ObjectFile, rel: Section): Relocation[] {
  const out: Relocation[] = [];
  for (let at = rel.offset; at < rel.offset + rel.size; at += 16) {
    const info = obj.bytes.readBigUInt64LE(at + 8);
    out.push({ offset: Number(obj.bytes.readBigUInt64LE(at)), type: Number(info & 0xffffffffn), symbol: Number(info >> 32n) });
  }
  return out;
}

/** A growable byte image with the few writers the output needs. */
export class Image {
  private buf = Buffer.alloc(4096);
  length = 0;

  private ensure(n: number): void {
    if (n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(n, this.buf.length * 2));
    this.buf.copy(next);
    this.buf = next;
  }

  align(to: number): number {
    this.length = Math.ceil(this.length / to) * to;
    this.ensure(this.length);
    return this.length;
  }

  append(bytes: Buffer): number {
    const at = this.length;
    this.ensure(at + bytes.length);
    bytes.copy(this.buf, at);
    this.length += bytes.length;
    return at;
  }

  reserve(n: number): number {
    const at = this.length;
    this.ensure(at + n);
    this.length += n;
    return at;
  }

  u8(at: number, v: number): void {
    this.buf.writeUInt8(v, at);
  }
  u16(at: number, v: number): void {
    this.buf.writeUInt16LE(v, at);
  }
  u32(at: number, v: number): void {
    this.buf.writeUInt32LE(v >>> 0, at);
  }
  u64(at: number, v: bigint | number): void {
    this.buf.writeBigUInt64LE(BigInt(v), at);
  }

  bytes(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }
}
