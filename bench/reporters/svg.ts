/**
 * An SVG bar chart of the headline ratios (ANTS / raw NATS, same run), drawn by hand. One bar
 * per headline figure that has a ratio; a dashed line at 1.0 (parity with raw NATS); a tick at
 * the target ratio where the issue sets one. Bars are green when the target is met, amber when
 * not, grey without a target. Labels say whether higher or lower is better.
 */
import type { Figure } from "../types.ts"
import { escapeXml, fmtRatio } from "./format.ts"

function targetRatio(target: string | null): number | undefined {
  const m = target ? /^ratio\s*(?:>=|<=|<|>)\s*([0-9.]+)/.exec(target) : null
  return m ? Number(m[1]) : undefined
}

export function svgChart(figures: ReadonlyArray<Figure>, title: string): string {
  const bars = figures.filter((f) => f.headline && f.skipped === null && f.ratio !== null && Number.isFinite(f.ratio))
  const labelW = 300
  const chartW = 460
  const rowH = 26
  const top = 56
  const left = 12
  const width = left + labelW + chartW + 80
  const height = top + Math.max(1, bars.length) * rowH + 44
  const maxRatio = Math.min(
    10,
    Math.max(1.6, ...bars.map((b) => (b.ratio as number) * 1.1), ...bars.map((b) => (targetRatio(b.target) ?? 0) * 1.1)),
  )
  const x = (r: number) => Math.round((left + labelW + (Math.min(r, maxRatio) / maxRatio) * chartW) * 10) / 10
  const parts: string[] = []
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${left}" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${left}" y="40" fill="#555">ratio = ANTS / raw NATS in the same run · dashed: parity (1.0x) · black tick: target · green met, amber not met</text>`,
  )
  // grid
  const step = maxRatio > 4 ? 1 : 0.25
  for (let r = 0; r <= maxRatio + 1e-9; r += step) {
    const gx = x(r)
    parts.push(`<line x1="${gx}" y1="${top - 4}" x2="${gx}" y2="${top + bars.length * rowH}" stroke="#eee"/>`)
    if (Math.abs(r - Math.round(r)) < 1e-9 || step >= 0.5 || Math.abs(r * 2 - Math.round(r * 2)) < 1e-9) {
      parts.push(`<text x="${gx}" y="${top + bars.length * rowH + 16}" text-anchor="middle" fill="#777">${r.toFixed(step < 1 ? 2 : 0)}</text>`)
    }
  }
  bars.forEach((b, i) => {
    const y = top + i * rowH
    const ratio = b.ratio as number
    const color = b.met === null ? "#9aa5b1" : b.met ? "#2f9e44" : "#f08c00"
    const label = `${b.scenario} · ${b.metric} (${b.better === "lower" ? "lower" : "higher"} better)`
    parts.push(`<text x="${left}" y="${y + 16}">${escapeXml(label)}</text>`)
    parts.push(`<rect x="${x(0)}" y="${y + 4}" width="${Math.max(1, Math.round((x(ratio) - x(0)) * 10) / 10)}" height="${rowH - 9}" fill="${color}"/>`)
    const overflow = ratio > maxRatio ? " ▶" : ""
    parts.push(`<text x="${x(ratio) + 4}" y="${y + 16}" fill="#222">${escapeXml(fmtRatio(ratio) + overflow)}</text>`)
    const t = targetRatio(b.target)
    if (t !== undefined) parts.push(`<line x1="${x(t)}" y1="${y + 1}" x2="${x(t)}" y2="${y + rowH - 2}" stroke="#000" stroke-width="2"/>`)
  })
  parts.push(`<line x1="${x(1)}" y1="${top - 4}" x2="${x(1)}" y2="${top + bars.length * rowH}" stroke="#444" stroke-dasharray="4 3"/>`)
  if (bars.length === 0) parts.push(`<text x="${left}" y="${top + 16}" fill="#777">no headline ratio was measured</text>`)
  parts.push(`</svg>`)
  return parts.join("\n") + "\n"
}
