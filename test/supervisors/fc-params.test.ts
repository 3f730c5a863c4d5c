import { describe, expect, it } from "vitest"
import { fcParams } from "./fc-params.ts"

describe("fcParams", () => {
  it("fcParams - reads FC_SEED, FC_PATH and FC_RUNS so a printed failure replays", () => {
    const saved = { seed: process.env.FC_SEED, path: process.env.FC_PATH, runs: process.env.FC_RUNS }
    try {
      process.env.FC_SEED = "-920602586"
      process.env.FC_PATH = "0:1"
      process.env.FC_RUNS = "7"
      expect(fcParams(1000)).toMatchObject({ seed: -920602586, path: "0:1", numRuns: 7 })
      delete process.env.FC_SEED
      delete process.env.FC_PATH
      delete process.env.FC_RUNS
      const p = fcParams(1000)
      expect(p.numRuns).toBe(1000)
      expect(p).not.toHaveProperty("seed")
    } finally {
      for (const [k, v] of [["FC_SEED", saved.seed], ["FC_PATH", saved.path], ["FC_RUNS", saved.runs]] as const) {
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
      }
    }
  })
})
