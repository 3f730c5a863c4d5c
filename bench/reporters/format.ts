/** Number formatting shared by the Markdown and SVG reporters. */

export function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–"
  const a = Math.abs(x)
  if (Number.isInteger(x)) return x.toLocaleString("en-US")
  if (a >= 100_000) return Math.round(x).toLocaleString("en-US")
  if (a >= 1000) return Math.round(x).toLocaleString("en-US")
  if (a >= 100) return x.toFixed(0)
  if (a >= 10) return x.toFixed(1)
  if (a >= 1) return x.toFixed(2)
  if (a === 0) return "0"
  return x.toPrecision(2)
}

export function fmtRatio(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–"
  return `${x.toFixed(2)}x`
}

export function metLabel(met: boolean | null): string {
  return met === null ? "" : met ? "yes" : "no"
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")
}
