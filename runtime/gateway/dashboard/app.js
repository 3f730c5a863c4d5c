// The dashboard's shell: signing in with a bearer token (kept in sessionStorage, this tab only),
// reading snapshots of one tenant from the gateway, and staying live on its event stream
// (fetch-streamed Server-Sent Events, since EventSource cannot send an Authorization header).
import { actorsPanel, approvalsPanel, costsPanel, nodesPanel, pheromonesPanel, supervisorPanel, tasksPanel } from "./panels.js"

const $ = (id) => document.getElementById(id)
const state = { token: sessionStorage.getItem("antsToken"), tenant: sessionStorage.getItem("antsTenant") ?? "", live: undefined, timer: undefined, pending: undefined }

async function api(method, path) {
  const sep = path.includes("?") ? "&" : "?"
  const url = state.tenant ? `${path}${sep}tenant=${encodeURIComponent(state.tenant)}` : path
  const r = await fetch(url, { method, headers: { authorization: `Bearer ${state.token}` } })
  const body = await r.json()
  if (r.status === 401) signOut("the gateway does not know this token")
  if (!body.ok) throw new Error(`${body.error.code}: ${body.error.message}`)
  return body.value
}

async function refresh() {
  state.pending = undefined
  try {
    const s = await api("GET", "/v1/dashboard")
    $("error").textContent = ""
    $("who").textContent = `${s.caller.name} (${s.caller.operator ? "operator" : "tenant"}) · tenant ${s.tenant}`
    $("tenant-form").hidden = !s.caller.operator
    if (s.caller.operator && document.activeElement !== $("tenant")) $("tenant").value = s.tenant
    nodesPanel(s)
    actorsPanel(s)
    pheromonesPanel(s)
    approvalsPanel(s, decide)
    tasksPanel(s, resubmit)
    costsPanel(s)
    supervisorPanel(s)
    $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`
    document.body.dataset.loaded = s.at
  } catch (e) {
    $("error").textContent = e.message
  }
}

/** Coalesces a burst of events into one refresh. */
function soon() {
  state.pending ??= setTimeout(refresh, 250)
}

async function resubmit(id, button) {
  button.disabled = true
  try {
    await api("POST", `/v1/dead-letters/${encodeURIComponent(id)}/resubmit`)
    button.textContent = "resubmitted"
  } catch (e) {
    button.disabled = false
    $("error").textContent = e.message
  }
  soon()
}

async function decide(id, decision, button) {
  button.disabled = true
  try {
    await api("POST", `/v1/approvals/${encodeURIComponent(id)}/${decision}`)
  } catch (e) {
    button.disabled = false
    $("error").textContent = e.message
  }
  soon()
}

async function follow() {
  state.live?.abort()
  const live = new AbortController()
  state.live = live
  const query = state.tenant ? `?tenant=${encodeURIComponent(state.tenant)}` : ""
  try {
    const r = await fetch(`/v1/dashboard/events${query}`, { headers: { authorization: `Bearer ${state.token}` }, signal: live.signal })
    if (!r.ok || !r.body) throw new Error(`events: ${r.status}`)
    $("live").textContent = "live"
    $("live").className = "on"
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader()
    let buffer = ""
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      buffer += value
      let cut
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut)
        buffer = buffer.slice(cut + 2)
        if (/^event: /m.test(block)) soon()
      }
    }
  } catch (e) {
    if (live.signal.aborted) return
  }
  if (state.live !== live) return
  $("live").textContent = "not live (reconnecting)"
  $("live").className = "off"
  setTimeout(() => state.live === live && state.token && follow(), 2000)
}

function signIn(token) {
  state.token = token
  sessionStorage.setItem("antsToken", token)
  $("sign-in").hidden = true
  $("panels").hidden = false
  $("sign-out").hidden = false
  void refresh()
  void follow()
  clearInterval(state.timer)
  // strengths decay between events: redraw now and then even when nothing happens
  state.timer = setInterval(refresh, 5000)
}

function signOut(why) {
  state.live?.abort()
  state.live = undefined
  clearInterval(state.timer)
  state.token = null
  sessionStorage.removeItem("antsToken")
  $("panels").hidden = true
  $("sign-out").hidden = true
  $("sign-in").hidden = false
  $("sign-in-error").textContent = why ?? ""
}

$("sign-in-form").addEventListener("submit", (e) => {
  e.preventDefault()
  const token = $("token").value.trim()
  if (token) signIn(token)
})
$("sign-out").addEventListener("click", () => signOut())
$("tenant-form").addEventListener("submit", (e) => {
  e.preventDefault()
  state.tenant = $("tenant").value.trim()
  sessionStorage.setItem("antsTenant", state.tenant)
  void refresh()
  void follow()
})

if (state.token) signIn(state.token)
