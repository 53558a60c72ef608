import { PublicKey } from "@solana/web3.js";
import { type AccountKinds, MAINNET, decodeAccount, encodeAccount, perpetualsPda } from "../../programs-client";
import type { LocalChain } from "./chain";
import { INVALID_PARAMS, RpcError, type RpcHandler, pubkeyParam } from "./rpc-methods";

type Permissions = AccountKinds["Custody"]["permissions"];
const PERMISSION_NAMES = [
  "allowSwap",
  "allowAddLiquidity",
  "allowRemoveLiquidity",
  "allowIncreasePosition",
  "allowDecreasePosition",
  "allowCollateralWithdrawal",
  "allowLiquidatePosition",
] as const satisfies readonly (keyof Permissions)[];

/** Custody fields the control can set: the caps, switches and price-impact parameters a keeper must survive. */
const CUSTODY_U64 = ["maxPositionSizeUsd", "maxGlobalLongSizes", "maxGlobalShortSizes", "deltaImbalanceThresholdDecimal", "maxFeeBps", "feeFactor"] as const;

/**
 * `localnet_setPerpsParams [{...}]`: the admin switches of the Jupiter Perps accounts, for tests.
 *   custody (pubkey): the custody the custody fields apply to; required with any of them
 *   permissions: {allowIncreasePosition?, ...}  custody's when `custody` is given, else Perpetuals'
 *   maxPositionSizeUsd, maxGlobalLongSizes, maxGlobalShortSizes (usd6, 0 = no cap),
 *   deltaImbalanceThresholdDecimal, maxFeeBps, feeFactor (priceImpactBuffer), disableClosePositionRequest
 *   pool: {maxRequestExecutionSec?, disableClosePositionRequest?}  the JLP pool
 * Returns the accounts written. Amounts are integers or decimal strings.
 */
export function perpsControls(chain: LocalChain): Record<string, RpcHandler> {
  return {
    localnet_setPerpsParams: ([config]) => {
      const c = (config ?? {}) as Record<string, unknown>;
      const written: string[] = [];
      const custodyFields = [...CUSTODY_U64, "disableClosePositionRequest"].filter((k) => c[k] !== undefined);
      if (c.custody !== undefined) {
        const address = pubkeyParam(c.custody, "custody");
        update(chain, address, "Custody", (v) => {
          if (c.permissions !== undefined) v.permissions = permissionsParam(v.permissions, c.permissions);
          if (c.maxPositionSizeUsd !== undefined) v.maxPositionSizeUsd = amountParam(c.maxPositionSizeUsd, "maxPositionSizeUsd");
          if (c.maxGlobalLongSizes !== undefined) v.pricing.maxGlobalLongSizes = amountParam(c.maxGlobalLongSizes, "maxGlobalLongSizes");
          if (c.maxGlobalShortSizes !== undefined) v.pricing.maxGlobalShortSizes = amountParam(c.maxGlobalShortSizes, "maxGlobalShortSizes");
          const b = v.priceImpactBuffer;
          if (c.deltaImbalanceThresholdDecimal !== undefined) b.deltaImbalanceThresholdDecimal = amountParam(c.deltaImbalanceThresholdDecimal, "deltaImbalanceThresholdDecimal");
          if (c.maxFeeBps !== undefined) b.maxFeeBps = amountParam(c.maxFeeBps, "maxFeeBps");
          if (c.feeFactor !== undefined) b.feeFactor = amountParam(c.feeFactor, "feeFactor");
          if (c.disableClosePositionRequest !== undefined) v.disableClosePositionRequest = boolParam(c.disableClosePositionRequest, "disableClosePositionRequest");
        });
        written.push(address.toBase58());
      } else if (custodyFields.length > 0) {
        throw new RpcError(INVALID_PARAMS, `Invalid param: ${custodyFields.join(", ")} set a custody's fields; name it with "custody": "<pubkey>"`);
      } else if (c.permissions !== undefined) {
        update(chain, perpetualsPda(), "Perpetuals", (v) => {
          v.permissions = permissionsParam(v.permissions, c.permissions);
        });
        written.push(perpetualsPda().toBase58());
      }
      if (c.pool !== undefined) {
        const p = c.pool as Record<string, unknown>;
        update(chain, MAINNET.pool, "Pool", (v) => {
          if (p.maxRequestExecutionSec !== undefined) v.maxRequestExecutionSec = amountParam(p.maxRequestExecutionSec, "pool.maxRequestExecutionSec");
          if (p.disableClosePositionRequest !== undefined) v.disableClosePositionRequest = boolParam(p.disableClosePositionRequest, "pool.disableClosePositionRequest");
        });
        written.push(MAINNET.pool.toBase58());
      }
      if (written.length === 0) throw new RpcError(INVALID_PARAMS, "Invalid params: nothing to set; see localnet/README.md for localnet_setPerpsParams' fields");
      return { written };
    },
  };
}

/** Decode, change and re-encode one program account in place, keeping its allocated size and lamports. */
function update<K extends "Custody" | "Pool" | "Perpetuals">(chain: LocalChain, address: PublicKey, kind: K, change: (v: AccountKinds[K]) => void): void {
  const account = chain.getAccount(address);
  const decoded = account && decodeAccount(kind, account.data, account.owner);
  if (!account || !decoded?.ok) throw new RpcError(INVALID_PARAMS, `Invalid param: ${address.toBase58()} is not a ${kind} account on this localnet`);
  const value = decoded.value;
  change(value);
  chain.setAccount(address, { ...account, data: encodeAccount(kind, value, account.data.length) });
}

function amountParam(v: unknown, what: string): bigint {
  try {
    const n = BigInt(v as string | number);
    if (n >= 0n && n < 1n << 64n) return n;
  } catch {
    // reported below
  }
  throw new RpcError(INVALID_PARAMS, `Invalid param: ${what} must be an unsigned 64-bit integer (a number or a decimal string), got ${JSON.stringify(v)}`);
}

function boolParam(v: unknown, what: string): boolean {
  if (typeof v !== "boolean") throw new RpcError(INVALID_PARAMS, `Invalid param: ${what} must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function permissionsParam(current: Permissions, v: unknown): Permissions {
  if (typeof v !== "object" || v === null) throw new RpcError(INVALID_PARAMS, "Invalid param: permissions must be an object of booleans");
  const next = { ...current };
  for (const [k, value] of Object.entries(v)) {
    if (!(PERMISSION_NAMES as readonly string[]).includes(k)) throw new RpcError(INVALID_PARAMS, `Invalid param: permissions.${k} is not one of ${PERMISSION_NAMES.join(", ")}`);
    next[k as keyof Permissions] = boolParam(value, `permissions.${k}`);
  }
  return next;
}
