// The embedded database's thread (embedded-postgres.ts). PGlite runs PostgreSQL compiled to
// WebAssembly: opening it, recovering its files and every statement run synchronously, for
// seconds at the first open. Here they block this worker thread, never the node's event loop
// (whose membership heartbeats must not stall). Plain JavaScript, so it starts without a loader.
// workerData: { pgdata, maxConnections }. Posts { port } once it serves on 127.0.0.1, or
// { error }; on the message "stop" it closes the server and the database, then posts { stopped }.
import { parentPort, workerData } from "node:worker_threads"

let db
let server
try {
  const [{ PGlite }, { vector }, { PGLiteSocketServer }] = await Promise.all([
    import("@electric-sql/pglite"),
    import("@electric-sql/pglite-pgvector"),
    import("@electric-sql/pglite-socket"),
  ])
  db = await PGlite.create({ dataDir: workerData.pgdata, extensions: { vector } })
  server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: workerData.maxConnections })
  await server.start()
  parentPort.postMessage({ port: Number(server.getServerConn().split(":").pop()) })
} catch (e) {
  await db?.close().catch(() => undefined)
  parentPort.postMessage({ error: e instanceof Error ? e.message : String(e) })
}

parentPort.on("message", async (m) => {
  if (m !== "stop") return
  await server?.stop().catch(() => undefined)
  await db?.close().catch(() => undefined)
  parentPort.postMessage({ stopped: true })
  parentPort.close()
})
