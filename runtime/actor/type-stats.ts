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
}
