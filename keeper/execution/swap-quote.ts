import { Configuration, ResponseError, SwapApi } from "@jup-ag/api";
import type { PublicKey } from "@solana/web3.js";

/** What a request funded in another mint needs from a swap quote: the least the swap may return. */
export interface SwapQuote {
  inAmount: bigint;
  outAmount: bigint;
  /** outAmount less the slippage allowance: the request's jupiterMinimumOut. */
  minimumOut: bigint;
}

export interface SwapQuoter {
  quote(inputMint: PublicKey, outputMint: PublicKey, amount: bigint, slippageBps: number): Promise<SwapQuote>;
}

export class SwapQuoteError extends Error {}

/** Jupiter's public swap API; mainnet's, or the localnet's, which answers from the oracle prices. */
export const DEFAULT_SWAP_API_URL = "https://lite-api.jup.ag/swap/v1";

/**
 * Quotes from Jupiter's swap API through @jup-ag/api, pointed at `basePath` (createJupiterApiClient would pin
 * the public host). Every call has a deadline, and the answer is checked against what was asked before its
 * threshold goes into a signed request.
 */
export function jupiterQuoter(opts: { basePath: string; apiKey?: string; timeoutMs: number }): SwapQuoter {
  const api = new SwapApi(
    new Configuration({
      basePath: opts.basePath.replace(/\/+$/, ""),
      headers: opts.apiKey ? { "x-api-key": opts.apiKey } : undefined,
      fetchApi: (url: string, init?: RequestInit) => fetch(url, { ...init, signal: AbortSignal.timeout(opts.timeoutMs) }),
    }),
  );
  return {
    async quote(inputMint, outputMint, amount, slippageBps) {
      const what = `swap quote ${amount} ${inputMint.toBase58()} -> ${outputMint.toBase58()}`;
      if (amount <= 0n || amount > BigInt(Number.MAX_SAFE_INTEGER)) throw new SwapQuoteError(`${what}: amount out of range`);
      let q;
      try {
        q = await api.quoteGet({ inputMint: inputMint.toBase58(), outputMint: outputMint.toBase58(), amount: Number(amount), slippageBps, swapMode: "ExactIn" });
      } catch (e) {
        const detail = e instanceof ResponseError ? `HTTP ${e.response.status} ${await e.response.text().catch(() => "")}`.trim() : (e as Error).message;
        throw new SwapQuoteError(`${what} failed: ${detail}; check execution.swapApiUrl and that the API is reachable`);
      }
      if (q.inputMint !== inputMint.toBase58() || q.outputMint !== outputMint.toBase58() || BigInt(q.inAmount) !== amount) {
        throw new SwapQuoteError(`${what}: the API answered for ${q.inAmount} ${q.inputMint} -> ${q.outputMint}`);
      }
      const outAmount = BigInt(q.outAmount);
      const minimumOut = BigInt(q.otherAmountThreshold);
      if (minimumOut <= 0n || minimumOut > outAmount) throw new SwapQuoteError(`${what}: threshold ${minimumOut} is not in (0, ${outAmount}]`);
      return { inAmount: amount, outAmount, minimumOut };
    },
  };
}
