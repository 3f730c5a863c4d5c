/**
 * Supervision's part of the wire contract: the control and inspection requests every node
 * answers about its supervision tree (`ants._sys.node.<nodeId>.<...>`). Pure code.
 *
 *   ants._sys.node.<nodeId>.supervision.tree    request, any body: the node's tree as plain data
 *                                               (`SupervisorSnapshot`: name, path, kind, status,
 *                                               reason, restarts, children)
 *   ants._sys.node.<nodeId>.supervision.reset   request, body `ResetRequest`: marks the subtree
 *                                               as freshly started (restart windows cleared,
 *                                               give-ups forgotten) and serves it again; answers
 *                                               with the reset subtree's snapshot
 *
 * Replies use the usual envelope (`{"ok":true,"value":…}` / `{"ok":false,"error":…}`);
 * a body that does not fit `ResetRequest` is answered `invalid_message`, an unknown path or
 * type `invalid_message` too, with the reason.
 */
import * as Schema from "effect/Schema"
import { nodeSubject } from "./grammar.ts"

/** `ants._sys.node.<nodeId>.supervision.tree` */
export function supervisionTreeSubject(nodeId: string): string {
  return nodeSubject(nodeId, "supervision", "tree")
}

/** `ants._sys.node.<nodeId>.supervision.reset` */
export function supervisionResetSubject(nodeId: string): string {
  return nodeSubject(nodeId, "supervision", "reset")
}

const ChildId = Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_-]+$/, { message: () => "a child id is a token of letters, digits, '_' or '-'" }))

/**
 * What to reset: `type` (the child of that agent type, wherever it sits in the tree), or
 * `path` (child ids from the root; `[]` the whole tree). Neither: the whole tree.
 */
export const ResetRequest = Schema.Struct({
  type: Schema.optional(ChildId),
  path: Schema.optional(Schema.Array(ChildId)),
})
export type ResetRequest = typeof ResetRequest.Type

export const decodeResetRequest = Schema.decodeUnknownEither(ResetRequest)
