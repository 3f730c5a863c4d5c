/**
 * The offline embedder: deterministic, local, no key, no network. It is **lexical, not
 * semantic**: it hashes word tokens and character trigrams into a fixed number of dimensions
 * (signed feature hashing) and L2-normalises, so texts that share words and word pieces are
 * close, and synonyms with no letters in common are not. Good enough for the Quick start, the
 * tests and keyword-like recall; configure OpenAI embeddings for recall by meaning.
 */
import type { EmbeddingProvider } from "./embedding-provider.ts"

export const LEXICAL_MODEL = "ants-lexical-v1"
export const LEXICAL_DIMENSIONS = 384

/** Words too common to say anything about a text; they would make every text look alike. */
const STOPWORDS = new Set(
  "a an and are as at be but by for from has have i in is it its of on or that the this to was were will with you your we our my me".split(" "),
)
const WORD = /[\p{L}\p{N}]+/gu
const WORD_WEIGHT = 1
const TRIGRAM_WEIGHT = 0.5

function fnv1a(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** One text to one unit vector; the same text always gives the same vector. */
export function lexicalVector(text: string, dimensions = LEXICAL_DIMENSIONS): number[] {
  const v = new Float64Array(dimensions)
  const add = (feature: string, weight: number) => {
    const h = fnv1a(feature)
    // the top bit picks the sign, so collisions cancel out on average instead of piling up
    v[h % dimensions] += h & 0x80000000 ? -weight : weight
  }
  for (const m of text.toLowerCase().matchAll(WORD)) {
    const w = m[0]
    if (STOPWORDS.has(w)) continue
    add("w:" + w, WORD_WEIGHT)
    const padded = `#${w}#`
    for (let i = 0; i + 3 <= padded.length; i++) add("t:" + padded.slice(i, i + 3), TRIGRAM_WEIGHT)
  }
  let norm = 0
  for (const x of v) norm += x * x
  if (norm === 0) {
    // no words at all (punctuation, emoji): a fixed direction of its own rather than a zero vector
    add("empty:" + text, 1)
    norm = 0
    for (const x of v) norm += x * x
  }
  const n = Math.sqrt(norm)
  return Array.from(v, (x) => x / n)
}

export function lexicalEmbedder(dimensions = LEXICAL_DIMENSIONS): EmbeddingProvider {
  return {
    model: dimensions === LEXICAL_DIMENSIONS ? LEXICAL_MODEL : `${LEXICAL_MODEL}-${dimensions}`,
    dimensions,
    maxBatch: 4096,
    lexical: true,
    embedBatch: async (texts) => texts.map((t) => lexicalVector(t, dimensions)),
  }
}
