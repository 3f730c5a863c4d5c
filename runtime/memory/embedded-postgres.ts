/**
 * The embedded database: PGlite (PostgreSQL compiled to WebAssembly) with pgvector, persisted
 * in a data directory, served on 127.0.0.1 over the PostgreSQL wire protocol by
 * `@electric-sql/pglite-socket`. The memory store talks to it through `pg` exactly as it talks
 * to a real PostgreSQL, so one code path is what runs and what is tested.
 *
 * One process owns a data directory at a time (PGlite is one PostgreSQL backend in one
 * process). The owner writes `server.json` (pid, port) into the directory; another node of the
 * same machine given the same directory finds that file, checks the pid is alive and the port
 * answers, and connects to it instead of opening the files itself. `server.lock` (created
 * exclusively, holding the pid) decides which of two starters becomes the owner; a lock or a
 * server file left by a killed process is recognised by its dead pid and replaced.
 *
 * PGlite runs in a worker thread of the owner (pglite-worker.mjs): opening the files and every
 * statement are synchronous WebAssembly work, which on the main thread would stall the node's
 * event loop (and its membership heartbeats) for seconds. PGlite runs one statement at a time: its socket server queues the connections' messages and
 * keeps a transaction's messages together. The memory store sends each call as one
 * simple-query batch (BEGIN ... COMMIT in one message), so connections never interleave inside
 * a call; a pool of 1 per process is enough, since more connections would only wait in that queue.
 */
import { mkdirSync, openSync, readFileSync, rmSync, writeFileSync, closeSync, writeSync } from "node:fs"
import { connect } from "node:net"
import { join } from "node:path"
import { Worker } from "node:worker_threads"
import { MemoryError } from "./errors.ts"

export interface EmbeddedPostgres {
  readonly url: string
  readonly dataDir: string
  /** True when this process opened the data directory and serves it. */
  readonly owner: boolean
  /** Stops serving and closes the database (owner only; a no-op for a process that connected). */
  stop(): Promise<void>
}

/** Connections the socket server accepts: every node of the machine sharing the directory, a few each. */
const MAX_CONNECTIONS = 64
const START_TIMEOUT_MS = 120_000
const STOP_TIMEOUT_MS = 10_000

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

function readJson(file: string): { pid?: number; port?: number } | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as { pid?: number; port?: number }
  } catch {
    return undefined
  }
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port }, () => {
      s.destroy()
      resolve(true)
    })
    s.on("error", () => resolve(false))
  })
}

const urlOf = (port: number) => `postgres://postgres@127.0.0.1:${port}/postgres`

/** Serves the data directory, or finds the process of this machine that already does. */
export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  mkdirSync(dataDir, { recursive: true })
  const serverFile = join(dataDir, "server.json")
  const lockFile = join(dataDir, "server.lock")
  const deadline = Date.now() + START_TIMEOUT_MS
  for (;;) {
    const info = readJson(serverFile)
    if (info?.pid !== undefined && info.port !== undefined && alive(info.pid) && (await answers(info.port))) {
      return { url: urlOf(info.port), dataDir, owner: false, stop: async () => undefined }
    }
    let fd: number | undefined
    try {
      fd = openSync(lockFile, "wx")
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new MemoryError("setup_failed", `cannot lock the memory data directory ${dataDir}: ${(e as Error).message}`, { cause: e })
    }
    if (fd !== undefined) {
      writeSync(fd, JSON.stringify({ pid: process.pid }))
      closeSync(fd)
      try {
        return await serve(dataDir, serverFile, lockFile)
      } catch (e) {
        rmSync(lockFile, { force: true })
        throw e
      }
    }
    const holder = readJson(lockFile)?.pid
    if (holder !== undefined && !alive(holder)) {
      // left by a process that was killed: it serves nothing any more
      rmSync(lockFile, { force: true })
      rmSync(serverFile, { force: true })
      continue
    }
    if (Date.now() > deadline) throw new MemoryError("unavailable", `the memory data directory ${dataDir} is locked by process ${String(holder)}, which has not started serving it`)
    // another starter holds the lock and is opening the database: its server file comes next
    await new Promise((r) => setTimeout(r, 200))
  }
}

/** The embedded database's thread (pglite-worker.mjs): PGlite's work never blocks the event loop. */
const WORKER_FILE = new URL("./pglite-worker.mjs", import.meta.url)

async function serve(dataDir: string, serverFile: string, lockFile: string): Promise<EmbeddedPostgres> {
  const worker = new Worker(WORKER_FILE, { workerData: { pgdata: join(dataDir, "pgdata"), maxConnections: MAX_CONNECTIONS } })
  const port = await new Promise<number>((resolve, reject) => {
    worker.once("message", (m: { port?: number; error?: string }) =>
      m.port !== undefined ? resolve(m.port) : reject(new Error(m.error ?? "the database thread did not start")),
    )
    worker.once("error", reject)
    worker.once("exit", (code) => reject(new Error(`the database thread exited (${code}) before it served`)))
  }).catch(async (e: Error) => {
    await worker.terminate().catch(() => undefined)
    throw new MemoryError("setup_failed", `cannot open the embedded database in ${dataDir}: ${e.message}`, { cause: e })
  })
  writeFileSync(serverFile, JSON.stringify({ pid: process.pid, port }) + "\n")
  // serving must not keep the process alive on its own: stop() (or the process's exit) ends it
  worker.unref()
  let stopped: Promise<void> | undefined
  return {
    url: urlOf(port),
    dataDir,
    owner: true,
    stop: () =>
      (stopped ??= (async () => {
        if (readJson(serverFile)?.pid === process.pid) rmSync(serverFile, { force: true })
        const closed = new Promise<void>((r) => {
          worker.once("message", () => r())
          worker.once("exit", () => r())
        })
        worker.postMessage("stop")
        // a database that cannot close within the bound is ended with its thread
        await Promise.race([closed, new Promise((r) => setTimeout(r, STOP_TIMEOUT_MS).unref())])
        await worker.terminate().catch(() => undefined)
        rmSync(lockFile, { force: true })
      })()),
  }
}
