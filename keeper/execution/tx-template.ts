import { type PublicKey, type TransactionInstruction, TransactionMessage } from "@solana/web3.js";

/**
 * A v0 transaction compiled once, filled per send. The account keys, their order and the header are fixed by the
 * instructions' programs and accounts, so they are compiled once by web3.js from a sample; a send writes only the
 * blockhash, the keys that vary (a request's PDA), and each instruction's data. The bytes equal what web3.js
 * compiles for the same instructions as long as a varying key keeps its role (writable, not a signer) and stays
 * distinct from every other key, which holds for a PDA of a fresh counter.
 */
export interface TxTemplate {
  payer: PublicKey;
  /** 0x80, the header, the key count and the keys: the message up to its blockhash. */
  head: Uint8Array;
  /** Byte offset in `head` of each varying key, by the name the template was given. */
  keyOffsets: ReadonlyMap<string, number>;
  /** Per instruction: its program index and its account indexes, encoded, ready to be followed by its data. */
  instructionHeads: readonly Uint8Array[];
  /** The instructions the template was compiled from (what the signing policy checks once). */
  sample: readonly TransactionInstruction[];
}

export function compactU16(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    let byte = n & 0x7f;
    n >>= 7;
    if (n === 0) return (out.push(byte), out);
    byte |= 0x80;
    out.push(byte);
  }
}

/** Compiles `sample` (with some blockhash) and records where the keys named in `varying` sit. */
export function compileTemplate(payer: PublicKey, sample: readonly TransactionInstruction[], varying: Readonly<Record<string, PublicKey>>): TxTemplate {
  const message = new TransactionMessage({ payerKey: payer, recentBlockhash: payer.toBase58(), instructions: [...sample] }).compileToV0Message();
  const keys = message.staticAccountKeys;
  const head = Uint8Array.from([0x80, message.header.numRequiredSignatures, message.header.numReadonlySignedAccounts, message.header.numReadonlyUnsignedAccounts, ...compactU16(keys.length), ...keys.flatMap((k) => [...k.toBytes()])]);
  const keysAt = head.length - 32 * keys.length;
  const keyOffsets = new Map<string, number>();
  for (const [name, key] of Object.entries(varying)) {
    const matches = keys.map((k, i) => (k.equals(key) ? i : -1)).filter((i) => i >= 0);
    if (matches.length !== 1) throw new Error(`template: varying key ${name} (${key.toBase58()}) appears ${matches.length} times among the transaction's keys, expected once`);
    const i = matches[0]!;
    const { numRequiredSignatures: signers, numReadonlyUnsignedAccounts: readonlyUnsigned } = message.header;
    if (i < signers || i >= keys.length - readonlyUnsigned) throw new Error(`template: varying key ${name} must be writable and not a signer, so its slot does not depend on its value`);
    keyOffsets.set(name, keysAt + 32 * i);
  }
  const instructionHeads = message.compiledInstructions.map((ix) => Uint8Array.from([ix.programIdIndex, ...compactU16(ix.accountKeyIndexes.length), ...ix.accountKeyIndexes]));
  return { payer, head, keyOffsets, instructionHeads, sample };
}

export interface TemplateFill {
  /** 32 bytes. */
  blockhash: Uint8Array;
  /** 32 bytes per varying key, by name; every varying key must be given. */
  keys: Readonly<Record<string, Uint8Array>>;
  /** One per instruction, in order. */
  data: readonly Uint8Array[];
}

/** The message bytes for one send. */
export function fillTemplate(t: TxTemplate, f: TemplateFill): Uint8Array {
  if (f.data.length !== t.instructionHeads.length) throw new Error(`template: ${f.data.length} instruction data given for ${t.instructionHeads.length} instructions`);
  if (f.blockhash.length !== 32) throw new Error(`template: blockhash is ${f.blockhash.length} bytes, expected 32`);
  const dataLens = f.data.map((d) => compactU16(d.length));
  const ixCount = compactU16(t.instructionHeads.length);
  let size = t.head.length + 32 + ixCount.length + 1;
  t.instructionHeads.forEach((h, i) => (size += h.length + dataLens[i]!.length + f.data[i]!.length));
  const out = new Uint8Array(size);
  out.set(t.head, 0);
  for (const [name, offset] of t.keyOffsets) {
    const key = f.keys[name];
    if (!key || key.length !== 32) throw new Error(`template: varying key ${name} not given as 32 bytes`);
    out.set(key, offset);
  }
  let at = t.head.length;
  out.set(f.blockhash, at);
  at += 32;
  out.set(ixCount, at);
  at += ixCount.length;
  t.instructionHeads.forEach((h, i) => {
    out.set(h, at);
    at += h.length;
    out.set(dataLens[i]!, at);
    at += dataLens[i]!.length;
    out.set(f.data[i]!, at);
    at += f.data[i]!.length;
  });
  out[at] = 0; // no address lookup tables
  return out;
}

/** A single-signer transaction's wire bytes: one signature, then the message. */
export function transactionBytes(signature: Uint8Array, message: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + 64 + message.length);
  out[0] = 1;
  out.set(signature, 1);
  out.set(message, 65);
  return out;
}
