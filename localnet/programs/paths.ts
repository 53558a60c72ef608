import { join } from "node:path";

/** The committed build of the stand-in Jupiter Perps program. */
export const PERPS_SO_PATH = join(__dirname, "perps", "jupiter_perpetuals.so");
