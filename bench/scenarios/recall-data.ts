/**
 * The data of the `recall` scenario, the same every run (seeded): note texts, their vectors
 * and query vectors, in one of two distributions.
 *
 *   - `clustered` (the default): vectors shaped like those of a real sentence-embedding model.
 *     Real embeddings are not uniform noise on the sphere: they crowd into topics and vary
 *     along far fewer directions than they have dimensions. So each vector is a point of a
 *     32-dimensional latent space (1,000 topic centres, drawn Zipf-like so a few topics are
 *     common; spread around its centre with a decaying spectrum, 1/sqrt(i+1) along latent
 *     axis i), mapped into 384 dimensions by a fixed random linear map, plus a little
 *     isotropic noise (a tenth of the signal's norm), then L2-normalised. Queries are
 *     further draws from the same distribution (held out, as ann-benchmarks does), so a
 *     query's neighbours are near it without being copies of it. Uniform random vectors
 *     would be the worst case for any graph index and tell nothing about a memory store;
 *     this is not a real model's output either, and the README says so.
 *   - `lexical`: the offline lexical embedder's vectors of the notes, i.e. what an ANTS
 *     store holds when no embedding provider is configured. Hashed words and trigrams make
 *     high-dimensional, sparse-looking vectors with many ties: a hard case for HNSW.
 *     Queries: five words of a stored note plus one random word.
 *
 * Notes are 8 to 15 words drawn (Zipf-like) from a 4,000-word vocabulary of made-up words,
 * so rows weigh what short memories weigh; with `clustered` data the text does not match the
 * vector (the scenario measures the store, not an embedder).
 */
import { lexicalVector } from "../../runtime/memory/mod.ts"

export type RecallData = "clustered" | "lexical"
export const RECALL_DATA: ReadonlyArray<RecallData> = ["clustered", "lexical"]

export interface RecallSet {
  readonly notes: ReadonlyArray<string>
  readonly vectors: ReadonlyArray<ReadonlyArray<number>>
  readonly queries: ReadonlyArray<ReadonlyArray<number>>
}

const DIMENSIONS = 384
const LATENT = 32
const TOPICS = 1000
const NOISE = 0.1

/** A small deterministic random source. */
export function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function gaussian(random: () => number): () => number {
  return () => {
    let u = 0
    while (u === 0) u = random()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random())
  }
}

function notesAndLexicalQueries(n: number, queries: number): { notes: string[]; queries: string[] } {
  const random = rng(7)
  const syllables = ["ka", "lo", "mi", "ren", "tas", "vo", "qui", "zen", "por", "dal", "fe", "gru", "hin", "jo", "ster", "ul", "wi", "xa", "yor", "bel"]
  const vocabulary = Array.from({ length: 4000 }, () => Array.from({ length: 2 + Math.floor(random() * 3) }, () => syllables[Math.floor(random() * syllables.length)]).join(""))
  const word = () => vocabulary[Math.floor(vocabulary.length * random() ** 2.5)]!
  const notes = Array.from({ length: n }, () => Array.from({ length: 8 + Math.floor(random() * 8) }, word).join(" "))
  const qs = Array.from({ length: queries }, () => {
    const words = notes[Math.floor(random() * n)]!.split(" ")
    const start = Math.floor(random() * Math.max(1, words.length - 5))
    return [...words.slice(start, start + 5), word()].join(" ")
  })
  return { notes, queries: qs }
}

/** `count` unit vectors of the clustered distribution described above. */
function clusteredVectors(count: number): number[][] {
  const gauss = gaussian(rng(11))
  const random = rng(13)
  const map = Array.from({ length: LATENT }, () => Float64Array.from({ length: DIMENSIONS }, gauss))
  const spread = Array.from({ length: LATENT }, (_, i) => 1 / Math.sqrt(1 + i))
  const centres = Array.from({ length: TOPICS }, () => spread.map((s) => 2 * s * gauss()))
  // the signal's norm is about sqrt(DIMENSIONS * 5 * sum(spread^2)); the noise is NOISE of it
  const noise = NOISE * Math.sqrt(5 * spread.reduce((a, s) => a + s * s, 0))
  const out: number[][] = []
  for (let i = 0; i < count; i++) {
    const centre = centres[Math.floor(TOPICS * random() ** 2)]!
    const x = new Float64Array(DIMENSIONS)
    for (let j = 0; j < LATENT; j++) {
      const z = centre[j]! + spread[j]! * gauss()
      const row = map[j]!
      for (let d = 0; d < DIMENSIONS; d++) x[d] += z * row[d]!
    }
    let norm = 0
    for (let d = 0; d < DIMENSIONS; d++) {
      x[d] += noise * gauss()
      norm += x[d] * x[d]
    }
    const len = Math.sqrt(norm)
    out.push(Array.from(x, (v) => v / len))
  }
  return out
}

export function recallSet(data: RecallData, n: number, queries: number): RecallSet {
  const texts = notesAndLexicalQueries(n, queries)
  if (data === "lexical") return { notes: texts.notes, vectors: texts.notes.map((s) => lexicalVector(s)), queries: texts.queries.map((s) => lexicalVector(s)) }
  const vectors = clusteredVectors(n + queries)
  return { notes: texts.notes, vectors: vectors.slice(0, n), queries: vectors.slice(n) }
}
