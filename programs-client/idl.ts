import type { Idl } from "@coral-xyz/anchor";
import perpetualsJson from "../idl/jupiter_perpetuals.json";
import receiverJson from "../idl/pyth_solana_receiver.json";
import dovesJson from "../idl/doves.json";

// The JSON files are the source of truth; these casts only tell TypeScript they follow Anchor's 0.30+ IDL format.
export const PERPETUALS_IDL = perpetualsJson as unknown as Idl;
export const PYTH_RECEIVER_IDL = receiverJson as unknown as Idl;
export const DOVES_IDL = dovesJson as unknown as Idl;
