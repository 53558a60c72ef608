import { join } from "node:path";
import { packageRoot } from "../../keeper/lib/package-root";

/** The committed build of the stand-in Jupiter Perps program. */
export const PERPS_SO_PATH = join(packageRoot(), "localnet", "programs", "perps", "jupiter_perpetuals.so");
