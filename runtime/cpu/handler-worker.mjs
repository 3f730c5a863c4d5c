// A worker thread of a type's handler pool (worker-pool.ts). Plain JavaScript so it starts
// without a loader; it registers tsx so the agent module it is given may be TypeScript.
// It loads the module by path and export name (a function cannot cross threads), then runs
// one job at a time: the handler of `tag` with the message and a context holding the state;
// it posts back the reply and the state the handler left, or the error it threw.
import { parentPort, workerData } from "node:worker_threads"
import { register } from "tsx/esm/api"

register()
const mod = await import(workerData.module)
const definition = mod[workerData.exportName]
if (!definition || typeof definition !== "object" || !definition.handlers) {
  throw new Error(`${workerData.module} has no agent definition exported as "${workerData.exportName}"`)
}

parentPort.on("message", async (job) => {
  const ctx = {
    self: job.self,
    state: job.state,
    log: (message, fields) => parentPort.postMessage({ id: job.id, log: { message: String(message), fields } }),
  }
  try {
    const handler = definition.handlers[job.tag]
    if (typeof handler !== "function") throw new Error(`${definition.type} has no handler for ${job.tag}`)
    const reply = await handler(job.message, ctx)
    parentPort.postMessage({ id: job.id, ok: true, reply, state: ctx.state })
  } catch (e) {
    parentPort.postMessage({ id: job.id, ok: false, error: e instanceof Error ? e.message : String(e) })
  }
})
parentPort.postMessage({ ready: true })
