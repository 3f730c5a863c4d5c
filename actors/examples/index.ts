/** Example agents (and the `example.work` task worker) used by the README, the demo, the tests and the benchmarks. */
import { counter } from "./counter.ts"
import { echo } from "./echo.ts"
import { EXAMPLE_WORK_CAPABILITY, exampleWork, exampleWorkHandler, worker } from "./worker.ts"

export { counter, echo, worker, exampleWork, exampleWorkHandler, EXAMPLE_WORK_CAPABILITY }
export type { ExampleWorkPayload, ExampleWorkResult } from "./worker.ts"

/** Every example agent type, as `npx ants node --agents ./actors/examples/index.ts` hosts them. */
export const agents = [echo, counter, worker]
export default agents
