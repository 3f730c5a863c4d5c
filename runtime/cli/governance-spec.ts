/**
 * The declarations of governance on the command line: `ants audit`, and (as they land) `ants
 * policy` and `ants approvals`. Pure data, like commands.ts, which lists them among the commands.
 */
import { DEFAULT_TENANT } from "../../subjects/grammar.ts"
import { defineCommand, type CommandSpec } from "./command-spec.ts"
import { CREDENTIALS } from "./credentials-spec.ts"
import { duration, flag, int, json, text } from "./option.ts"

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

export const POLICY = defineCommand({
  name: "policy",
  summary: "show or set a tenant's policy: rules over tool calls, model calls and spend (allow, deny, approve, notify) evaluated before they run",
  subcommands: {
    show: noArgs("the tenant's rules, in the order they are tried (the first that matches decides)"),
    set: noArgs("replace the tenant's rules with --rules (a JSON array; [] leaves only the defaults: high-impact tools need approval, the rest run)"),
  },
  options: {
    tenant: tenant(),
    rules: json(
      "<JSON>",
      "the rules: [{effect: allow|deny|approve|notify, action?: tool|model|spend (default tool), tool?, impact?, agentType?, model?, provider?, minUsd?, per?: request|turn, severity?, timeoutMs?, safeDefault?, reason?, id?}]",
      '[{"effect":"deny","tool":"transfer"}]',
    ).onlyFor("set"),
    by: text("<who>", "who sets it (kept with the rules)").defaultIs("$USER").onlyFor("set"),
    ...client(),
  },
  notes: ["Rules live in the KV bucket ants_policy under the tenant. Nodes read them before every tool call and model call of a turn (`model` rules match the deployment, `spend` rules a call's estimated cost or the turn's spend)."],
  examples: [`npx ants policy set --tenant sandbox --rules '[{"effect":"approve","tool":"transfer","timeoutMs":60000,"severity":"critical"}]'`, "npx ants policy show --tenant sandbox --json"],
  connects: true,
})

export const APPROVALS = defineCommand({
  name: "approvals",
  summary: "the queue of actions waiting for a human: list, show, approve, reject or delegate them",
  subcommands: {
    list: noArgs("the tenant's requests: pending first, most severe first, then decided ones"),
    show: { args: "<id>", min: 1, max: 1, summary: "one request: who asks, what action, why, the context, its deadline and safe default, and its decision" },
    approve: { args: "<id>", min: 1, max: 1, summary: "let the action run (the turn holding it continues, on whichever node)" },
    reject: { args: "<id>", min: 1, max: 1, summary: "refuse the action: it is not run, and the agent is told" },
    delegate: { args: "<id>", min: 1, max: 1, summary: "hand the request to someone else (--to); it stays pending" },
  },
  options: {
    tenant: tenant(),
    by: text("<who>", "who decides (recorded in the audit)").defaultIs("$USER").onlyFor("approve", "reject", "delegate"),
    reason: text("<text>", "why (recorded, and told to the agent on a rejection)").onlyFor("approve", "reject"),
    override: flag("change a decision already made (by a human or by the deadline)").onlyFor("approve", "reject"),
    arguments: json("<JSON>", "run the action with these arguments instead (human in the loop)", '{"to":"bob","amount":5}').onlyFor("approve"),
    to: text("<who>", "whom to delegate to").onlyFor("delegate"),
    timeout: duration("<ms>", "how long to wait for a node's answer").withDefault(5000),
    ...client(),
  },
  notes: [
    "Served by every node on ants._sys.approvals.<tenant>.list|show|decide|delegate (the README documents the shapes), so a node must be running.",
    "Exit 1 when the request does not exist or was already decided (say --override to change a decision).",
  ],
  examples: ["npx ants approvals list", "npx ants approvals list --tenant default --json"],
  connects: true,
})

/** The governance commands, listed together (after TENANT) in `ants --help`. */
export const GOVERNANCE_COMMANDS: ReadonlyArray<CommandSpec<any>> = [AUDIT, POLICY, APPROVALS]
