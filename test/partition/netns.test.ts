/**
 * The host fixture itself (bench/chaos/netns.ts): hosts reach each other over the bridge, a
 * cut stops traffic between two hosts only, isolation stops all of a host's traffic, heal
 * undoes both, loss drops some packets, and nothing is left behind. Needs root and iproute2.
 */
import { afterEach, describe, expect, it } from "vitest"
import { namespacesOf, netnsSupport, Testnet } from "../../bench/chaos/netns.ts"

const support = netnsSupport()
if (!support.ok) console.warn(`partition suite skipped: ${support.reason}`)

let net: Testnet | undefined
afterEach(async () => {
  await net?.stop()
  net = undefined
})

/** A TCP connect from `from` to the echo server on b: "ok" or "no" (within 700 ms). */
/**
 * Whether host `from` connects to b's port 7000 within `waitMs`. A check that expects a link to
 * work waits longer: just after a heal, the first SYN may be lost and is sent again after 1 s.
 */
async function reaches(n: Testnet, from: string, waitMs = 700): Promise<boolean> {
  const script = `const s=require("net").connect(7000,"${n.host("b").ip}");s.on("connect",()=>{console.log("ok");process.exit(0)});s.on("error",()=>{});setTimeout(()=>{console.log("no");process.exit(0)},${waitMs})`
  const p = n.spawn(from, process.execPath, ["-e", script])
  return (await p.line((l) => l === "ok" || l === "no")) === "ok"
}

describe.skipIf(!support.ok)("netns fixture", () => {
  it("netns - cut, isolate and heal links between hosts; nothing is left behind", async () => {
    net = new Testnet()
    for (const h of ["a", "b", "c"]) net.addHost(h)
    const server = `require("net").createServer((s)=>s.pipe(s)).listen(7000,"${net.host("b").ip}",()=>console.log("up"))`
    await net.spawn("b", process.execPath, ["-e", server]).line((l) => l === "up")
    expect(await reaches(net, "a", 3_000)).toBe(true)
    net.cut("a", "b")
    expect(await reaches(net, "a")).toBe(false)
    expect(await reaches(net, "c", 3_000)).toBe(true)
    net.heal()
    expect(await reaches(net, "a", 3_000)).toBe(true)
    net.isolate("c")
    expect(await reaches(net, "c")).toBe(false)
    expect(await reaches(net, "a", 3_000)).toBe(true)
    net.heal("c")
    expect(await reaches(net, "c", 3_000)).toBe(true)
    const prefix = net.prefix
    expect(namespacesOf(prefix).length).toBe(4)
    await net.stop()
    net = undefined
    expect(namespacesOf(prefix)).toEqual([])
  })

  it("netns - loss on a host's link drops some of its packets", async () => {
    net = new Testnet()
    for (const h of ["a", "b"]) net.addHost(h)
    // an echo over UDP-like request/answer: 200 small writes, count what comes back in time
    const server = `require("dgram").createSocket("udp4").on("message",function(m,r){this.send(m,r.port,r.address)}).bind(7001,"${net.host("b").ip}",()=>console.log("up"))`
    await net.spawn("b", process.execPath, ["-e", server]).line((l) => l === "up")
    net.degrade("a", { lossPct: 30 })
    const client = `const s=require("dgram").createSocket("udp4");let got=0;s.on("message",()=>got++);let i=0;const t=setInterval(()=>{s.send("x",7001,"${net.host("b").ip}");if(++i===200){clearInterval(t);setTimeout(()=>{console.log("got "+got);process.exit(0)},300)}},2)`
    const line = await net.spawn("a", process.execPath, ["-e", client]).line((l) => l.startsWith("got "))
    const got = Number(line.slice(4))
    // each round trip crosses the lossy link twice: about half come back; none lost would be 200
    expect(got).toBeGreaterThan(20)
    expect(got).toBeLessThan(190)
    net.heal()
    const again = await net.spawn("a", process.execPath, ["-e", client]).line((l) => l.startsWith("got "))
    expect(Number(again.slice(4))).toBeGreaterThan(190)
  })
})
