// The worker thread of an inbound lane's reader (lane-thread.ts). Plain JavaScript so it starts
// without a loader; in a source checkout (the reader module is TypeScript) it registers tsx
// first. The reader (lane-reader.ts) does the work.
import { workerData } from "node:worker_threads"

if (workerData.module.endsWith(".ts")) {
  const { register } = await import("tsx/esm/api")
  register()
}
await import(workerData.module)
