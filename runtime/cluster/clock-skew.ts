/**
 * Clock skew a node can see: each heartbeat carries its writer's wall time and the server stamps
 * the time it stored it, so every node can tell, for every member (itself included), how far
 * that member's clock is from the server's. The runtime's timing rules measure durations on one
 * node's own clock and do not depend on it; what a wrong clock breaks is every time a node
 * writes for others to read (pheromone deposit times and the strengths computed from them,
 * checkpoint and task times). A difference beyond the threshold is logged once per member, and
 * again when it changes by another second or goes back to normal.
 */
export class ClockSkew {
  /** Offset last reported per member (ms, the writer's clock minus the server's). */
  private readonly reported = new Map<string, number>()

  constructor(
    private readonly self: string,
    private readonly warnMs: number,
    private readonly log: (level: "info" | "warn" | "error", message: string) => void,
  ) {}

  /** `writtenAt`: the ISO time in the member's heartbeat; `storedAt`: the server's time for it (epoch ms). */
  check(node: string, writtenAt: string, storedAt: number): void {
    const written = Date.parse(writtenAt)
    if (!Number.isFinite(written) || !Number.isFinite(storedAt)) return
    const skew = written - storedAt
    const reported = this.reported.get(node)
    const who = node === this.self ? `this node (${node})` : `node ${node}`
    if (Math.abs(skew) <= this.warnMs) {
      if (reported === undefined) return
      this.reported.delete(node)
      this.log("info", `the clock of ${who} agrees with the NATS server's again (within ${this.warnMs} ms)`)
      return
    }
    if (reported !== undefined && Math.abs(reported - skew) < 1_000) return
    this.reported.set(node, skew)
    this.log(
      "warn",
      `the clock of ${who} is ${Math.abs(skew)} ms ${skew > 0 ? "ahead of" : "behind"} the NATS server's (heartbeat written at ${writtenAt}, stored at ${new Date(storedAt).toISOString()}): ` +
        "pheromone strengths it computes and the times it records are off by as much; membership and leases use durations on each node's own clock and are not affected",
    )
  }
}
