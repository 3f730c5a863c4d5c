/**
 * The declarations of governance on the command line: `ants audit`, and (as they land) `ants
 * policy` and `ants approvals`. Pure data, like commands.ts, which lists them among the commands.
 */
import { DEFAULT_TENANT } from "../../subjects/grammar.ts"
import { defineCommand, type CommandSpec } from "./command-spec.ts"
import { CREDENTIALS } from "./credentials-spec.ts"
import { int, text } from "./option.ts"

const tenant = () => text("<tenant>", "the tenant").withDefault(DEFAULT_TENANT)
const client = () => ({
  nats: text("<url[,url]>", "the NATS server (or cluster, comma-separated) to talk to").defaultIs("$NATS_URL, else the embedded server of a node running on this machine, else nats://127.0.0.1:4222"),
  ...CREDENTIALS,
})
const noArgs = (summary: string) => ({ args: "", min: 0, max: 0, summary })

export const AUDIT = defineCommand({
  name: "audit",
  summary: "read a tenant's tamper-evident audit receipts, or verify their chain",
  subcommands: {
    tail: noArgs("the newest receipts of the tenant: position, kind, node, time and detail"),
    verify: noArgs(
      "checks every kept receipt: signed by a published node key, stored at its own position, chained to the one before; names the first forged, removed or reordered position and exits 1 there",
    ),
  },
  options: {
    tenant: tenant(),
    last: int("<n>", "how many of the newest receipts", { min: 1 }).withDefault(20).onlyFor("tail"),
    ...client(),
  },
  notes: ["Receipts live in the stream ANTS_AUDIT_<tenant> (delete and purge denied); node public keys in the bucket ants_audit_keys."],
  examples: ["npx ants audit tail --last 5", "npx ants audit verify", "npx ants audit tail --tenant default --json"],
  connects: true,
})

/** The governance commands, listed together (after TENANT) in `ants --help`. */
export const GOVERNANCE_COMMANDS: ReadonlyArray<CommandSpec<any>> = [AUDIT]
