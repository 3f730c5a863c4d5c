/**
 * A set of strings kept as bytes, for the million keys a node holds for its sleeping actors: a
 * V8 `Set` of strings costs a string object per key (32 B for `default NUL d12345`) plus the
 * entry and the table's slack (about 60 B in all, more after a burst since it does not shrink
 * until a quarter full); here a key costs the characters of its id, two bytes of header and its
 * slots (about 6 + 2 + 8 B for that key).
 *
 * - A key's prefix up to its first NUL (the tenant of an actor key) is kept once, in a table of
 *   prefixes; an entry names it by its index (0: no prefix, for keys without NUL, and for every
 *   key once the table holds `MAX_PREFIXES`, so a key is always split the same way).
 * - The arena (`Uint8Array`) holds the entries one after the other, in insertion order: a
 *   LEB128 header `length << 2 | wide << 1 | dead` (the length of the rest after the prefix),
 *   the prefix's index (LEB128), then the rest's characters: one byte each when every UTF-16
 *   code unit is below 256 (actor ids are ASCII), else two bytes each (little-endian code
 *   units, so any string, lone surrogates included, comes back as it was).
 * - The slot table (`Int32Array`, a power of two, linear probing) holds `offset + 1` of the
 *   entry's header, 0 for an empty slot and -1 for a tombstone. It is rebuilt (tombstones
 *   dropped) when live entries and tombstones pass 3/4 of it, doubled when live entries alone
 *   pass 3/8, halved when they fall under 1/16.
 * - A delete marks the entry dead in the arena and tombstones its slot. The arena is compacted
 *   (live entries moved down, order kept, into an arena half again their size) when more than
 *   half its entries' bytes are dead, at a delete or when it must grow; it is released when the
 *   set empties. Each compaction drops at least as many bytes as it copies.
 * - Iteration walks the arena in insertion order, like a `Set`: a key deleted before it is
 *   reached is skipped, a key added during iteration is visited. Compaction moves entries, so it
 *   waits while an iteration is open (an iterator abandoned without `return()` keeps it waiting;
 *   the arena then only grows, in place).
 */

/** FNV-1a over UTF-16 code units. */
function hashString(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return h >>> 0
}

const MIN_SLOTS = 16
/** Distinct prefixes remembered (tenants); keys of further ones are kept whole. */
const MAX_PREFIXES = 65_536
const MIN_ARENA = 256
const FROM_CHARS = 4096

export class KeyArenaSet implements Iterable<string> {
  private bytes = new Uint8Array(0)
  /** End of the last entry in the arena. */
  private used = 0
  /** Bytes of dead entries in the arena. */
  private dead = 0
  private slots = new Int32Array(MIN_SLOTS)
  private tombstones = 0
  private live = 0
  /** Iterations in progress: compaction moves entries, so it waits for them. */
  private iterating = 0
  /** The prefixes (up to and including the first NUL) of the keys, by index; 0 is none. */
  private prefixes: string[] = [""]
  private prefixIndex = new Map<string, number>([["", 0]])
  /** Set by `split`: the key's prefix index (-1: a prefix not in the table) and where the rest starts. */
  private keyPrefix = 0
  private keyRest = 0

  get size(): number {
    return this.live
  }

  /** Bytes held (arena and slot table), for tests and accounting. */
  get byteLength(): number {
    return this.bytes.byteLength + this.slots.byteLength
  }

  has(key: string): boolean {
    return this.split(key, false) && this.slots[this.find(key, hashString(key))]! > 0
  }

  add(key: string): this {
    this.split(key, true)
    const h = hashString(key)
    let at = this.find(key, h)
    if (this.slots[at]! > 0) return this
    if (this.slots[at] === -1) this.tombstones--
    const offset = this.append(key)
    // the append may have compacted the arena and rebuilt the table: probe again
    if (this.slots !== this.probedSlots) at = this.find(key, h)
    this.slots[at] = offset + 1
    this.live++
    if ((this.live + this.tombstones) * 4 > this.slots.length * 3) this.rehash(this.live * 8 > this.slots.length * 3 ? this.slots.length * 2 : this.slots.length)
    return this
  }

  delete(key: string): boolean {
    if (!this.split(key, false)) return false
    const at = this.find(key, hashString(key))
    const slot = this.slots[at]!
    if (slot <= 0) return false
    const offset = slot - 1
    this.bytes[offset] = this.bytes[offset]! | 1
    this.dead += this.entryEnd(offset) - offset
    this.slots[at] = -1
    this.tombstones++
    this.live--
    if (this.live === 0 && this.iterating === 0) this.clear()
    else if (this.live * 16 < this.slots.length && this.slots.length > MIN_SLOTS) this.rehash(this.slots.length / 2)
    else if (this.dead * 2 > this.used && this.used > MIN_ARENA && this.iterating === 0) this.compact(this.used - this.dead)
    return true
  }

  clear(): void {
    if (this.iterating > 0) {
      // entries are marked dead rather than dropped: an open iteration keeps reading the arena
      for (let o = 0; o < this.used; o = this.entryEnd(o)) this.bytes[o] = this.bytes[o]! | 1
      this.dead = this.used
    } else {
      this.bytes = new Uint8Array(0)
      this.used = 0
      this.dead = 0
    }
    this.slots = new Int32Array(MIN_SLOTS)
    this.tombstones = 0
    this.live = 0
    if (this.iterating === 0) {
      this.prefixes = [""]
      this.prefixIndex = new Map([["", 0]])
    }
  }

  /**
   * Sets `keyPrefix` and `keyRest` for `key`; a prefix not in the table is added when `adding`
   * (and there is room). False when the key cannot be held (its prefix is not in the table).
   */
  private split(key: string, adding: boolean): boolean {
    const cut = key.indexOf("\u0000")
    if (cut < 0) {
      this.keyPrefix = 0
      this.keyRest = 0
      return true
    }
    const prefix = key.slice(0, cut + 1)
    let p = this.prefixIndex.get(prefix)
    if (p === undefined) {
      if (this.prefixes.length >= MAX_PREFIXES) p = 0
      else if (adding) {
        p = this.prefixes.length
        this.prefixes.push(prefix)
        this.prefixIndex.set(prefix, p)
      } else {
        this.keyPrefix = -1
        return false
      }
    }
    this.keyPrefix = p
    this.keyRest = p === 0 ? 0 : cut + 1
    return true
  }

  *[Symbol.iterator](): Generator<string, void, undefined> {
    this.iterating++
    try {
      // `this.bytes` and `this.used` are read at each step: the arena may grow (in place) meanwhile
      for (let o = 0; o < this.used; ) {
        const end = this.entryEnd(o)
        if ((this.bytes[o]! & 1) === 0) {
          const key = this.keyAt(o)
          o = end
          yield key
        } else o = end
      }
    } finally {
      this.iterating--
    }
  }

  values(): Generator<string, void, undefined> {
    return this[Symbol.iterator]()
  }

  /** The table `find` last probed (an append that compacts rebuilds it). */
  private probedSlots = this.slots

  /** The slot holding `key`, else the first tombstone or empty slot of its probe sequence. */
  private find(key: string, h: number): number {
    const slots = (this.probedSlots = this.slots)
    const mask = slots.length - 1
    let free = -1
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const s = slots[i]!
      if (s === 0) return free >= 0 ? free : i
      if (s === -1) {
        if (free < 0) free = i
      } else if (this.equals(s - 1, key)) return i
    }
  }

  /** Header of the entry at `offset`: `length << 2 | wide << 1 | dead`; `headerEnd` is where its characters start. */
  private header(offset: number): number {
    const b = this.bytes
    let v = 0
    let shift = 0
    let o = offset
    for (;;) {
      const byte = b[o++]!
      v += (byte & 0x7f) * 2 ** shift
      if (byte < 0x80) break
      shift += 7
    }
    let p = 0
    shift = 0
    for (;;) {
      const byte = b[o++]!
      p += (byte & 0x7f) * 2 ** shift
      if (byte < 0x80) break
      shift += 7
    }
    this.headerPrefix = p
    this.headerEnd = o
    return v
  }
  /** Set by `header`: the entry's prefix index and where its characters start. */
  private headerPrefix = 0
  private headerEnd = 0

  private entryEnd(offset: number): number {
    const h = this.header(offset)
    return this.headerEnd + Math.floor(h / 4) * ((h & 2) === 0 ? 1 : 2)
  }

  /** Whether the entry at `offset` is `key` (split: `keyPrefix`, `keyRest`). */
  private equals(offset: number, key: string): boolean {
    const h = this.header(offset)
    const length = Math.floor(h / 4)
    const from = this.keyRest
    if (this.headerPrefix !== this.keyPrefix || length !== key.length - from) return false
    const b = this.bytes
    let o = this.headerEnd
    if ((h & 2) === 0) {
      for (let i = 0; i < length; i++) if (b[o + i] !== key.charCodeAt(from + i)) return false
    } else {
      for (let i = 0; i < length; i++, o += 2) if ((b[o]! | (b[o + 1]! << 8)) !== key.charCodeAt(from + i)) return false
    }
    return true
  }

  private keyAt(offset: number): string {
    const h = this.header(offset)
    const length = Math.floor(h / 4)
    const start = this.headerEnd
    const b = this.bytes
    const prefix = this.prefixes[this.headerPrefix]!
    if ((h & 2) === 0) {
      if (length <= FROM_CHARS) return prefix + String.fromCharCode.apply(null, b.subarray(start, start + length) as unknown as number[])
      let s = prefix
      for (let i = 0; i < length; i += FROM_CHARS) s += String.fromCharCode.apply(null, b.subarray(start + i, start + Math.min(length, i + FROM_CHARS)) as unknown as number[])
      return s
    }
    const units = new Uint16Array(length)
    for (let i = 0, o = start; i < length; i++, o += 2) units[i] = b[o]! | (b[o + 1]! << 8)
    let s = prefix
    for (let i = 0; i < length; i += FROM_CHARS) s += String.fromCharCode.apply(null, units.subarray(i, Math.min(length, i + FROM_CHARS)) as unknown as number[])
    return s
  }

  /** Writes `key` (split: `keyPrefix`, `keyRest`) at the end of the arena (growing or compacting it first); returns its offset. */
  private append(key: string): number {
    const from = this.keyRest
    const length = key.length - from
    let prefix = this.keyPrefix
    let wide = 0
    for (let i = from; i < key.length; i++) {
      if (key.charCodeAt(i) > 0xff) {
        wide = 2
        break
      }
    }
    let header = length * 4 + wide
    let headerBytes = 2
    for (let v = header; v >= 0x80; v = Math.floor(v / 128)) headerBytes++
    for (let v = prefix; v >= 0x80; v = Math.floor(v / 128)) headerBytes++
    const need = headerBytes + length * (wide === 0 ? 1 : 2)
    if (this.used + need > this.bytes.length) {
      if (this.iterating === 0 && this.dead * 2 >= this.used) this.compact(this.used - this.dead + need)
      if (this.used + need > this.bytes.length) this.resize(this.used + need)
    }
    const b = this.bytes
    const offset = this.used
    let o = offset
    while (header >= 0x80) {
      b[o++] = (header % 128) | 0x80
      header = Math.floor(header / 128)
    }
    b[o++] = header
    while (prefix >= 0x80) {
      b[o++] = (prefix % 128) | 0x80
      prefix = Math.floor(prefix / 128)
    }
    b[o++] = prefix
    if (wide === 0) for (let i = from; i < key.length; i++) b[o++] = key.charCodeAt(i)
    else
      for (let i = from; i < key.length; i++) {
        const c = key.charCodeAt(i)
        b[o++] = c & 0xff
        b[o++] = c >>> 8
      }
    this.used = o
    return offset
  }

  /** A new arena of at least `need` bytes (grown by half), entries kept where they are. */
  private resize(need: number): void {
    const bytes = new Uint8Array(Math.max(MIN_ARENA, need + (need >>> 1)))
    bytes.set(this.bytes.subarray(0, this.used))
    this.bytes = bytes
  }

  /** Moves the live entries down into a new arena with room for `need` bytes; rebuilds the table. */
  private compact(need: number): void {
    const old = this.bytes
    const bytes = new Uint8Array(Math.max(MIN_ARENA, need + (need >>> 1)))
    let to = 0
    for (let o = 0; o < this.used; ) {
      const end = this.entryEnd(o)
      if ((old[o]! & 1) === 0) {
        bytes.set(old.subarray(o, end), to)
        to += end - o
      }
      o = end
    }
    this.bytes = bytes
    this.used = to
    this.dead = 0
    this.rehash(this.slots.length)
  }

  /** A table of `size` slots holding every live entry (tombstones dropped). */
  private rehash(size: number): void {
    const slots = new Int32Array(Math.max(MIN_SLOTS, size))
    const mask = slots.length - 1
    const b = this.bytes
    for (let o = 0; o < this.used; ) {
      const end = this.entryEnd(o)
      if ((b[o]! & 1) === 0) {
        let i = this.hashAt(o) & mask
        while (slots[i] !== 0) i = (i + 1) & mask
        slots[i] = o + 1
      }
      o = end
    }
    this.slots = slots
    this.tombstones = 0
  }

  /** `hashString` of the key at `offset`, read from its bytes. */
  private hashAt(offset: number): number {
    const hd = this.header(offset)
    const length = Math.floor(hd / 4)
    const b = this.bytes
    const prefix = this.prefixes[this.headerPrefix]!
    let h = 0x811c9dc5
    for (let i = 0; i < prefix.length; i++) h = Math.imul(h ^ prefix.charCodeAt(i), 0x01000193)
    let o = this.headerEnd
    if ((hd & 2) === 0) for (let i = 0; i < length; i++) h = Math.imul(h ^ b[o + i]!, 0x01000193)
    else for (let i = 0; i < length; i++, o += 2) h = Math.imul(h ^ (b[o]! | (b[o + 1]! << 8)), 0x01000193)
    return h >>> 0
  }
}
