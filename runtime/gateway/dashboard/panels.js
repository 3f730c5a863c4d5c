// One function per panel of the dashboard, each drawing from the snapshot the gateway returns
// (GET /v1/dashboard). A panel whose data the caller's principal may not read says so.
import { ago, el, fill, fixed, row, svg, table } from "./dom.js"

const STATES = ["active", "idle", "warming", "sleeping"]
export const PHEROMONE_COLORS = { task: "#2f6fdb", resource: "#0e9f6e", danger: "#c0392b", success: "#16a34a", capability: "#9333ea", load: "#d97706", coordination: "#0891b2" }
const NODE_COLORS = ["#2f6fdb", "#0e9f6e", "#d97706", "#9333ea", "#0891b2", "#c0392b", "#65a30d", "#db2777"]
const OPERATOR_ONLY = (what) => el("p", { class: "muted" }, `${what} needs an operator token: a tenant's principal may not read it.`)

export function nodesPanel(s) {
  if (s.nodes === null) return fill("nodes-panel", OPERATOR_ONLY("Node inspection"))
  if (s.nodes.length === 0) return fill("nodes-panel", el("p", { class: "muted" }, "No node answered."))
  const owner = new Array(64).fill(null)
  s.nodes.forEach((n, i) => n.partitions.forEach((p) => (owner[p] = i)))
  const counts = (n) => STATES.map((st) => Object.values(n.types).reduce((a, t) => a + (t[st] ?? 0), 0))
  fill(
    "nodes-panel",
    table(
      ["node", "state", "host", "partitions", ...STATES, "handled"],
      s.nodes.map((n, i) =>
        row(
          [el("span", {}, el("i", { style: `color:${NODE_COLORS[i % NODE_COLORS.length]}` }, "● "), n.node), n.frozen ? `${n.state} (frozen)` : n.state, n.host, n.partitions.length, ...counts(n), n.messages?.handled ?? ""],
          { "data-node": n.node },
          [3, 4, 5, 6, 7, 8],
        ),
      ),
      [3, 4, 5, 6, 7, 8],
    ),
    el("h3", {}, "partition owners (64)"),
    el(
      "div",
      { class: "strip", "data-partitions": owner.filter((o) => o !== null).length },
      owner.map((o, p) => el("span", { title: `partition ${p}: ${o === null ? "nobody" : s.nodes[o].node}`, style: `background:${o === null ? "#e5e7eb" : NODE_COLORS[o % NODE_COLORS.length]}` })),
    ),
  )
}

export function actorsPanel(s) {
  if (s.actors === null) return fill("actors-panel", OPERATOR_ONLY("Listing actors"))
  const { types, list, truncated } = s.actors
  fill(
    "actors-panel",
    types.length === 0
      ? el("p", { class: "muted" }, `No actor of tenant ${s.tenant} is active or asleep on a node.`)
      : table(["type", ...STATES], types.map((t) => row([t.type, ...STATES.map((st) => t[st])], { "data-type": t.type }, [1, 2, 3, 4])), [1, 2, 3, 4]),
    list.length > 0 && el("h3", {}, `actors${truncated ? " (first of many)" : ""}`),
    list.length > 0 && table(["actor", "state", "node"], list.map((a) => row([`${a.type}/${a.id}`, a.state, a.node], { "data-actor": `${a.type}/${a.id}`, "data-state": a.state }))),
  )
}

export function pheromonesPanel(s) {
  if (!Array.isArray(s.pheromones)) return fill("pheromones-panel", el("p", { class: "error" }, `pheromones: ${s.pheromones.error}`))
  const trails = s.pheromones
  if (trails.length === 0) return fill("pheromones-panel", el("p", { class: "muted" }, `No live pheromone in tenant ${s.tenant}.`), legend())
  // one column per location, one circle per trail: the area grows with its current strength
  const locations = [...new Set(trails.map((t) => t.location))].sort()
  const col = 150
  const perCol = Math.max(...locations.map((l) => trails.filter((t) => t.location === l).length))
  const width = Math.max(600, locations.length * col)
  const height = 60 + perCol * 44
  const map = svg(
    "svg",
    { class: "map", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "pheromone map" },
    locations.map((loc, i) => {
      const x = i * col + col / 2
      const here = trails.filter((t) => t.location === loc).sort((a, b) => b.current - a.current)
      return svg(
        "g",
        { "data-location": loc },
        svg("text", { x, y: 18, "text-anchor": "middle" }, loc),
        here.map((t, j) =>
          svg(
            "circle",
            { cx: x, cy: 50 + j * 44, r: 4 + 16 * Math.sqrt(t.current), fill: PHEROMONE_COLORS[t.type] ?? "#6b7280", "fill-opacity": 0.35 + 0.6 * t.current, "data-pheromone": t.key },
            svg("title", {}, `${t.type} at ${t.location}: ${fixed(t.current)} of ${fixed(t.strength)} (by ${t.emitter})`),
          ),
        ),
      )
    }),
  )
  fill(
    "pheromones-panel",
    legend(),
    map,
    table(
      ["type", "location", "id", "now", "deposited", "emitter", "age"],
      trails.map((t) => row([t.type, t.location, t.id, fixed(t.current), fixed(t.strength), t.emitter, `${Math.round(t.ageMs / 1000)}s`], { "data-trail": t.key }, [3, 4, 6])),
      [3, 4, 6],
    ),
  )
}

function legend() {
  return el("p", { class: "legend" }, Object.entries(PHEROMONE_COLORS).map(([t, c]) => el("span", {}, el("i", { style: `background:${c}` }), t)))
}

export function tasksPanel(s, resubmit) {
  // operators see the tenant's tasks (its newest status records); a tenant's token, those it submitted through this gateway
  const t = s.tasks
  const none = t.error ? `Tasks could not be read: ${t.error}` : t.scope === "tenant" ? "No task in this tenant." : "No task submitted through this gateway yet (the tenant's other tasks need an operator token)."
  const tasks = t.list.length === 0 ? el("p", { class: "muted" }, none) : table(["task", "capability", "state", "attempts", "updated"], t.list.map((x) => row([x.id, x.capability, x.state, x.attempts, x.updatedAt ? ago(x.updatedAt) : ""], { "data-task": x.id, "data-state": x.state }, [3])), [3])
  const heading = t.scope === "tenant" ? `recent tasks (${t.list.length} newest of ${t.total ?? "?"}${t.truncated ? ", of those read" : ""})` : "tasks submitted through this gateway"
  let dead
  if (s.deadLetters === null) dead = OPERATOR_ONLY("The dead-letter queue")
  else if (s.deadLetters.length === 0) dead = el("p", { class: "muted" }, "No dead letter.")
  else
    dead = table(
      ["task", "capability", "reason", "attempts", "last error", ""],
      s.deadLetters.map((d) =>
        row(
          [d.id, d.capability, d.reason, d.attempts, d.lastError, d.reason === "malformed_payload" ? el("span", { class: "muted" }, "cannot resubmit") : el("button", { type: "button", "data-resubmit": d.id, onclick: (e) => resubmit(d.id, e.target) }, "resubmit")],
          { "data-dead-letter": d.id },
          [3],
        ),
      ),
      [3],
    )
  fill("tasks-panel", el("h3", { "data-tasks-scope": t.scope }, heading), tasks, el("h3", {}, "dead letters"), dead)
}

export function costsPanel(s) {
  if (s.costs === null) return fill("costs-panel", OPERATOR_ONLY("Cost accounting"))
  const { model, types } = s.costs
  const total = types.reduce((a, t) => a + t.perHour, 0)
  fill(
    "costs-panel",
    el("p", { class: "muted" }, `At $${model.activePerHour}/h per active agent and $${model.sleepingPerHour}/h per sleeping one: $${fixed(total, 3)}/h for tenant ${s.tenant} now.`),
    table(
      ["type", "active", "sleeping", "$/h now", "model calls", "tokens in/out", "model $"],
      types.map((t) => row([t.type, t.active, t.sleeping, fixed(t.perHour, 3), t.spend.calls, `${t.spend.inputTokens}/${t.spend.outputTokens}`, fixed(t.spend.usd, 4)], { "data-cost": t.type }, [1, 2, 3, 4, 6])),
      [1, 2, 3, 4, 6],
    ),
  )
}

export function supervisorPanel(s) {
  if (s.supervisor.length === 0) return fill("supervisor-panel", el("p", { class: "muted" }, "No supervisor decision since the gateway started listening for this tenant."))
  fill(
    "supervisor-panel",
    el(
      "ul",
      { class: "events" },
      s.supervisor.map((e) => el("li", { "data-supervisor": e.subject }, `${e.at ?? ""} ${e.subject.split(".").slice(3).join("/")}: ${e.directive} (${e.reason ?? ""}; restarts ${e.restarts ?? 0}, node ${e.node ?? "?"})`)),
    ),
  )
}

export function approvalsPanel(s, decide) {
  if (s.approvals === null) return fill("approvals-panel", OPERATOR_ONLY("The approval queue"))
  if (!Array.isArray(s.approvals)) return fill("approvals-panel", el("p", { class: "error" }, `approvals: ${s.approvals.error}`))
  if (s.approvals.length === 0) return fill("approvals-panel", el("p", { class: "muted" }, `No approval request in tenant ${s.tenant}.`))
  fill(
    "approvals-panel",
    table(
      ["request", "severity", "requester", "action", "why", "deadline", "status", ""],
      s.approvals.map((a) =>
        row(
          [
            a.id,
            a.severity,
            a.requester,
            `${a.action.kind} ${a.action.name}`,
            a.why.join("; "),
            a.status === "pending" ? `${a.deadline} (then ${a.safeDefault})` : "",
            a.status === "pending" ? "pending" : `${a.status} by ${a.decidedBy ?? "?"}${a.timedOut ? " (deadline)" : ""}`,
            a.status === "pending"
              ? el("span", {}, el("button", { type: "button", "data-approve": a.id, onclick: (e) => decide(a.id, "approve", e.target) }, "approve"), " ", el("button", { type: "button", "data-reject": a.id, onclick: (e) => decide(a.id, "reject", e.target) }, "reject"))
              : "",
          ],
          { "data-approval": a.id, "data-status": a.status },
        ),
      ),
    ),
  )
}
