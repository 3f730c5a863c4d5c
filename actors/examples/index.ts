/** Example agents (the pheromone-driven `forager` among them, the `example.work` task worker, `notebook`, which remembers, the `assistant` that thinks through a model and the misbehaving `chaos`) used by the README, the demo, the tests and the benchmarks. */
import { assistant, counterAdd, counterGet, transfer } from "./assistant.ts"
import { CHAOS_MERGE_CAPABILITY, chaos, chaosCpu } from "./chaos.ts"
import { counter } from "./counter.ts"
import { echo } from "./echo.ts"
import { forager, MAX_TAKE_ATTEMPTS } from "./forager.ts"
import { notebook } from "./notebook.ts"
import { EXAMPLE_WORK_CAPABILITY, exampleWork, exampleWorkHandler, worker } from "./worker.ts"

export { assistant, counterAdd, counterGet, transfer, CHAOS_MERGE_CAPABILITY, chaos, chaosCpu, counter, echo, forager, notebook, worker, MAX_TAKE_ATTEMPTS, exampleWork, exampleWorkHandler, EXAMPLE_WORK_CAPABILITY }
export type { ExampleWorkPayload, ExampleWorkResult } from "./worker.ts"

/** Every example agent type, as `npx ants node --agents ./actors/examples/index.ts` hosts them. */
export const agents = [echo, counter, worker, forager, notebook, assistant, chaos, chaosCpu]
export default agents
