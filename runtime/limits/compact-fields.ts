/**
 * How fields a node keeps per actor are stored small (a node holds one cell and one lease per
 * active actor, and one key per actor asleep here: a hundred thousand and a million of them).
 *
 * - Strings: a key made by concatenation (`actorKey`: tenant, NUL, id) is a V8 cons string of
 *   three objects (about 90 B for `default` and a 7-character id), and a substring of 13
 *   characters or more (an id split out of a subject) is a slice that keeps the whole subject
 *   alive. `flatString` copies such a string once into one flat string (32 B for that key).
 *   `sharedName` hands out one string per tenant name, where each parsed subject makes its own.
 * - Times: an epoch time in milliseconds (over 2^31) is stored as a boxed number, 16 B more per
 *   field and object; milliseconds since `CLOCK_BASE` are small integers kept in the object.
 */

/** V8 makes strings shorter than this flat (concatenations and substrings alike). */
const FLAT_BELOW = 13

/** `s` as one flat string (a copy when it may be a cons or a slice; `s` itself when short). */
export function flatString(s: string): string {
  return s.length < FLAT_BELOW ? s : Buffer.from(s, "utf8").toString("utf8")
}

const names = new Map<string, string>()

/** One string for every use of a name from a small set (tenants); at most 4,096 are remembered. */
export function sharedName(name: string): string {
  let n = names.get(name)
  if (n === undefined) {
    if (names.size >= 4_096) names.clear()
    names.set(name, (n = flatString(name)))
  }
  return n
}

/** The time per-actor clock fields count from. */
export const CLOCK_BASE = Date.now()

/**
 * `t` (epoch ms) as milliseconds since `CLOCK_BASE`, made a small integer where it fits (for 12
 * days after the start: arithmetic on epoch times yields boxed numbers even when whole, and one
 * boxed value stored turns the field boxed in every object of the class); past that a plain
 * number, so the value stays right and only the saving is lost.
 */
export function sinceClockBase(t: number): number {
  const d = t - CLOCK_BASE
  return d > -0x3fffffff && d < 0x3fffffff ? d | 0 : d
}
