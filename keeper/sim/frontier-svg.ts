import type { Frontier } from "./frontier";

/** A self-contained SVG chart of cost (y) against tracking error (x, log scale), one line per policy kind. */

const WIDTH = 760;
const HEIGHT = 480;
const MARGIN = { left: 70, right: 190, top: 40, bottom: 55 };
const COLOURS: Record<string, string> = { clock: "#d62728", fixed: "#7f7f7f", "whalley-wilmott": "#1f77b4", zakamouline: "#2ca02c" };

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const fmt = (n: number) => (Math.abs(n) >= 10 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(1) : n.toPrecision(2));

/** Round numbers spanning [lo, hi]: 1-2-5 steps for the linear axis. */
function linearTicks(lo: number, hi: number): number[] {
  const raw = (hi - lo) / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) out.push(v);
  return out;
}

function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo && v <= hi) out.push(v);
    }
  }
  return out;
}

export function renderFrontierSvg(frontiers: readonly Frontier[], title: string): string {
  const pts = frontiers.flatMap((f) => f.points).filter((p) => p.trackingErrorStd > 0);
  if (pts.length === 0) throw new Error("no frontier points with a positive tracking error to draw");
  const teLo = Math.min(...pts.map((p) => p.trackingErrorStd)) / 1.15;
  const teHi = Math.max(...pts.map((p) => p.trackingErrorStd)) * 1.15;
  const costHi = Math.max(...pts.map((p) => p.costUsd)) * 1.08;
  const costLo = Math.max(0, Math.min(...pts.map((p) => p.costUsd)) * 0.9);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (te: number) => MARGIN.left + (Math.log(te / teLo) / Math.log(teHi / teLo)) * plotW;
  const y = (c: number) => MARGIN.top + plotH - ((c - costLo) / (costHi - costLo)) * plotH;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${MARGIN.left}" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
  ];
  for (const t of logTicks(teLo, teHi)) {
    parts.push(`<line x1="${x(t).toFixed(1)}" y1="${MARGIN.top}" x2="${x(t).toFixed(1)}" y2="${MARGIN.top + plotH}" stroke="#eee"/>`);
    parts.push(`<text x="${x(t).toFixed(1)}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${fmt(t)}</text>`);
  }
  for (const t of linearTicks(costLo, costHi)) {
    parts.push(`<line x1="${MARGIN.left}" y1="${y(t).toFixed(1)}" x2="${MARGIN.left + plotW}" y2="${y(t).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${fmt(t)}</text>`);
  }
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 14}" text-anchor="middle">tracking error std (USD, log scale)</text>`);
  parts.push(`<text transform="translate(18 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">mean cost: fees + impact + borrow + tx (USD)</text>`);

  frontiers.forEach((f, i) => {
    const colour = COLOURS[f.kind] ?? "#9467bd";
    const drawn = f.points.filter((p) => p.trackingErrorStd > 0);
    const line = drawn.map((p) => `${x(p.trackingErrorStd).toFixed(1)},${y(p.costUsd).toFixed(1)}`).join(" ");
    parts.push(`<polyline points="${line}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (const p of drawn) {
      parts.push(`<circle cx="${x(p.trackingErrorStd).toFixed(1)}" cy="${y(p.costUsd).toFixed(1)}" r="3.5" fill="${colour}"><title>${esc(p.name)}: TE ${p.trackingErrorStd.toFixed(3)}, cost ${p.costUsd.toFixed(3)}</title></circle>`);
    }
    const ly = MARGIN.top + 14 + i * 20;
    parts.push(`<line x1="${WIDTH - MARGIN.right + 14}" y1="${ly - 4}" x2="${WIDTH - MARGIN.right + 38}" y2="${ly - 4}" stroke="${colour}" stroke-width="2"/>`);
    parts.push(`<text x="${WIDTH - MARGIN.right + 44}" y="${ly}">${esc(f.kind)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
