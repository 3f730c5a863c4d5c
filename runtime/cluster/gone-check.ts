/**
 * Gone for sure: telling a crashed node from one that is only silent, so that its actors can be
 * taken over at once instead of after the partition grace (leases.ts).
 *
 * A node that missed a heartbeat and whose ping finds "no responders" is either dead, or alive
 * behind a partition (its server cut off from ours), or between connections. The grace covers
 * the last two: the node stops serving on its own after `expiryMs - heartbeatMs` of silence. A
 * killed process is told apart by asking the servers themselves: every member advertises, in
 * its entry, the connections it has (server id and client id, `conns`). A node taken for dead
 * is gone for sure when every server that held one of its connections answers the
 * account-scoped connection listing (`$SYS.REQ.ACCOUNT.PING.CONNZ`, one request per
 * connection, filtered by client id) without it. A server that does not answer (cut off, or
 * restarted: a new server id) leaves the question open: it is asked again each heartbeat
 * period while the grace lasts, and the grace applies.
 *
 * Gone for sure, its entry is removed with a delete marker that names the prober (body
 * `{"downedBy","at"}`), written only if the entry is still at the revision the prober last saw
 * (`Nats-Expected-Last-Subject-Sequence`). So:
 * - no heartbeat of the node landed after the revision its death was judged on;
 * - every member sees the marker through its watch and takes the node for dead with no grace;
 * - if the node was alive after all (a server closed all its connections, as for a slow
 *   consumer), its next heartbeat finds the marker: it stops every activation and joins again
 *   (membership.ts `onDowned`). A node whose connection came back refuses messages until a
 *   heartbeat of its own has landed (out-of-touch.ts), so it never serves an actor taken over
 *   meanwhile.
 */
import { createInbox, type NatsConnection } from "@nats-io/nats-core"
import { storedPublish } from "../server/stored-publish.ts"
import { inboxPrefixOf } from "../server/reply-inbox.ts"
import { kvSubject } from "../../subjects/jetstream.ts"
import { ACCOUNT_CONNZ_SUBJECT, MEMBERS_BUCKET, memberKey } from "../../subjects/cluster.ts"
import type { ConnRef, Member } from "./member-record.ts"

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** How long the servers get to answer a connection listing. */
export const CONNZ_WAIT_MS = 500

/** The connections this node has now, as servers know them (skipped: one not connected). */
/** What membership needs of a connection: whether it is closed and whom the server knows it as (a lane's reader thread has no `NatsConnection` here). */
export type ConnectionView = Pick<NatsConnection, "isClosed" | "info">

export function connRefs(ncs: Iterable<ConnectionView>): ConnRef[] {
  const refs: ConnRef[] = []
  for (const nc of ncs) {
    const info = nc.isClosed() ? undefined : nc.info
    if (info?.server_id === undefined || info.client_id === undefined) continue
    if (!refs.some((r) => r.s === info.server_id && r.c === info.client_id)) refs.push({ s: info.server_id, c: info.client_id })
  }
  return refs
}

/**
 * Whether the server that held `ref` answers that the connection is no longer there: true only
 * on that server's own answer; false when it lists the connection, answers with an error, or
 * does not answer within `waitMs`.
 */
export async function connectionGone(nc: NatsConnection, ref: ConnRef, waitMs = CONNZ_WAIT_MS): Promise<boolean> {
  const inbox = createInbox(inboxPrefixOf(nc))
  return await new Promise<boolean>((resolve) => {
    const sub = nc.subscribe(inbox, {
      callback: (_e, m) => {
        let answer: { server?: { id?: string }; data?: { connections?: Array<{ cid?: number }> }; error?: unknown } | undefined
        try {
          answer = JSON.parse(decoder.decode(m.data))
        } catch {
          return
        }
        if (answer?.server?.id !== ref.s) return // another server of the cluster: its client ids are its own
        done(answer.error === undefined && Array.isArray(answer.data?.connections) && !answer.data.connections.some((c) => c.cid === ref.c))
      },
    })
    const timer = setTimeout(() => done(false), waitMs)
    const done = (gone: boolean) => {
      clearTimeout(timer)
      sub.unsubscribe()
      resolve(gone)
    }
    try {
      nc.publish(ACCOUNT_CONNZ_SUBJECT, encoder.encode(JSON.stringify({ cid: ref.c })), { reply: inbox })
    } catch {
      done(false)
    }
  })
}

/** Whether every connection in `refs` is gone by its server's own answer (none advertised: unknown, false). */
export async function allConnectionsGone(nc: NatsConnection, refs: ReadonlyArray<ConnRef> | undefined): Promise<boolean> {
  if (refs === undefined || refs.length === 0) return false
  const answers = await Promise.all(refs.map((r) => connectionGone(nc, r)))
  return answers.every(Boolean)
}

/**
 * Whether `node`, just taken for dead as `m`, is gone for sure: its connections are gone and its
 * entry was removed at the revision judged on (`by`: this node). Asked again every `retryMs`
 * while `stillDead()` (a loaded server may answer late, a store may time out); false once it is
 * not (the node came back, its grace ran out, another node removed it).
 */
export async function confirmGone(nc: NatsConnection, node: string, m: Member, by: string, stillDead: () => boolean, retryMs: number): Promise<boolean> {
  while (stillDead()) {
    if (await goneNow(nc, node, m, by)) return true
    await new Promise((r) => setTimeout(r, retryMs))
  }
  return false
}

/** One try of `confirmGone`: `node`'s connections are gone by its servers' answers, and its entry was removed at `m`'s revision, naming `by`. */
export async function goneNow(nc: NatsConnection, node: string, m: Member, by: string): Promise<boolean> {
  return (await allConnectionsGone(nc, m.record.conns)) && (await markDowned(nc, node, m.revision, by))
}

/** What a delete marker written by `markDowned` carries. */
export interface DownedMark {
  readonly downedBy: string
  readonly at: string
}

/**
 * Removes `node`'s entry with a delete marker naming `by`, only if the entry is still at
 * `revision`. Resolves true when the marker was stored; false when the entry had moved on (a
 * heartbeat landed, it expired) or the store did not answer.
 */
export async function markDowned(nc: NatsConnection, node: string, revision: number, by: string): Promise<boolean> {
  const body = encoder.encode(JSON.stringify({ downedBy: by, at: new Date().toISOString() } satisfies DownedMark))
  try {
    await storedPublish(nc, kvSubject(MEMBERS_BUCKET, memberKey(node)), body, {
      expectedLastSubjectSequence: revision,
      headers: { "KV-Operation": "DEL" },
      timeoutMs: 2_000,
    })
    return true
  } catch {
    return false
  }
}

/** The prober named by a delete marker of `markDowned`; undefined for any other delete (a graceful leave). */
export function downedBy(value: Uint8Array | undefined): string | undefined {
  if (value === undefined || value.length === 0) return undefined
  try {
    const mark = JSON.parse(decoder.decode(value)) as Partial<DownedMark>
    return typeof mark.downedBy === "string" ? mark.downedBy : undefined
  } catch {
    return undefined
  }
}
