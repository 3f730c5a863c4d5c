/**
 * The dashboard in a real headless Chromium (Debian's `/usr/bin/chromium`, driven by
 * puppeteer-core; no browser is downloaded): the page signs in with a token, loads with no
 * console error, shows what the test put into the swarm (an actor it activated, a pheromone it
 * deposited, tasks submitted straight to NATS rather than through the gateway, a dead letter it
 * caused, a supervisor decision it provoked), stays live, and a dead letter resubmitted from the
 * page runs again. A tenant's token sees its own tenant and no operator panel.
 */
import { existsSync } from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import puppeteer, { type Browser, type Page } from "puppeteer-core"
import { connect } from "@nats-io/transport-node"
import { createPheromones } from "../../runtime/stigmergy/pheromones.ts"
import { submitTask } from "../../runtime/tasks/submit.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { FAILING, gatewaySwarm, type GatewaySwarm } from "./fixture.ts"

const CHROMIUM = process.env.ANTS_CHROMIUM ?? "/usr/bin/chromium"
const haveChromium = existsSync(CHROMIUM)
if (!haveChromium) console.warn(`dashboard tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set ANTS_CHROMIUM)`)

let s: GatewaySwarm
let browser: Browser
beforeAll(async () => {
  if (!haveChromium) return
  s = await gatewaySwarm()
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] })
}, 90_000)
afterAll(async () => {
  await browser?.close()
  await s?.stop()
})

/** A page signed in with `token`, recording every console error and page error. */
/**
 * Clicks a button of a live panel. The panels are redrawn as events arrive, so the element
 * puppeteer found can be replaced before its click lands ("Node is detached from document"):
 * the button is found and clicked in one step inside the page instead.
 */
async function clickLive(page: Page, selector: string): Promise<void> {
  await page.waitForSelector(selector, { timeout: 60_000 })
  await page.$eval(selector, (e) => (e as any).click())
}

async function signedIn(token: string, tenant?: string): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.createBrowserContext()
  const page = await context.newPage()
  const errors: string[] = []
  page.on("console", (m) => m.type() === "error" && errors.push(`console: ${m.text()}`))
  page.on("pageerror", (e) => errors.push(`page: ${(e as Error).message}`))
  page.on("requestfailed", (r) => !r.url().includes("/v1/dashboard/events") && errors.push(`request failed: ${r.url()}`))
  await page.goto(`${s.listener.url}/dashboard`, { waitUntil: "load" })
  await page.type("#token", token)
  await page.click("#sign-in-form button[type=submit]")
  await page.waitForFunction(() => (globalThis as any).document.body.dataset.loaded !== undefined, { timeout: 60_000 })
  if (tenant !== undefined) {
    await page.$eval("#tenant", (e) => ((e as any).value = ""))
    await page.type("#tenant", tenant)
    await page.click("#tenant-form button[type=submit]")
    await page.waitForFunction((t) => (globalThis as any).document.querySelector("#who")?.textContent?.endsWith(`tenant ${t}`), { timeout: 60_000 }, tenant)
  }
  return { page, errors }
}

const text = (page: Page, selector: string) => page.$eval(selector, (e) => e.textContent ?? "")

describe.skipIf(!haveChromium)("gateway dashboard", () => {
  it("dashboard - shows the actors, pheromones, dead letters and supervisor events the test caused; a resubmission and an approval made in the page take effect", async () => {
    const { page, errors } = await signedIn(s.tokens.operator, "acme")
    expect(await page.$eval("#live", (e) => e.textContent)).toBe("live")

    // an actor, a pheromone, a supervisor decision and a dead letter, all in tenant acme
    expect((await s.call(s.tokens.acme, "POST", "/v1/agents/counter/dash-1/Add", { n: 3 })).status).toBe(200)
    const acme = await connect({ servers: s.server.url, ...s.auth.as("acme") })
    const trail = await createPheromones(acme, { tenant: "acme", emitter: "dashboard-test" }).deposit({ type: "danger", location: "integrations.crm", strength: 0.9, ttlMs: 600_000 })
    expect((await s.call(s.tokens.acme, "POST", "/v1/agents/counter/dash-2/Fail", { reason: "for the dashboard" })).status).toBe(500)
    // the tasks go straight to NATS as acme, not through the gateway: the page reads them from the tenant's task records
    FAILING.add("dash-dl")
    await submitTask(acme, { capability: "gw.work", payload: { failWhile: "dash-dl", n: 2 }, idempotencyKey: "dash-dl" }, { tenant: "acme" })
    await submitTask(acme, { capability: "gw.work", payload: { n: 1 }, idempotencyKey: "dash-direct" }, { tenant: "acme" })
    await acme.close()

    // the page shows them (live events refresh it; the 5 s redraw is the fallback)
    await page.waitForSelector(`[data-node="${s.node.id}"]`, { timeout: 60_000 })
    await page.waitForSelector('[data-actor="counter/dash-1"]', { timeout: 60_000 })
    await page.waitForSelector(`[data-pheromone="${trail.key}"]`, { timeout: 60_000 })
    await page.waitForSelector('[data-dead-letter="dash-dl"]', { timeout: 60_000 })
    await page.waitForSelector('[data-task="dash-direct"][data-state="completed"]', { timeout: 60_000 })
    await page.waitForSelector('[data-task="dash-dl"][data-state="dead_lettered"]', { timeout: 60_000 })
    expect(await page.$eval("[data-tasks-scope]", (e) => (e as any).dataset.tasksScope)).toBe("tenant")
    await page.waitForSelector('[data-supervisor$=".counter.dash-2"]', { timeout: 60_000 })
    expect(await text(page, '[data-actor="counter/dash-1"]')).toMatch(/counter\/dash-1\s*(active|idle)/)
    expect(await text(page, `[data-trail="${trail.key}"]`)).toContain("integrations.crm")
    expect(await text(page, '[data-dead-letter="dash-dl"]')).toContain("failing while dash-dl is set")
    expect(await text(page, '[data-supervisor$=".counter.dash-2"]')).toContain("for the dashboard")
    expect(Number(await page.$eval(".strip", (e) => (e as any).dataset.partitions))).toBe(64)
    expect(await text(page, '[data-cost="counter"]')).toMatch(/^counter/)

    // resubmitted from the page, the task runs again and now completes
    FAILING.delete("dash-dl")
    await clickLive(page, '[data-resubmit="dash-dl"]')
    await waitUntil(async () => ((await (await s.call(s.tokens.acme, "GET", "/v1/tasks/dash-dl")).json()) as any).value?.state === "completed", { timeoutMs: 60_000, message: "the resubmitted task completed" })
    await page.waitForSelector('[data-dead-letter="dash-dl"]', { hidden: true, timeout: 60_000 })
    await page.waitForSelector('[data-task="dash-dl"][data-state="completed"]', { timeout: 60_000 })
    // an approval request of acme, approved in the page: the queue records the operator's decision
    const filed = await s.node.governance!.approvals.request({
      id: "dash-approval",
      tenant: "acme",
      requester: "assistant/a9",
      action: { kind: "tool", name: "transfer", arguments: { amount: 500 }, impact: "high" },
      why: ["the action is high-impact"],
      context: "the dashboard test asks",
      severity: "high",
      mode: "human_approval",
      safeDefault: "reject",
      timeoutMs: 600_000,
    })
    expect(filed.record.status).toBe("pending")
    await page.waitForSelector('[data-approval="dash-approval"][data-status="pending"]', { timeout: 60_000 })
    await clickLive(page, '[data-approve="dash-approval"]')
    await page.waitForSelector('[data-approval="dash-approval"][data-status="approved"]', { timeout: 60_000 })
    const decided = await s.node.governance!.approvals.get("acme", "dash-approval")
    expect(decided).toMatchObject({ status: "approved", decidedBy: "ops" })
    expect(errors).toEqual([])
    await page.browserContext().close()
  }, 300_000)

  it("dashboard - a tenant's token sees its own tenant only, without the operator's panels", async () => {
    const { page, errors } = await signedIn(s.tokens.globex)
    expect(await text(page, "#who")).toContain("tenant globex")
    expect(await page.$eval("#tenant-form", (e) => (e as any).hidden)).toBe(true)
    expect(await text(page, "#nodes-panel .body")).toContain("needs an operator token")
    expect(await text(page, "#tasks-panel .body")).toContain("needs an operator token")
    expect(await page.$eval("[data-tasks-scope]", (e) => (e as any).dataset.tasksScope)).toBe("gateway")
    expect(await page.$('[data-task="dash-direct"]')).toBeNull()
    expect(await text(page, "#approvals-panel .body")).toContain("needs an operator token")
    expect((await s.call(s.tokens.globex, "GET", "/v1/approvals")).status).toBe(403)
    expect(await page.$('[data-actor="counter/dash-1"]')).toBeNull()
    expect(await page.$("[data-pheromone]")).toBeNull()
    expect(errors).toEqual([])
    await page.browserContext().close()
    // and the page refuses an unknown token with the gateway's answer
    const context = await browser.createBrowserContext()
    const bad = await context.newPage()
    await bad.goto(`${s.listener.url}/dashboard`)
    await bad.type("#token", "not-a-token-of-this-gateway-1234")
    await bad.click("#sign-in-form button[type=submit]")
    await bad.waitForFunction(() => ((globalThis as any).document.querySelector("#sign-in-error")?.textContent ?? "") !== "", { timeout: 60_000 })
    expect(await text(bad, "#sign-in-error")).toContain("does not know this token")
    await context.close()
  }, 120_000)
})
