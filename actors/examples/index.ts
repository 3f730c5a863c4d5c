/** Example agents used by the README, the demo, the tests and the benchmarks. */
import { counter } from "./counter.ts"
import { echo } from "./echo.ts"

export { counter, echo }

/** Every example agent type, as `npx ants node --agents ./actors/examples/index.ts` hosts them. */
export const agents = [echo, counter]
export default agents
