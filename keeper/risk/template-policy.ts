import { ComputeBudgetProgram, type PublicKey, SystemProgram, TransactionInstruction } from "@solana/web3.js";
import { PROGRAM_IDS, associatedTokenAddress, positionRequestPda } from "../../programs-client";
import { decodePerpsInstruction } from "../../programs-client/transaction-decode";
import { type SigningPolicy, SigningPolicyError, checkComputeBudget, checkSigningPolicy } from "./signing-policy";

/**
 * The signing policy for transactions compiled from a template, at the cost of a few comparisons per send: the
 * template's instructions get the full check once, and each send checks what it changes (the compute budget's
 * values, the wrap transfer's amount, the request's data and the request PDAs it names) against the policy.
 * Together that is the full check of exactly the bytes signed. Pure, except for a memo of derived request PDAs.
 */

type Change = "increase" | "decrease";
const REQUEST_CHANGE: Readonly<Record<string, Change>> = { createIncreasePositionMarketRequest: "increase", createDecreasePositionMarketRequest: "decrease" };

/**
 * Request PDAs and their token accounts derived ahead of the send (by the background) and looked up by the check:
 * the same derivation the full policy runs, done earlier. A miss derives on the spot.
 */
export class RequestPdaMemo {
  private readonly derived = new Map<string, { request: Buffer; ata: Buffer; requestKey: PublicKey; ataKey: PublicKey }>();

  constructor(private readonly capacity = 4096) {}

  derive(position: PublicKey, counter: bigint, change: Change, mint: PublicKey) {
    const id = `${position.toBase58()}:${counter}:${change}:${mint.toBase58()}`;
    let d = this.derived.get(id);
    if (!d) {
      const requestKey = positionRequestPda(position, counter, change);
      const ataKey = associatedTokenAddress(mint, requestKey);
      d = { request: requestKey.toBuffer(), ata: ataKey.toBuffer(), requestKey, ataKey };
      // Each counter is sent once: the oldest derivations are the ones no send will ask for again.
      if (this.derived.size >= this.capacity) this.derived.delete(this.derived.keys().next().value!);
      this.derived.set(id, d);
    }
    return d;
  }
}

type Varies =
  | { kind: "compute-budget" }
  | { kind: "transfer" }
  | { kind: "fixed"; data: Buffer }
  | { kind: "request"; name: string; change: Change; side: string | undefined; position: PublicKey; mint: PublicKey; requestSlot: string; ataSlot: string };

export interface CheckedTemplate {
  policy: SigningPolicy;
  sample: readonly TransactionInstruction[];
  varies: readonly Varies[];
}

const malformed = (why: string, i: number | null = null) => new SigningPolicyError("malformed", `refusing to sign: ${why}`, i);

/**
 * The full policy check of a template's sample, and what each of its instructions may change per send. The keys
 * that vary (`varying`, by name) may only be a request's positionRequest and positionRequestAta: everything else
 * signed is fixed by this check.
 */
export function checkTemplate(payer: PublicKey, sample: readonly TransactionInstruction[], varying: Readonly<Record<string, PublicKey>>, policy: SigningPolicy): CheckedTemplate {
  checkSigningPolicy(sample, payer, policy);
  const slotOf = new Map(Object.entries(varying).map(([name, key]) => [key.toBase58(), name]));
  const seen = new Set<string>();
  const varies = sample.map((ix, i): Varies => {
    const varyingHere = ix.keys.map((k, slot) => ({ slot, name: slotOf.get(k.pubkey.toBase58()) })).filter((v) => v.name !== undefined);
    if (ix.programId.equals(ComputeBudgetProgram.programId)) return { kind: "compute-budget" };
    if (ix.programId.equals(PROGRAM_IDS.perpetuals)) {
      const decoded = decodePerpsInstruction(ix.data, ix.keys.map((k) => k.pubkey));
      const change = decoded.known ? REQUEST_CHANGE[decoded.name] : undefined;
      if (decoded.known && change) {
        const named = (account: string) => decoded.accounts.find((a) => a.name === account)!.pubkey;
        const slotName = (account: string) => {
          const name = slotOf.get(named(account).toBase58());
          if (name === undefined) throw malformed(`template instruction ${i} (${decoded.name}): its ${account} must be a varying key, as it changes with the counter`, i);
          return name;
        };
        const requestSlot = slotName("positionRequest");
        const ataSlot = slotName("positionRequestAta");
        if (varyingHere.length !== 2) throw malformed(`template instruction ${i} (${decoded.name}): only positionRequest and positionRequestAta may vary`, i);
        varyingHere.forEach((v) => seen.add(v.name!));
        const params = decoded.args.params as { side?: string };
        return { kind: "request", name: decoded.name, change, side: params.side, position: named("position"), mint: named(change === "increase" ? "inputMint" : "desiredMint"), requestSlot, ataSlot };
      }
    }
    if (varyingHere.length) throw malformed(`template instruction ${i}: key ${varyingHere[0]!.name} may vary only in a market request's positionRequest or positionRequestAta`, i);
    if (ix.programId.equals(SystemProgram.programId)) return { kind: "transfer" };
    return { kind: "fixed", data: Buffer.from(ix.data) };
  });
  const unused = Object.keys(varying).filter((n) => !seen.has(n));
  if (unused.length) throw malformed(`template: varying keys ${unused.join(", ")} are named by no market request`);
  return { policy, sample, varies };
}

const SYSTEM_TRANSFER = 2;

/** One send's check: what it changes in a checked template; a refusal is a SigningPolicyError as for the full check. */
export function checkFill(t: CheckedTemplate, keys: Readonly<Record<string, Uint8Array>>, data: readonly Uint8Array[], memo: RequestPdaMemo): void {
  if (data.length !== t.sample.length) throw malformed(`${data.length} instruction data for a template of ${t.sample.length} instructions`);
  const budget = t.varies.map((v, i) => (v.kind === "compute-budget" ? new TransactionInstruction({ programId: ComputeBudgetProgram.programId, keys: [], data: Buffer.from(data[i]!) }) : t.sample[i]!));
  checkComputeBudget(budget, t.policy);
  t.varies.forEach((v, i) => {
    const d = data[i]!;
    if (v.kind === "transfer") {
      if (d.length !== 12 || Buffer.from(d).readUInt32LE(0) !== SYSTEM_TRANSFER) throw new SigningPolicyError("system-instruction", `refusing to sign: instruction ${i} must stay a System transfer (wrapping SOL), its data is not one`, i);
    } else if (v.kind === "fixed") {
      if (!v.data.equals(d)) throw malformed(`instruction ${i} (program ${t.sample[i]!.programId.toBase58()}) has data other than the checked template's`, i);
    } else if (v.kind === "request") {
      const decoded = decodePerpsInstruction(d, []);
      if (!decoded.known || decoded.name !== v.name) throw new SigningPolicyError("perps-instruction", `refusing to sign: instruction ${i} must be ${v.name}, its data is ${decoded.known ? decoded.name : "not a known instruction"}`, i);
      const params = decoded.args.params as { side?: string; counter: bigint };
      if (params.side !== v.side) throw new SigningPolicyError("request-accounts", `refusing to sign: instruction ${i} (${v.name}) is for side ${params.side}, its position is the wallet's ${v.side} position`, i);
      const expected = memo.derive(v.position, params.counter, v.change, v.mint);
      const request = keys[v.requestSlot];
      const ata = keys[v.ataSlot];
      if (!request || !expected.request.equals(request)) throw new SigningPolicyError("request-accounts", `refusing to sign: ${v.name}'s positionRequest is not the PDA of its position and counter ${params.counter} (${expected.requestKey.toBase58()})`, i);
      if (!ata || !expected.ata.equals(ata)) throw new SigningPolicyError("request-accounts", `refusing to sign: ${v.name}'s positionRequestAta is not the request's token account (${expected.ataKey.toBase58()})`, i);
    }
  });
}
