import { defineConfig } from "vitest/config"

// Integration tests start their own nats-server processes; two cores are all we have,
// so files run in forked workers, two at a time, with generous timeouts (never asserted).
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ["default"],
  },
})
