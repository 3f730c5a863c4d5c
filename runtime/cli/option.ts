/**
 * Options of the command line as values: how each is written (`<ms>`), what it means, its
 * default, which sub-commands take it, and how its text becomes a value. A command's `--help`,
 * its parser and its checks are all derived from these, so the help cannot promise an option the
 * parser refuses, nor leave one out. A malformed value is a UsageError that says what is expected.
 *
 * This module and the declarations built from it import nothing heavy: `--help` loads them
 * without the runtime.
 */
import { UsageError } from "./usage-error.ts"

/** Whether a value is always there after parsing: given a default, required, or neither. */
export type Presence = "optional" | "defaulted" | "required"

/** What kind of text an option takes (help and tests read it; parsing uses `parseOne`). */
export type OptKind = "flag" | "text" | "int" | "duration" | "time" | "enum" | "json" | "list" | "int-list" | "custom"

interface OptFields<T> {
  readonly kind: OptKind
  /** How the value is written in help (`<ms>`); undefined for a flag. */
  readonly value: string | undefined
  readonly description: string
  readonly defaultValue: T | undefined
  /** The default as help shows it, when it is not simply the value (`$NATS_URL, else ...`). */
  readonly defaultText: string | undefined
  readonly multiple: boolean
  readonly short: string | undefined
  /** The sub-commands that take it; every one when undefined. */
  readonly only: ReadonlyArray<string> | undefined
  readonly isRequired: boolean
  /** Text to value, or a UsageError naming the flag and what it expects. */
  readonly parseOne: (raw: string, flag: string) => unknown
}

export class Opt<T, P extends Presence = "optional"> {
  declare readonly _presence: P
  constructor(readonly fields: OptFields<T>) {}

  get value(): string | undefined {
    return this.fields.value
  }
  get isFlag(): boolean {
    return this.fields.value === undefined
  }

  /** The value when the option is left out; help shows it (or `text`). */
  withDefault(value: T, text?: string): Opt<T, "defaulted"> {
    return new Opt<T, "defaulted">({ ...this.fields, defaultValue: value, defaultText: text ?? this.fields.defaultText })
  }
  /** What happens when the option is left out, for help only (the command decides at run time). */
  defaultIs(text: string): Opt<T, P> {
    return new Opt<T, P>({ ...this.fields, defaultText: text })
  }
  required(): Opt<T, "required"> {
    return new Opt<T, "required">({ ...this.fields, isRequired: true })
  }
  /** Only these sub-commands take it; given with another, it is a usage error. */
  onlyFor(...subcommands: string[]): Opt<T, P> {
    return new Opt<T, P>({ ...this.fields, only: subcommands })
  }
  short(letter: string): Opt<T, P> {
    return new Opt<T, P>({ ...this.fields, short: letter })
  }
  /** May be given several times; the value is the list. */
  repeatable(): Opt<T[], P> {
    return new Opt<T[], P>({ ...(this.fields as unknown as OptFields<T[]>), multiple: true })
  }

  /** The default as help prints it, or undefined when there is none worth printing. */
  defaultLabel(): string | undefined {
    if (this.fields.defaultText !== undefined) return this.fields.defaultText
    const d = this.fields.defaultValue
    if (d === undefined || this.isFlag) return undefined
    return Array.isArray(d) ? d.join(",") : String(d)
  }

  parse(raw: string | boolean | ReadonlyArray<string | boolean>, flag: string): T {
    const one = (r: string | boolean) => (typeof r === "boolean" ? r : this.fields.parseOne(r, flag))
    return (Array.isArray(raw) ? raw.map(one) : one(raw as string | boolean)) as T
  }
}

/** Any option of any type, as declarations hold them. */
export type AnyOpt = Opt<any, Presence>
export type OptionTable = Readonly<Record<string, AnyOpt>>

/** The parsed values of an option table: defaulted and required options are always present. */
export type Values<O extends OptionTable> = {
  readonly [K in keyof O]: O[K] extends Opt<infer T, infer P> ? (P extends "optional" ? T | undefined : T) : never
}

function make<T>(kind: OptKind, value: string | undefined, description: string, parseOne: (raw: string, flag: string) => T): Opt<T> {
  return new Opt<T>({ kind, value, description, defaultValue: undefined, defaultText: undefined, multiple: false, short: undefined, only: undefined, isRequired: false, parseOne })
}

/** A switch: present or not. */
export function flag(description: string): Opt<boolean, "defaulted"> {
  return make<boolean>("flag", undefined, description, () => true).withDefault(false)
}

/** Free text (a name, a key, a URL); only an empty value is refused. */
export function text(value: string, description: string): Opt<string> {
  return make("text", value, description, (raw, f) => {
    if (raw.trim() === "") throw new UsageError(`${f} needs a value: ${value}`)
    return raw
  })
}

/** A whole number within bounds. */
export function int(value: string, description: string, bounds: { min: number; max?: number } = { min: 1 }): Opt<number> {
  return make("int", value, description, (raw, f) => wholeNumber(raw, f, bounds.min, bounds.max))
}

export function wholeNumber(raw: string, flag: string, min: number, max?: number): number {
  const n = Number(raw)
  if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(n) || n < min || (max !== undefined && n > max)) {
    const range = max === undefined ? `of at least ${min}` : `from ${min} to ${max}`
    throw new UsageError(`${flag} must be a whole number ${range}, got "${raw}"`)
  }
  return n
}

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const
type Unit = keyof typeof UNIT_MS

/**
 * `1500`, `500ms`, `30s`, `5m`, `1h` or `1d` → whole milliseconds, at least `min`; undefined for
 * a malformed text.
 */
export function durationMs(raw: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(raw.trim())
  if (!m) return undefined
  const ms = Number(m[1]) * UNIT_MS[(m[2] ?? "ms") as Unit]
  return Number.isFinite(ms) ? Math.round(ms) : undefined
}

/** A span of time in milliseconds, written as milliseconds or with a unit. */
export function duration(value: string, description: string, bounds: { min: number } = { min: 1 }): Opt<number> {
  return make("duration", value, description, (raw, f) => {
    const ms = durationMs(raw)
    if (ms === undefined || ms < bounds.min) {
      throw new UsageError(`${f} must be a whole number of at least ${bounds.min}, got "${raw}" (milliseconds; or with a unit: 500ms, 30s, 5m, 1h)`)
    }
    return ms
  })
}

/** `+30s` / `+5m` / `+24h`, ISO-8601, or epoch ms → epoch ms. */
export function parseWhen(flag: string, raw: string, now = Date.now()): number {
  const v = raw.trim()
  if (v.startsWith("+")) {
    const ms = durationMs(v.slice(1))
    if (ms !== undefined) return now + ms
  } else if (/^\d+$/.test(v)) return Number(v)
  else {
    const ms = Date.parse(v)
    if (Number.isFinite(ms)) return ms
  }
  throw new UsageError(`${flag} "${raw}" is not a time: use ISO-8601 (2026-01-31T09:00:00Z), epoch ms, or +30s / +5m / +24h`)
}

/** A point in time (epoch ms after parsing). */
export function time(value: string, description: string): Opt<number> {
  return make("time", value, description, (raw, f) => parseWhen(f, raw))
}

/** One of a closed set of words. */
export function oneOf<const W extends string>(words: ReadonlyArray<W>, description: string): Opt<W> {
  return make("enum", words.join("|"), description, (raw, f) => {
    if (!(words as ReadonlyArray<string>).includes(raw)) throw new UsageError(`${f} must be one of ${words.join(", ")}, got "${raw}"`)
    return raw as W
  })
}

/** A JSON document. */
export function json(value: string, description: string, example: string): Opt<unknown> {
  return make("json", value, description, (raw, f) => {
    try {
      return JSON.parse(raw) as unknown
    } catch (e) {
      throw new UsageError(`${f} is not JSON (${(e as Error).message}); quote it in the shell, e.g. ${f} '${example}'`)
    }
  })
}

/** Comma-separated words. */
export function list(value: string, description: string): Opt<string[]> {
  return make("list", value, description, (raw, f) => {
    const items = raw.split(",").map((s) => s.trim()).filter(Boolean)
    if (items.length === 0) throw new UsageError(`${f} needs a comma-separated list, e.g. ${value}`)
    return items
  })
}

/** Comma-separated whole numbers, each at least `min`. */
export function intList(value: string, description: string, min = 1): Opt<number[]> {
  return make("int-list", value, description, (raw, f) => {
    const items = raw.split(",").map((s) => s.trim())
    if (items.some((s) => s === "")) throw new UsageError(`${f} needs a comma-separated list of whole numbers, e.g. 1,16,64, got "${raw}"`)
    return items.map((s) => wholeNumber(s, f, min))
  })
}

/** An option whose text is checked by a function of the declaring command. */
export function custom<T>(value: string, description: string, parseOne: (raw: string, flag: string) => T): Opt<T> {
  return make("custom", value, description, parseOne)
}
