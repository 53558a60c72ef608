import { PublicKey } from "@solana/web3.js";

/** JSON for people and scripts: integers as strings (no precision loss), keys in base58, bytes in hex. */
export function toJson(value: unknown, indent = 2): string {
  return JSON.stringify(
    value,
    function replacer(this: unknown, key: string, v: unknown) {
      // JSON.stringify calls toJSON before the replacer; read the raw value back from the holder.
      const raw = (this as Record<string, unknown>)[key];
      if (typeof raw === "bigint") return raw.toString();
      if (raw instanceof PublicKey) return raw.toBase58();
      if (Buffer.isBuffer(raw)) return raw.toString("hex");
      return v;
    },
    indent,
  );
}
