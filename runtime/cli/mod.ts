/**
 * Layer `cli`: the `ants` command (bin.mjs loads main.ts). Parses arguments, connects to NATS
 * or starts an embedded node, and prints results; each command lives in its own file.
 *
 * Promises: a command exits 0 on success and non-zero with a message on stderr otherwise.
 * May import: every runtime layer, subjects/, supervisors/, actors/ (the demo's examples).
 * Nothing imports it except bin.mjs and tests.
 */
export { CliError, loadAgents, main, resolveNatsUrl } from "./main.ts"
export type { Io } from "./io.ts"
