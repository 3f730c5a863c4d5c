import { defineConfig } from "vitest/config"

/** Test folders that run code in isolated-vm (the sandbox, registry tools), which needs `--no-node-snapshot` on Node 20 and later. */
const ISOLATE_TESTS = ["test/sandbox/**/*.test.ts", "test/tools/**/*.test.ts"]

// Integration tests start their own nats-server processes; two cores are all we have,
// so files run in forked workers, two at a time, with generous timeouts (never asserted).
export default defineConfig({
  test: {
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ["default"],
    // each project lists its own files (a project's include would add to an inherited one)
    projects: [
      { extends: true, test: { name: "runtime", include: ["test/**/*.test.ts"], exclude: ["**/node_modules/**", ...ISOLATE_TESTS] } },
      { extends: true, test: { name: "isolates", include: ISOLATE_TESTS, execArgv: ["--no-node-snapshot"] } },
    ],
  },
})
