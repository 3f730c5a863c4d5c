/** The scenario registry, in the order a full run executes them. */
import type { Scenario } from "../types.ts"
import { askScenario } from "./ask.ts"
import { askAuthScenario } from "./ask-auth.ts"
import { tellScenario } from "./tell.ts"
import { activationScenario } from "./activation.ts"
import { memoryScenario } from "./memory.ts"
import { pheromonesScenario } from "./pheromones.ts"
import { tasksScenario } from "./tasks.ts"
import { swarmScenario } from "./swarm.ts"
import { failoverScenario } from "./failover.ts"
import { recallScenario } from "./recall.ts"
import { modelsScenario } from "./models.ts"
import { llmSwarmScenario } from "./llm-swarm.ts"
import { noisyNeighbourScenario } from "./noisy-neighbour.ts"
import { taskFailoverScenario } from "./task-failover.ts"
import { toolsScenario } from "./tools.ts"

export const SCENARIOS: ReadonlyArray<Scenario> = [askScenario, askAuthScenario, tellScenario, activationScenario, memoryScenario, pheromonesScenario, tasksScenario, swarmScenario, failoverScenario, modelsScenario, llmSwarmScenario, noisyNeighbourScenario, taskFailoverScenario, recallScenario, toolsScenario]
