import { PublicKey } from "@solana/web3.js";
import { type CustodyAddresses, MAINNET, decodeAccount, decodeOracleAccount, scaleToUsd6 } from "../../programs-client";
import type { LocalChain } from "../validator/chain";

/** An HTTP answer: status and JSON body. */
export interface HttpAnswer {
  status: number;
  body: unknown;
}

const fail = (status: number, error: string): HttpAnswer => ({ status, body: { error } });

/**
 * Jupiter's `GET /swap/v1/quote` on localnet, answered the way the stand-in program's internal swap will fill:
 * both custodies' oracle prices (Doves when fresh, else Pyth), the pool's swapBps taken from the input's USD value,
 * integer maths rounding down as on chain. ExactIn only; one route through the JLP pool. The same @jup-ag/api
 * client code that asks mainnet's API asks this one.
 */
export function localQuote(chain: LocalChain, query: URLSearchParams): HttpAnswer {
  const inputMint = mintParam(query, "inputMint");
  const outputMint = mintParam(query, "outputMint");
  if (typeof inputMint === "string") return fail(400, inputMint);
  if (typeof outputMint === "string") return fail(400, outputMint);
  const amountText = query.get("amount") ?? "";
  if (!/^[1-9][0-9]*$/.test(amountText)) return fail(400, `amount must be a positive integer in base units, got "${amountText}"`);
  const slippageBps = Number(query.get("slippageBps") ?? "50");
  if (!Number.isInteger(slippageBps) || slippageBps < 0 || slippageBps > 10_000) return fail(400, "slippageBps must be an integer in [0, 10000]");
  const swapMode = query.get("swapMode") ?? "ExactIn";
  if (swapMode !== "ExactIn") return fail(400, `swapMode ${swapMode} is not served on localnet; use ExactIn`);
  const input = custodyForMint(inputMint);
  const output = custodyForMint(outputMint);
  if (!input || !output) return fail(400, "COULD_NOT_FIND_ANY_ROUTE: both mints must be JLP pool custodies on localnet");
  if (input === output) return fail(400, "inputMint and outputMint are the same");

  const amount = BigInt(amountText);
  const pool = decodeAccount("Pool", chain.getAccount(MAINNET.pool)?.data ?? new Uint8Array());
  if (!pool.ok) return fail(500, `pool account unreadable: ${pool.error.message}`);
  const inPrice = custodyPriceUsd6(chain, input);
  const outPrice = custodyPriceUsd6(chain, output);
  if (typeof inPrice === "string") return fail(503, inPrice);
  if (typeof outPrice === "string") return fail(503, outPrice);

  const inUsd6 = (amount * inPrice) / 10n ** BigInt(input.decimals);
  const feeUsd6 = (inUsd6 * pool.value.fees.swapBps) / 10_000n;
  const outAmount = ((inUsd6 - feeUsd6) * 10n ** BigInt(output.decimals)) / outPrice;
  if (outAmount <= 0n) return fail(400, "amount is too small to return anything");
  const threshold = (outAmount * BigInt(10_000 - slippageBps)) / 10_000n;
  return {
    status: 200,
    body: {
      inputMint: inputMint.toBase58(),
      inAmount: amount.toString(),
      outputMint: outputMint.toBase58(),
      outAmount: outAmount.toString(),
      otherAmountThreshold: threshold.toString(),
      swapMode: "ExactIn",
      slippageBps,
      priceImpactPct: "0",
      routePlan: [
        {
          swapInfo: {
            ammKey: MAINNET.pool.toBase58(),
            label: "Jupiter Perps (localnet)",
            inputMint: inputMint.toBase58(),
            outputMint: outputMint.toBase58(),
            inAmount: amount.toString(),
            outAmount: outAmount.toString(),
          },
          percent: 100,
        },
      ],
      contextSlot: Number(chain.slot),
      timeTaken: 0,
    },
  };
}

function mintParam(query: URLSearchParams, name: string): PublicKey | string {
  const v = query.get(name);
  if (!v) return `${name} is required`;
  try {
    return new PublicKey(v);
  } catch {
    return `${name} is not a base58 public key: ${v}`;
  }
}

function custodyForMint(mint: PublicKey): CustodyAddresses | undefined {
  return Object.values(MAINNET.custodies).find((c) => c.mint.equals(mint));
}

/** The price a fill would use: the Doves aggregate within the custody's maximum age, else Pyth within it. */
function custodyPriceUsd6(chain: LocalChain, c: CustodyAddresses): bigint | string {
  const custody = decodeAccount("Custody", chain.getAccount(c.custody)?.data ?? new Uint8Array());
  if (!custody.ok) return `custody ${c.custody.toBase58()} unreadable: ${custody.error.message}`;
  const maxAge = BigInt(custody.value.oracle.maxPriceAgeSec);
  const now = chain.nowSec();
  for (const address of [c.dovesAg, c.pythPriceUpdate]) {
    const account = chain.getAccount(address);
    if (!account) continue;
    const price = decodeOracleAccount(account.owner, account.data);
    if (price.ok && price.value.price > 0n && now - price.value.publishTime <= maxAge) return scaleToUsd6(price.value.price, price.value.exponent, "floor");
  }
  return `no fresh oracle price for ${c.mint.toBase58()}; the price driver may be stopped`;
}
