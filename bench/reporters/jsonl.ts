/** JSON lines: one object per measured figure (or skipped part), every field present. */
import type { Figure } from "../types.ts"

export function toJsonLine(f: Figure): string {
  return JSON.stringify(f)
}

export function toJsonLines(figures: ReadonlyArray<Figure>): string {
  return figures.map(toJsonLine).join("\n") + (figures.length ? "\n" : "")
}
