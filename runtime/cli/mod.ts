/**
 * Layer `cli`: the `ants` command (bin.mjs loads main.ts). Every command is declared once in
 * commands.ts (summary, arguments, typed options with their defaults, examples); its `--help`,
 * its parsing and its checks all come from that declaration, and its module is loaded only to
 * run it.
 *
 * Promises: `--help` and `--version` never connect anywhere; a malformed invocation exits 2 with
 * a message saying what is expected (UsageError) before anything is sent; otherwise a command
 * exits 0 on success and 1 when it failed or was refused, with a message on stderr.
 * May import: every runtime layer, subjects/, supervisors/, actors/ (the demo's examples),
 * bench/ (`ants bench`). Nothing imports it except bin.mjs and tests.
 */
export { helpText, main, version } from "./main.ts"
export { COMMANDS } from "./commands.ts"
export { isUsageError, UsageError } from "./usage-error.ts"
export { CliError } from "./cli-error.ts"
export { resolveNatsUrl } from "./client-connection.ts"
export { loadAgents } from "./load-agents.ts"
export type { Io } from "./io.ts"
