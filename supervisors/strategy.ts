/** Maps each strategy name (a closed set) to its pure function, one per file. */
import type { RestartStrategy } from "./restart-plan.ts"
import type { Strategy } from "./spec.ts"
import { oneForAll } from "./strategy-one-for-all.ts"
import { oneForOne } from "./strategy-one-for-one.ts"
import { restForOne } from "./strategy-rest-for-one.ts"

const STRATEGY_FUNCTIONS: { readonly [S in Strategy]: RestartStrategy } = {
  one_for_one: oneForOne,
  one_for_all: oneForAll,
  rest_for_one: restForOne,
}

export function strategyFor(name: Strategy): RestartStrategy {
  return STRATEGY_FUNCTIONS[name]
}
