import { readFileSync } from "node:fs";
import { PROGRAM_IDS } from "../../programs-client";
import type { LocalChain } from "../validator/chain";
import { PERPS_SO_PATH } from "./paths";

/** Put the stand-in Jupiter Perps program at the real program id (owned by the upgradeable loader). */
export function addPerpsProgram(chain: LocalChain, soPath = PERPS_SO_PATH): void {
  chain.svm.addProgram(PROGRAM_IDS.perpetuals.toBytes(), readFileSync(soPath));
}
