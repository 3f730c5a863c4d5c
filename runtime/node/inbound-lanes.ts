/**
 * Inbound lanes: the connections a node's partitions arrive on, so that a flood waits in its
 * own queue instead of everyone's.
 *
 * The server queues what it sends a connection in one first-in first-out buffer. When one
 * partition is flooded faster than the node can read (an outside client publishing as fast as
 * it can does that on any machine), every other partition's messages on that connection wait
 * behind the whole backlog: another tenant's ask then takes hundreds of milliseconds however
 * fair the node is once the message is read. So a partition whose arrivals pass `hotRate` a
 * second (measured over 100 ms) is moved to a lane of its own: a separate connection (an idle
 * lane first (one is opened with the first partition), else a new one up to `maxLanes`, then the least
 * busy one is shared; lanes stay open once opened). A lane is read on a thread of its own by
 * default (lane-reader.ts: it refuses what is over its tenant's or actor's rate there, and
 * passes the rest on in batches, one per event-loop turn; lane-thread.ts), else on the main
 * thread with its reads paced to one 8 KiB slice per event-loop turn
 * (runtime/client/paced-reads.ts). The flood's backlog then builds on that connection only, and
 * the node reads it in turn with the main connection, where the other partitions' messages no
 * longer queue behind it. A lane partition that stays under a quarter
 * of `hotRate` for `coolMs` moves back to the main connection.
 *
 * A move subscribes on the new connection first (same queue group: each message still reaches
 * one subscriber), then drains the old subscription, so nothing is lost. What arrives on the
 * new connection meanwhile is held and dispatched after the old one's backlog (released in
 * slices of SLICE per event-loop turn; past HOLD_MAX held messages the rest go straight
 * through), so the old connection's backlog is not overtaken. Meanwhile the lane is
 * not read at all (for at most HOLD_LANE_MS; other hot partitions sharing it wait too): its
 * messages would only be held, and the loop's turns go to the old backlog, behind which the
 * main connection's other partitions wait. Order is not kept for the
 * messages that arrive while both subscriptions exist (about one round trip to the server):
 * the server gives each to one member of the queue group at random, as it does while two
 * nodes briefly share a partition during a hand-over.
 *
 * Bounds, said plainly: a partition is the unit (actors sharing the flooded partition, 1 in 64,
 * share its lane), a flood spread evenly over every partition under `hotRate` each stays on the
 * main connection, and a lane the node cannot read as fast as it is flooded is eventually
 * dropped by the server as a slow consumer (its queued messages are lost, which the node counts
 * as a lane disconnect and logs; it reconnects). Before, that was the node's only connection.
 */
import type { Msg, NatsConnection } from "@nats-io/nats-core"
import type { PartitionSubscription } from "../cluster/cluster-options.ts"
import type { ConnectionView } from "../cluster/gone-check.ts"
import { natsLink, type LaneLink, type LaneSub } from "./lane-thread.ts"

export interface LaneOptions {
  /** Arrivals per second that make a partition hot. Default 20,000 (one actor at the default agent rate). */
  readonly hotRate?: number
  /** Connections for hot partitions, besides the main one. Default 4; 0 keeps every partition on the main connection. */
  readonly maxLanes?: number
  /** How long a lane partition stays under a quarter of `hotRate` before it moves back. Default 5,000 ms. */
  readonly coolMs?: number
  /**
   * Read each lane on a thread of its own (lane-reader.ts), where what is over its tenant's or
   * actor's rate is refused before the main thread sees it. Default true; false reads lanes on
   * the main thread.
   */
  readonly threads?: boolean
}

type Logger = (level: "info" | "warn" | "error", message: string) => void

export const LANE_DEFAULTS = { hotRate: 20_000, maxLanes: 4, coolMs: 5_000, threads: true } as const

export interface LaneStats {
  /** Partitions on a lane of their own now. */
  readonly hot: number[]
  /** Lanes opened (or opening), and how many of them are ready to read. */
  readonly lanes: number
  readonly ready: number
  /** Moves to a lane and back since the start. */
  readonly moves: number
  /** Times a lane's connection was lost (a server drops one it cannot send to fast enough), or its reader thread. */
  readonly disconnects: number
  /** Messages the lanes' reader threads refused for their rate (the node's ledger counts them too). */
  readonly refused: number
}

export interface InboundLanes {
  subscribe(partition: number, dispatch: (m: Msg) => void): PartitionSubscription
  stats(): LaneStats
  /** The lanes' connections that are open (advertised in the node's member entry). */
  connections(): ConnectionView[]
  /** Calls `listener` whenever a lane's connection goes down or comes back (`up`). */
  onStatus(listener: (nc: ConnectionView, up: boolean) => void): void
  close(): Promise<void>
}

interface Lane {
  readonly name: string
  readonly link: Promise<LaneLink>
  readonly partitions: Set<Slot>
  /** The connection once open. */
  open?: LaneLink
}

interface Slot {
  readonly p: number
  readonly dispatch: (m: Msg) => void
  sub: LaneSub
  lane: Lane | undefined
  count: number
  rate: number
  coolSince: number
  moving: boolean
  closed: boolean
  /** Subscriptions being drained (a move's old one). */
  readonly draining: Set<Promise<void>>
  /** Messages of the newest subscription held while an older one drains (order). */
  held: Msg[] | undefined
  gen: number
}

const WINDOW_MS = 100
export const HOLD_MAX = 20_000
/** How long a lane is left unread while a moved partition's old subscription drains (the server keeps up to its max_pending for it). */
const HOLD_LANE_MS = 1_000
/** Held messages dispatched per event-loop turn: about what one 8 KiB read slice carries. */
const SLICE = 64

export function createInboundLanes(
  main: NatsConnection,
  open: (name: string) => Promise<LaneLink>,
  log: Logger,
  options: LaneOptions = {},
): InboundLanes {
  const hotRate = options.hotRate ?? LANE_DEFAULTS.hotRate
  const maxLanes = options.maxLanes ?? LANE_DEFAULTS.maxLanes
  const coolMs = options.coolMs ?? LANE_DEFAULTS.coolMs
  const hotCount = Math.max(1, Math.ceil((hotRate * WINDOW_MS) / 1000))
  const slots = new Set<Slot>()
  const lanes: Lane[] = []
  let moves = 0
  let disconnects = 0
  /** What lanes that ended had refused. */
  let refusedBefore = 0
  const statusListeners: Array<(nc: ConnectionView, up: boolean) => void> = []
  const mainLink = natsLink(main, "main")
  let closed = false
  let windowStart = Date.now()

  const subscribeOn = (link: LaneLink, slot: Slot, hold: boolean): LaneSub => {
    const gen = ++slot.gen
    if (hold) slot.held = []
    return link.subscribe(slot.p, (m) => {
      if (++slot.count === hotCount && slot.lane === undefined && !slot.moving && Date.now() - windowStart <= 2 * WINDOW_MS) void move(slot, "hot")
      const held = slot.held
      if (held !== undefined && gen === slot.gen && held.length < HOLD_MAX) held.push(m)
      else slot.dispatch(m)
    })
  }

  /** Dispatches what was held, a slice per turn, until nothing is held; then messages go straight through. */
  const release = (slot: Slot) => {
    const held = slot.held
    if (held === undefined) return
    const n = Math.min(SLICE, held.length)
    for (let i = 0; i < n; i++) slot.dispatch(held[i])
    held.splice(0, n)
    if (held.length === 0) slot.held = undefined
    else setImmediate(() => release(slot))
  }

  const openLane = (): Lane => {
    const name = `lane-${lanes.length + 1}`
    const lane: Lane = {
      name,
      link: open(name).catch((e: unknown) => {
        lanes.splice(lanes.indexOf(lane), 1)
        throw e
      }),
      partitions: new Set(),
    }
    lanes.push(lane)
    void lane.link.then((link) => {
      lane.open = link
      link.onStatus((up) => {
        for (const l of statusListeners) l(link.view, up)
        if (up) return
        disconnects++
        log("warn", `inbound ${name} (partitions ${[...lane.partitions].map((x) => x.p).join(", ")}) lost its connection; a server drops one it cannot send to fast enough (slow consumer), and the messages it had queued for it are lost; reconnecting`)
      })
      link.onLost((why) => lost(lane, why))
    }).catch(() => undefined)
    return lane
  }

  /** A lane that ended by itself (its reader thread died): its partitions go back to the main connection. */
  const lost = (lane: Lane, why: string) => {
    const i = lanes.indexOf(lane)
    if (i >= 0) lanes.splice(i, 1)
    refusedBefore += lane.open?.refused() ?? 0
    disconnects++
    if (closed) return
    log("error", `inbound ${lane.name} ended (${why}); its partitions ${[...lane.partitions].map((x) => x.p).join(", ") || "(none)"} go back to the main connection`)
    for (const slot of lane.partitions) {
      if (slot.closed) continue
      slot.lane = undefined
      slot.sub = subscribeOn(mainLink, slot, false)
    }
    lane.partitions.clear()
  }

  const laneFor = (): Lane => {
    const idle = lanes.find((l) => l.partitions.size === 0)
    if (idle !== undefined) return idle
    if (lanes.length < maxLanes) return openLane()
    const load = (l: Lane) => [...l.partitions].reduce((s, x) => s + x.rate, 0)
    return lanes.reduce((a, b) => (load(b) < load(a) ? b : a))
  }

  const move = async (slot: Slot, to: "hot" | "main") => {
    if (maxLanes <= 0 || closed) return
    slot.moving = true
    try {
      const lane = to === "hot" ? laneFor() : undefined
      const link = lane ? await lane.link : mainLink
      if (slot.closed || closed) return
      const old = slot.sub
      slot.sub = subscribeOn(link, slot, true)
      await link.flush()
      slot.lane?.partitions.delete(slot)
      slot.lane = lane
      lane?.partitions.add(slot)
      slot.coolSince = 0
      moves++
      log(to === "hot" ? "warn" : "info", to === "hot" ? `partition ${slot.p} receives over ${hotRate} messages/s: moved to inbound ${lane!.name} (its backlog no longer delays other partitions)` : `partition ${slot.p} is quiet again: back on the main connection`)
      // the lane's messages would only be held while the old backlog drains: the lane is not
      // read meanwhile (for at most HOLD_LANE_MS), so the loop's turns go to that backlog, where
      // other partitions' messages wait behind the flood's first burst
      const release = lane ? link.hold() : undefined
      const timer = release ? setTimeout(release, HOLD_LANE_MS) : undefined
      try {
        await drainOld(slot, old)
      } finally {
        clearTimeout(timer)
        release?.()
      }
    } catch (e) {
      log("warn", `moving partition ${slot.p} to ${to === "hot" ? "a lane" : "the main connection"} failed: ${(e as Error).message}`)
      release(slot)
    } finally {
      slot.moving = false
    }
  }

  const drainOld = async (slot: Slot, old: LaneSub) => {
    const d = old.drain().catch(() => old.unsubscribe())
    slot.draining.add(d)
    await d
    slot.draining.delete(d)
    release(slot)
  }

  const tick = setInterval(() => {
    const now = Date.now()
    const elapsed = Math.max(1, now - windowStart)
    windowStart = now
    for (const slot of slots) {
      slot.rate = (slot.count * 1000) / elapsed
      slot.count = 0
      if (slot.moving || slot.closed) continue
      if (slot.lane === undefined) {
        if (slot.rate >= hotRate) void move(slot, "hot")
      } else if (slot.rate < hotRate / 4) {
        if (slot.coolSince === 0) slot.coolSince = now
        else if (now - slot.coolSince >= coolMs) void move(slot, "main")
      } else slot.coolSince = 0
    }
  }, WINDOW_MS)
  tick.unref()

  return {
    subscribe(p, dispatch) {
      // one lane ready with the first partition: a flood's first move then costs no connect
      // (meanwhile the flood keeps piling up on the main connection)
      if (lanes.length === 0 && maxLanes > 0 && !closed) openLane()
      const slot: Slot = { p, dispatch, sub: undefined as unknown as LaneSub, lane: undefined, count: 0, rate: 0, coolSince: 0, moving: false, closed: false, draining: new Set(), held: undefined, gen: 0 }
      slot.sub = subscribeOn(mainLink, slot, false)
      slots.add(slot)
      const leave = () => {
        slot.closed = true
        slots.delete(slot)
        slot.lane?.partitions.delete(slot)
      }
      return {
        unsubscribe() {
          leave()
          slot.sub.unsubscribe()
          // what was already received is handled, not dropped
          const held = slot.held ?? []
          slot.held = undefined
          for (const m of held) dispatch(m)
        },
        async drain() {
          leave()
          await Promise.all([slot.sub.drain().catch(() => slot.sub.unsubscribe()), ...slot.draining])
          const held = slot.held ?? []
          slot.held = undefined
          for (const m of held) dispatch(m)
        },
      }
    },
    connections: () => lanes.flatMap((l) => (l.open ? [l.open.view] : [])),
    onStatus: (listener) => void statusListeners.push(listener),
    stats: () => ({ hot: [...slots].filter((s) => s.lane !== undefined).map((s) => s.p).sort((a, b) => a - b), lanes: lanes.length, ready: lanes.filter((l) => l.open !== undefined).length, moves, disconnects, refused: lanes.reduce((s, l) => s + (l.open?.refused() ?? 0), refusedBefore) }),
    async close() {
      closed = true
      clearInterval(tick)
      await Promise.all(lanes.map((l) => l.link.then((link) => link.close()).catch(() => undefined)))
    },
  }
}
