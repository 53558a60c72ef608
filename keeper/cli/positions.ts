import { MARKET_SYMBOLS } from "../../programs-client";
import { ConnectionAccountSource } from "../market/account-source";
import { formatUnits } from "../market/position-math";
import { type MarketSnapshot, type PositionView, readMarketSnapshot } from "../market/reader";
import { toJson } from "./json";
import { connect, parsePubkey, resolveRpcUrl, rpcCall } from "./rpc";

const usd = (v: bigint | null) => (v === null ? "-" : formatUnits(v, 6));

function row(p: PositionView): string[] {
  const pos = p.position;
  return [
    p.address.toBase58(),
    p.market ?? pos.custody.toBase58().slice(0, 8),
    pos.side,
    usd(pos.sizeUsd),
    usd(pos.price),
    usd(pos.collateralUsd),
    p.leverageBps === null ? "-" : `${formatUnits(p.leverageBps, 4)}x`,
    formatUnits(p.deltaBase, p.decimals),
    usd(p.unrealisedPnlUsd6),
  ];
}

export function formatPositionsTable(snapshot: MarketSnapshot): string {
  const open = snapshot.positions.filter((p) => p.open);
  const header = ["position", "market", "side", "size $", "entry $", "collateral $", "leverage", "delta (tokens)", "uPnL $"];
  const rows = [header, ...open.map(row)];
  const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd());
  const marks = snapshot.markets.map((m) => `${m.symbol} ${usd(m.markPriceUsd6)}`).join(", ");
  const footer = [
    `${open.length} open position(s) of ${snapshot.owner.toBase58()} at slot ${snapshot.slot}; marks (Doves): ${marks}`,
    ...(snapshot.requests.length ? [`${snapshot.requests.length} open position request(s)`] : []),
    ...snapshot.issues.map((i) => `warning: ${i}`),
  ];
  return [...(open.length ? lines : []), ...footer].join("\n");
}

export async function runPositions(opts: { owner: string; rpc?: string; json?: boolean }, out: (s: string) => void): Promise<void> {
  const owner = parsePubkey(opts.owner, "--owner");
  const url = resolveRpcUrl(opts.rpc);
  const source = new ConnectionAccountSource(connect(url));
  const snapshot = await rpcCall(url, "reading positions", () =>
    readMarketSnapshot(source, { owner, markets: MARKET_SYMBOLS, nowSec: BigInt(Math.floor(Date.now() / 1000)) }),
  );
  out(opts.json ? toJson(snapshot) : formatPositionsTable(snapshot));
}
