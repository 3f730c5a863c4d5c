/**
 * The registry's storage: JetStream KV bucket `ants_tools` (keys in subjects/tools.ts). Every
 * node reads the bucket itself, so a version is run on every node from the moment its
 * registration is answered; a watch tells the node's listeners (the MCP server's change
 * notifications) when a tenant's tools change.
 *
 * Versions are numbered by claiming the key `<t>.<name>.v<n>` with a create (two registrations
 * at once get two numbers); the head moves forward only (revision-checked), and the statistics
 * are changed only by compare-and-set on the entry's revision with retries, so runs on several
 * nodes at once never lose a count.
 */
import { Kvm, KvWatchInclude, type KV, type KvEntry } from "@nats-io/kv"
import type { NatsConnection } from "@nats-io/nats-core"
import { isWrongLastSequence } from "../../subjects/jetstream.ts"
import { TOOLS_BUCKET, parseToolKey, toolHeadKey, toolHeadsFilter, toolStatsKey, toolVersionKey } from "../../subjects/tools.ts"
import { retrying } from "../../supervisors/backoff.ts"
import { ToolError } from "./errors.ts"
import { emptyStats, withOutcome } from "./stats.ts"
import type { ToolHead, ToolStats, ToolVersion } from "./types.ts"

const enc = new TextEncoder()
const json = (v: unknown) => enc.encode(JSON.stringify(v))

/** Attempts of one compare-and-set before giving up (each re-reads the entry). */
const CAS_ATTEMPTS = 100
const MAX_CACHED_VERSIONS = 500

export interface ToolStore {
  /** Stores a new version and makes it the head (a fresh record of statistics with it). */
  register(tenant: string, v: Omit<ToolVersion, "version" | "registeredAt">): Promise<ToolHead>
  head(tenant: string, name: string): Promise<ToolHead | undefined>
  version(tenant: string, name: string, version: number): Promise<ToolVersion | undefined>
  stats(tenant: string, name: string): Promise<ToolStats | undefined>
  heads(tenant: string): Promise<ToolHead[]>
  deprecate(tenant: string, name: string, deprecation: { replacement: string; reason?: string }): Promise<ToolHead>
  /** Adds one run's outcome to the version's statistics; a run of a version no longer current is not counted. */
  recordOutcome(tenant: string, name: string, version: number, ok: boolean, durationMs: number): Promise<ToolStats | undefined>
  /** Calls `f(tenant, name)` whenever a tool's head changes (registration, deprecation); returns the stop. */
  onChange(f: (tenant: string, name: string) => void): Promise<() => void>
  close(): void
}

function live(e: KvEntry | null): e is KvEntry {
  return e !== null && e.operation === "PUT" && e.length > 0
}

/** Writes `next(current)` at `key` by compare-and-set, re-reading on a lost race; `next` returning undefined leaves it. */
async function casUpdate<T>(kv: KV, key: string, next: (cur: T | undefined) => T | undefined): Promise<T | undefined> {
  for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
    const e = await kv.get(key)
    const cur = live(e) ? e.json<T>() : undefined
    const value = next(cur)
    if (value === undefined) return cur
    try {
      if (e === null) await kv.create(key, json(value))
      else await kv.update(key, json(value), e.revision)
      return value
    } catch (err) {
      if (!isWrongLastSequence(err)) throw err
      // another node wrote first: wait a little (spread the racers) and read again
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * Math.min(50, 2 + attempt * 2))))
    }
  }
  throw new ToolError("unavailable", `could not update ${key} after ${CAS_ATTEMPTS} attempts (too many concurrent writers)`)
}

export async function openToolStore(nc: NatsConnection, options: { replicas?: number } = {}): Promise<ToolStore> {
  const kvm = new Kvm(nc)
  const kv = await retrying(() => kvm.create(TOOLS_BUCKET, { history: 1, replicas: options.replicas ?? 1 }), 15_000)
  const versions = new Map<string, ToolVersion>()
  const watches = new Set<{ stop(): void }>()

  const read = async <T>(key: string): Promise<T | undefined> => {
    const e = await kv.get(key)
    return live(e) ? e.json<T>() : undefined
  }

  return {
    async register(tenant, input) {
      const registeredAt = new Date().toISOString()
      let n = ((await read<ToolHead>(toolHeadKey(tenant, input.name)))?.version ?? 0) + 1
      let stored: ToolVersion
      for (;;) {
        stored = { ...input, version: n, registeredAt }
        try {
          await kv.create(toolVersionKey(tenant, input.name, n), json(stored))
          break
        } catch (e) {
          if (!isWrongLastSequence(e)) throw e
          n++ // another registration took this number
        }
      }
      const head: ToolHead = {
        name: stored.name,
        version: n,
        description: stored.description,
        level: stored.level,
        schema: stored.schema,
        ...(stored.resultSchema ? { resultSchema: stored.resultSchema } : {}),
        registeredAt,
      }
      // forward only: a registration that lost the race to a newer one leaves that one current
      await casUpdate<ToolHead>(kv, toolHeadKey(tenant, input.name), (cur) => (cur && cur.version >= n ? undefined : head))
      await casUpdate<ToolStats>(kv, toolStatsKey(tenant, input.name), (cur) => (cur && cur.version >= n ? undefined : emptyStats(n)))
      return head
    },
    head: (tenant, name) => read<ToolHead>(toolHeadKey(tenant, name)),
    async version(tenant, name, version) {
      const key = toolVersionKey(tenant, name, version)
      let v = versions.get(key)
      if (!v) {
        v = await read<ToolVersion>(key)
        if (!v) return undefined
        if (versions.size >= MAX_CACHED_VERSIONS) versions.delete(versions.keys().next().value!)
        versions.set(key, v)
      }
      return v
    },
    stats: (tenant, name) => read<ToolStats>(toolStatsKey(tenant, name)),
    async heads(tenant) {
      const keys: string[] = []
      for await (const k of await kv.keys(toolHeadsFilter(tenant))) keys.push(k)
      const out: ToolHead[] = []
      for (const k of keys.sort()) {
        const h = await read<ToolHead>(k)
        if (h) out.push(h)
      }
      return out
    },
    async deprecate(tenant, name, d) {
      const at = new Date().toISOString()
      const r = await casUpdate<ToolHead>(kv, toolHeadKey(tenant, name), (cur) => (cur ? { ...cur, deprecated: { replacement: d.replacement, at, ...(d.reason ? { reason: d.reason } : {}) } } : undefined))
      if (!r) throw new ToolError("not_found", `tenant ${tenant} has no tool "${name}"`)
      return r
    },
    recordOutcome(tenant, name, version, ok, durationMs) {
      const at = new Date()
      return casUpdate<ToolStats>(kv, toolStatsKey(tenant, name), (cur) => (cur?.version === version ? withOutcome(cur, ok, durationMs, at) : undefined))
    },
    async onChange(f) {
      const w = await kv.watch({ key: "*.*.head", include: KvWatchInclude.UpdatesOnly })
      watches.add(w)
      ;(async () => {
        for await (const e of w) {
          const k = parseToolKey(e.key)
          if (k) f(k.tenant, k.name)
        }
      })().catch(() => undefined)
      return () => {
        watches.delete(w)
        w.stop()
      }
    },
    close() {
      for (const w of watches) w.stop()
      watches.clear()
    },
  }
}
