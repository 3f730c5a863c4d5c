/** The counters a node keeps per hosted agent type (node stats and inspection report them). */
export interface TypeStats {
  activations: number
  passivations: number
  handled: number
  handlerFailures: number
  restarts: number
  checkpoints: number
  checkpointFailures: number
  /** Milliseconds actors of this type spent activated (closed incarnations) and sleeping. */
  activeMs: number
  sleepingMs: number
  /** Handlers that held the event loop longer than the node's `loopBlockMs`. */
  loopBlocks: number
  /** Handlers that passed their deadline (the caller got `timeout`). */
  timeouts: number
  /** Messages failed because the state they left could not be stored. */
  stateRefusals: number
}
