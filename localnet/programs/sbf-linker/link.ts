import { EM_BPF, ET_DYN, Image, type ObjectFile, type Section, SHF, SHT, STB, STT, relocations } from "./elf";

/** Where the SBF loader maps file byte 0 (sh_addr == sh_offset, so a file offset plus this is a VM address). */
const MM_PROGRAM_START = 0x1_0000_0000n;
const R_BPF_64_64 = 1;
const R_BPF_64_ABS64 = 2;
const R_BPF_64_32 = 10;
const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
const SHDR_SIZE = 64;
const DT = { NULL: 0, STRTAB: 5, SYMTAB: 6, REL: 17, RELSZ: 18, RELENT: 19, STRSZ: 10, SYMENT: 11, TEXTREL: 22, FLAGS: 30 } as const;
const DF_TEXTREL = 4;
const PT = { LOAD: 1, DYNAMIC: 2 } as const;
const LDDW = 0x18;
const CALLX = 0x8d;

export class LinkError extends Error {}

interface Placed {
  obj: ObjectFile;
  section: Section;
  /** Offset inside the merged output section. */
  at: number;
}

const flag = (s: Section, f: number) => (s.flags & BigInt(f)) !== 0n;
const alignUp = (n: number, to: number) => Math.ceil(n / Math.max(to, 1)) * Math.max(to, 1);

function isDebugOrMeta(s: Section): boolean {
  return !flag(s, SHF.ALLOC);
}

/** Reject what an SBPFv0 loader or verifier refuses, naming the instruction; normalise clang-19's callx. */
function checkInstructions(text: Buffer): void {
  for (let i = 0; i < text.length; i += 8) {
    const op = text[i]!;
    const cls = op & 7;
    const where = `instruction #${i / 8} (opcode 0x${op.toString(16)})`;
    if (cls === 6) throw new LinkError(`${where}: JMP32 is not SBPFv0 (compile with -mcpu=v1 or v2)`);
    if (op === 0xdb || op === 0xc3) throw new LinkError(`${where}: atomic operations are not SBPFv0`);
    if ((op & 0xe0) === 0x80 && (cls === 1 || cls === 0)) throw new LinkError(`${where}: sign-extending loads are not SBPFv0`);
    const offset = text.readInt16LE(i + 2);
    if ((cls === 4 || cls === 7) && offset !== 0 && op !== 0xd4 && op !== 0xdc) {
      throw new LinkError(`${where}: cpu-v4 ALU forms (signed division, movsx) are not SBPFv0`);
    }
    if (op === CALLX && text.readInt32LE(i + 4) === 0) {
      const dst = text[i + 1]! & 0x0f;
      if (dst !== 0) text.writeInt32LE(dst, i + 4);
      text[i + 1] = text[i + 1]! & 0xf0;
    }
    if (op === LDDW) i += 8;
  }
}

/**
 * Link clang's relocatable BPF objects into an SBPFv0 shared object the Solana loader accepts: one .text, one
 * .rodata, absolute addresses pre-resolved, bpf-to-bpf calls made pc-relative, and syscalls left as `call -1`
 * with a dynamic relocation naming them (the loader writes the murmur3 hash of the name).
 */
export function link(objects: ObjectFile[], entry = "entrypoint"): Buffer {
  const text: Placed[] = [];
  const rodata: Placed[] = [];
  let textSize = 0;
  let rodataSize = 0;
  let rodataAlign = 8;
  for (const obj of objects) {
    for (const s of obj.sections) {
      if (s.type !== SHT.PROGBITS && s.type !== SHT.NOBITS) continue;
      if (isDebugOrMeta(s) || s.size === 0) continue;
      if (flag(s, SHF.WRITE) || s.type === SHT.NOBITS) {
        throw new LinkError(`${obj.path}: writable/bss section ${s.name} (${s.size} bytes): SBPFv0 has no writable globals; keep state in accounts`);
      }
      if (flag(s, SHF.EXECINSTR)) {
        textSize = alignUp(textSize, 8);
        text.push({ obj, section: s, at: textSize });
        textSize += s.size;
      } else {
        rodataSize = alignUp(rodataSize, s.align);
        rodataAlign = Math.max(rodataAlign, s.align);
        rodata.push({ obj, section: s, at: rodataSize });
        rodataSize += s.size;
      }
    }
  }
  if (textSize === 0) throw new LinkError("no code: none of the objects has an executable section");

  const img = new Image();
  img.reserve(EHDR_SIZE + 3 * PHDR_SIZE);
  const textOff = img.align(8);
  const textBuf = Buffer.alloc(textSize);
  for (const p of text) p.obj.bytes.copy(textBuf, p.at, p.section.offset, p.section.offset + p.section.size);
  const rodataBuf = Buffer.alloc(rodataSize);
  for (const p of rodata) p.obj.bytes.copy(rodataBuf, p.at, p.section.offset, p.section.offset + p.section.size);
  const rodataOff = alignUp(textOff + textSize, rodataAlign);

  const placed = new Map<string, { out: "text" | "rodata"; at: number }>();
  for (const p of text) placed.set(`${p.obj.path}#${p.section.index}`, { out: "text", at: p.at });
  for (const p of rodata) placed.set(`${p.obj.path}#${p.section.index}`, { out: "rodata", at: p.at });
  const fileOffset = (obj: ObjectFile, shndx: number, value: number): number | undefined => {
    const p = placed.get(`${obj.path}#${shndx}`);
    if (!p) return undefined;
    return (p.out === "text" ? textOff : rodataOff) + p.at + value;
  };

  const globals = new Map<string, number>();
  for (const obj of objects) {
    for (const sym of obj.symbols) {
      if (sym.bind !== STB.GLOBAL || sym.shndx === 0 || !sym.name) continue;
      const at = fileOffset(obj, sym.shndx, sym.value);
      if (at === undefined) continue;
      if (globals.has(sym.name)) throw new LinkError(`${obj.path}: symbol ${sym.name} is defined twice`);
      globals.set(sym.name, at);
    }
  }
  const entryAt = globals.get(entry);
  if (entryAt === undefined || entryAt >= textOff + textSize) throw new LinkError(`entry function ${entry} is not defined in any object`);

  const syscalls: string[] = [];
  const dynRelocs: { at: number; name: string }[] = [];
  for (const obj of objects) {
    for (const rel of obj.sections.filter((s) => s.type === SHT.REL || s.type === SHT.RELA)) {
      const target = obj.sections[rel.info];
      if (!target || !placed.has(`${obj.path}#${target.index}`)) continue;
      if (rel.type === SHT.RELA) throw new LinkError(`${obj.path}: RELA relocations in ${target.name} (expected REL from clang -target bpf)`);
      const base = placed.get(`${obj.path}#${target.index}`)!;
      const buf = base.out === "text" ? textBuf : rodataBuf;
      for (const r of relocations(obj, rel)) {
        const sym = obj.symbols[r.symbol];
        if (!sym) throw new LinkError(`${obj.path}: relocation against missing symbol #${r.symbol}`);
        const at = base.at + r.offset;
        const resolved = sym.shndx !== 0 ? fileOffset(obj, sym.shndx, sym.value) : globals.get(sym.name);
        const where = `${obj.path}: ${target.name}+0x${r.offset.toString(16)} (${sym.name || "section"})`;
        if (r.type === R_BPF_64_64) {
          if (resolved === undefined) throw new LinkError(`${where}: address of undefined symbol`);
          const v = MM_PROGRAM_START + BigInt(resolved) + BigInt(buf.readUInt32LE(at + 4));
          buf.writeUInt32LE(Number(v & 0xffffffffn), at + 4);
          buf.writeUInt32LE(Number(v >> 32n), at + 12);
        } else if (r.type === R_BPF_64_ABS64) {
          if (resolved === undefined) throw new LinkError(`${where}: pointer to undefined symbol`);
          buf.writeBigUInt64LE(MM_PROGRAM_START + BigInt(resolved) + buf.readBigUInt64LE(at), at);
        } else if (r.type === R_BPF_64_32 && base.out === "text") {
          const insn = at / 8;
          if (resolved === undefined) {
            if (sym.name.length >= 64) throw new LinkError(`${where}: syscall name longer than 63 bytes`);
            buf.writeInt32LE(-1, at + 4);
            if (!syscalls.includes(sym.name)) syscalls.push(sym.name);
            dynRelocs.push({ at: textOff + at, name: sym.name });
          } else {
            let targetInsn = (resolved - textOff) / 8;
            if (sym.type === STT.SECTION) targetInsn += buf.readInt32LE(at + 4) + 1;
            buf.writeInt32LE(targetInsn - (insn + 1), at + 4);
          }
        } else {
          throw new LinkError(`${where}: unsupported relocation type ${r.type} (compile without -fPIC / -g)`);
        }
      }
    }
  }
  checkInstructions(textBuf);

  img.append(textBuf);
  img.align(rodataAlign);
  if (rodataSize > 0) img.append(rodataBuf);
  const loadRxEnd = img.length;

  // Dynamic tables: .dynsym = [null, entry, syscalls...], .dynstr, .rel.dyn.
  const dynstrParts = ["", entry, ...syscalls];
  const dynstr = Buffer.from(dynstrParts.join("\0") + "\0", "latin1");
  const nameOffset = (name: string) => dynstrParts.slice(0, dynstrParts.indexOf(name)).reduce((n, s) => n + s.length + 1, 0);
  const dynsym = Buffer.alloc(24 * (2 + syscalls.length));
  dynsym.writeUInt32LE(nameOffset(entry), 24);
  dynsym[24 + 4] = (STB.GLOBAL << 4) | STT.FUNC;
  dynsym.writeUInt16LE(1, 24 + 6); // section 1 is .text
  dynsym.writeBigUInt64LE(BigInt(entryAt), 24 + 8);
  syscalls.forEach((name, i) => {
    const at = 24 * (2 + i);
    dynsym.writeUInt32LE(nameOffset(name), at);
    dynsym[at + 4] = (STB.GLOBAL << 4) | STT.NOTYPE;
  });
  const reldyn = Buffer.alloc(16 * dynRelocs.length);
  dynRelocs.forEach((r, i) => {
    reldyn.writeBigUInt64LE(BigInt(r.at), 16 * i);
    reldyn.writeBigUInt64LE((BigInt(2 + syscalls.indexOf(r.name)) << 32n) | BigInt(R_BPF_64_32), 16 * i + 8);
  });

  const dynamicEntries = 6 + (dynRelocs.length > 0 ? 3 : 0) + 1;
  const dynamicOff = img.align(8);
  img.reserve(16 * dynamicEntries);
  const dynsymOff = img.align(8);
  img.append(dynsym);
  const dynstrOff = img.append(dynstr);
  const reldynOff = img.align(8);
  if (reldyn.length > 0) img.append(reldyn);
  const loadREnd = img.length;

  const dynamic: [number, number][] = [
    [DT.FLAGS, DF_TEXTREL],
    [DT.TEXTREL, 0],
    [DT.SYMTAB, dynsymOff],
    [DT.SYMENT, 24],
    [DT.STRTAB, dynstrOff],
    [DT.STRSZ, dynstr.length],
    ...(dynRelocs.length > 0 ? ([[DT.REL, reldynOff], [DT.RELSZ, reldyn.length], [DT.RELENT, 16]] as [number, number][]) : []),
    [DT.NULL, 0],
  ];
  dynamic.forEach(([tag, val], i) => {
    img.u64(dynamicOff + 16 * i, tag);
    img.u64(dynamicOff + 16 * i + 8, val);
  });

  interface OutSection { name: string; type: number; flags: number; off: number; size: number; link?: number; info?: number; align: number; entsize?: number }
  const out: OutSection[] = [
    { name: "", type: SHT.NULL, flags: 0, off: 0, size: 0, align: 0 },
    { name: ".text", type: SHT.PROGBITS, flags: SHF.ALLOC | SHF.EXECINSTR, off: textOff, size: textSize, align: 8 },
  ];
  if (rodataSize > 0) out.push({ name: ".rodata", type: SHT.PROGBITS, flags: SHF.ALLOC, off: rodataOff, size: rodataSize, align: rodataAlign });
  const dynstrIndex = out.length + 2;
  const dynsymIndex = out.length + 1;
  out.push({ name: ".dynamic", type: SHT.DYNAMIC, flags: SHF.ALLOC | SHF.WRITE, off: dynamicOff, size: 16 * dynamicEntries, link: dynstrIndex, align: 8, entsize: 16 });
  out.push({ name: ".dynsym", type: SHT.DYNSYM, flags: SHF.ALLOC, off: dynsymOff, size: dynsym.length, link: dynstrIndex, info: 1, align: 8, entsize: 24 });
  out.push({ name: ".dynstr", type: SHT.STRTAB, flags: SHF.ALLOC, off: dynstrOff, size: dynstr.length, align: 1 });
  if (reldyn.length > 0) out.push({ name: ".rel.dyn", type: SHT.REL, flags: SHF.ALLOC, off: reldynOff, size: reldyn.length, link: dynsymIndex, align: 8, entsize: 16 });
  const shstrtab = Buffer.from(out.map((s) => s.name).join("\0") + "\0.shstrtab\0", "latin1");
  const shstrtabOff = img.append(shstrtab);
  out.push({ name: ".shstrtab", type: SHT.STRTAB, flags: 0, off: shstrtabOff, size: shstrtab.length, align: 1 });
  const shoff = img.align(8);
  img.reserve(SHDR_SIZE * out.length);
  let nameAt = 0;
  out.forEach((s, i) => {
    const at = shoff + SHDR_SIZE * i;
    img.u32(at, i === 0 ? 0 : nameAt);
    nameAt += i === out.length - 1 ? 0 : s.name.length + 1;
    img.u32(at + 4, s.type);
    img.u64(at + 8, s.flags);
    img.u64(at + 16, s.type === SHT.NULL || s.name === ".shstrtab" ? 0 : s.off);
    img.u64(at + 24, s.off);
    img.u64(at + 32, s.size);
    img.u32(at + 40, s.link ?? 0);
    img.u32(at + 44, s.info ?? 0);
    img.u64(at + 48, s.align);
    img.u64(at + 56, s.entsize ?? 0);
  });
  // .shstrtab's own name sits after every other name.
  img.u32(shoff + SHDR_SIZE * (out.length - 1), shstrtab.length - ".shstrtab\0".length);

  // ELF header.
  img.u32(0, 0x464c457f);
  img.u8(4, 2); // 64-bit
  img.u8(5, 1); // little-endian
  img.u8(6, 1); // version
  img.u16(16, ET_DYN);
  img.u16(18, EM_BPF);
  img.u32(20, 1);
  img.u64(24, entryAt);
  img.u64(32, EHDR_SIZE);
  img.u64(40, shoff);
  img.u32(48, 0); // e_flags 0: SBPFv0
  img.u16(52, EHDR_SIZE);
  img.u16(54, PHDR_SIZE);
  img.u16(56, 3);
  img.u16(58, SHDR_SIZE);
  img.u16(60, out.length);
  img.u16(62, out.length - 1);

  const phdrs = [
    { type: PT.LOAD, flags: 5, off: textOff, size: loadRxEnd - textOff, align: 0x1000 },
    { type: PT.LOAD, flags: 4, off: dynamicOff, size: loadREnd - dynamicOff, align: 0x1000 },
    { type: PT.DYNAMIC, flags: 6, off: dynamicOff, size: 16 * dynamicEntries, align: 8 },
  ];
  phdrs.forEach((p, i) => {
    const at = EHDR_SIZE + PHDR_SIZE * i;
    img.u32(at, p.type);
    img.u32(at + 4, p.flags);
    img.u64(at + 8, p.off);
    img.u64(at + 16, p.off);
    img.u64(at + 24, p.off);
    img.u64(at + 32, p.size);
    img.u64(at + 40, p.size);
    img.u64(at + 48, p.align);
  });
  return img.bytes();
}
