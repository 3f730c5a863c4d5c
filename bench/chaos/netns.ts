/**
 * Separate hosts on one machine, for the partition suite and `ants chaos`: each host is a Linux
 * network namespace with one interface (`eth0`, 10.213.0.<n>/24) whose veth peer sits on a
 * bridge inside a switch namespace of its own. Nothing is added to the namespace the caller runs
 * in: the address range exists only inside the namespaces made here, so no traffic can leave
 * them. The caller talks to what runs inside only through the stdio of processes it starts
 * there (`spawn`).
 *
 * Faults, each undone by `heal`:
 *   - `isolate(h)`: the switch port of `h` goes down (`ip link set <port> down`): `h` reaches
 *     nobody.
 *   - `cut(a, b)`: packets between two hosts are dropped silently in both directions (a `u32`
 *     filter on each side's interface sends them to a class whose queue holds nothing), as a
 *     broken link between two machines would; everyone else still reaches both.
 *   - `degrade(h, {lossPct, delayMs})`: random loss in both directions of `h`'s link (a classic
 *     BPF filter reading the kernel's random number), and delay with `netem` where the kernel has
 *     it (`netemAvailable()`; many VM kernels lack sch_netem, and then only loss is applied).
 *
 * Names are `antsnet-<pid>-<seq>-<host>`, unique per test process. Everything is removed by
 * `stop()`, on process exit, and at the start of the next run (namespaces whose owning pid is
 * gone), so a killed run leaves nothing behind for long. Processes started in a namespace run
 * under the same watchdog as the test nats-servers (runtime/nats-server-watchdog.mjs): they die
 * with the test process even after a kill -9.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process"
import { existsSync } from "node:fs"
import { createInterface } from "node:readline"

const PREFIX = "antsnet-"
const WATCHDOG = new URL("../../runtime/server/nats-server-watchdog.mjs", import.meta.url).pathname
const SUBNET = "10.213.0"

export class NetnsError extends Error {
  readonly _tag = "NetnsError"
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = "NetnsError"
  }
}

function ip(args: string[]): string {
  return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
}

function tc(args: string[]): string {
  return execFileSync("tc", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
}

function quiet(f: () => unknown): void {
  try {
    f()
  } catch {
    // already gone
  }
}

let support: { ok: true } | { ok: false; reason: string } | undefined

/**
 * Whether this process can build hosts: root, `ip` and `tc` from iproute2, network namespaces,
 * veth, a bridge and the htb/u32 queueing used for cuts. The reason says what is missing.
 */
export function netnsSupport(): { ok: true } | { ok: false; reason: string } {
  if (support) return support
  const no = (reason: string) => (support = { ok: false, reason })
  if (process.platform !== "linux") return no(`network namespaces need Linux (this is ${process.platform})`)
  if (process.getuid?.() !== 0) return no("creating network namespaces needs root (run as root, e.g. with sudo; CI runs the partition suite as root)")
  for (const bin of ["ip", "tc"]) {
    try {
      execFileSync(bin, ["-V"], { stdio: "ignore" })
    } catch {
      return no(`\`${bin}\` (iproute2) is not installed: apt-get install -y iproute2`)
    }
  }
  cleanupStale()
  const probe = `${PREFIX}${process.pid}-probe`
  try {
    ip(["netns", "add", probe])
    ip(["-n", probe, "link", "add", "br0", "type", "bridge"])
    ip(["-n", probe, "link", "add", "v0", "type", "veth", "peer", "name", "v1"])
    ip(["-n", probe, "link", "set", "v0", "up"])
    shapeInterface(probe, "v0")
    support = { ok: true }
  } catch (e) {
    no(`cannot build namespaces, veth pairs, a bridge or htb/u32 queueing here: ${String((e as { stderr?: unknown }).stderr ?? (e as Error).message).trim()}`)
  } finally {
    quiet(() => ip(["netns", "del", probe]))
  }
  return support!
}

let netem: boolean | undefined
/** Whether the kernel has sch_netem (delay). Loss works without it. */
export function netemAvailable(): boolean {
  if (netem !== undefined) return netem
  const probe = `${PREFIX}${process.pid}-netem`
  try {
    ip(["netns", "add", probe])
    ip(["-n", probe, "link", "add", "v0", "type", "veth", "peer", "name", "v1"])
    tc(["-n", probe, "qdisc", "add", "dev", "v0", "root", "netem", "delay", "1ms"])
    netem = true
  } catch {
    netem = false
  } finally {
    quiet(() => ip(["netns", "del", probe]))
  }
  return netem
}

/** Kills what runs in a namespace and removes it. */
function removeNamespace(ns: string): void {
  let pids: number[] = []
  try {
    pids = ip(["netns", "pids", ns]).split(/\s+/).filter(Boolean).map(Number)
  } catch {
    // gone
  }
  for (const pid of pids) quiet(() => process.kill(pid, "SIGKILL"))
  quiet(() => ip(["netns", "del", ns]))
}

/** Removes namespaces left by earlier runs whose process is gone (a killed test run). */
export function cleanupStale(): void {
  let names: string[] = []
  try {
    names = ip(["netns", "list"]).split("\n").map((l) => l.split(" ")[0]).filter((n) => n.startsWith(PREFIX))
  } catch {
    return
  }
  for (const ns of names) {
    const pid = Number(ns.slice(PREFIX.length).split("-")[0])
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !existsSync(`/proc/${pid}`)) removeNamespace(ns)
  }
}

/** An htb root whose class 1:10 passes everything and class 1:20 drops everything (a queue of 0). */
function shapeInterface(ns: string, dev: string): void {
  tc(["-n", ns, "qdisc", "add", "dev", dev, "root", "handle", "1:", "htb", "default", "10", "r2q", "100000"])
  tc(["-n", ns, "class", "add", "dev", dev, "parent", "1:", "classid", "1:10", "htb", "rate", "10gbit"])
  tc(["-n", ns, "class", "add", "dev", dev, "parent", "1:", "classid", "1:20", "htb", "rate", "10gbit"])
  tc(["-n", ns, "qdisc", "add", "dev", dev, "parent", "1:20", "handle", "20:", "pfifo", "limit", "0"])
}

/** Classic BPF: class 1:20 (dropped) when the kernel's random number falls in the top `pct` percent. */
function lossBytecode(pct: number): string {
  const threshold = Math.floor((1 - pct / 100) * 0xffffffff)
  // ld rand (SKF_AD_OFF + SKF_AD_RANDOM); jgt threshold; ret 1:20; ret 0 (default class)
  return `4,32 0 0 4294963256,37 0 1 ${threshold},6 0 0 ${0x10020},6 0 0 0`
}

export interface Host {
  readonly name: string
  readonly ns: string
  readonly ip: string
  /** The host's port on the switch. */
  readonly port: string
}

export interface Proc {
  readonly host: Host
  readonly child: ChildProcess
  /** Lines the process printed on stdout so far. */
  readonly lines: string[]
  /** Resolves with the first line (stdout or stderr) that satisfies `match`. */
  line(match: (l: string) => boolean, timeoutMs?: number): Promise<string>
  /** The last 200,000 characters of stderr. */
  stderr(): string
  /** Sends a signal to the process (through its watchdog, which passes SIGTERM on). */
  kill(signal?: NodeJS.Signals): void
  readonly exited: Promise<number | null>
}

interface Faults {
  cuts: Set<string>
  lossPct: number
  delayMs: number
  down: boolean
}

let seq = 0
const liveNets = new Set<Testnet>()
let exitHooked = false

export class Testnet {
  readonly prefix: string
  readonly hosts = new Map<string, Host>()
  private readonly switchNs: string
  private readonly faults = new Map<string, Faults>()
  private readonly procs = new Set<Proc>()
  private stopped = false

  constructor() {
    const s = netnsSupport()
    if (!s.ok) throw new NetnsError(s.reason)
    this.prefix = `${PREFIX}${process.pid}-${++seq}`
    this.switchNs = `${this.prefix}-sw`
    if (!exitHooked) {
      exitHooked = true
      process.once("exit", () => {
        for (const n of liveNets) n.stopSync()
      })
    }
    liveNets.add(this)
    ip(["netns", "add", this.switchNs])
    ip(["-n", this.switchNs, "link", "add", "br0", "type", "bridge"])
    ip(["-n", this.switchNs, "link", "set", "br0", "up"])
  }

  /** Adds a host (namespace) on the switch; its address is 10.213.0.<n>, n counted from 1. */
  addHost(name: string): Host {
    if (!/^[a-z0-9]{1,8}$/.test(name)) throw new NetnsError(`host name "${name}" must be 1-8 lower-case letters or digits`)
    if (this.hosts.has(name)) throw new NetnsError(`host ${name} exists`)
    const n = this.hosts.size + 1
    const h: Host = { name, ns: `${this.prefix}-${name}`, ip: `${SUBNET}.${n}`, port: `p${n}` }
    ip(["netns", "add", h.ns])
    ip(["-n", this.switchNs, "link", "add", h.port, "type", "veth", "peer", "name", "eth0", "netns", h.ns])
    ip(["-n", this.switchNs, "link", "set", h.port, "master", "br0", "up"])
    ip(["-n", h.ns, "link", "set", "lo", "up"])
    ip(["-n", h.ns, "addr", "add", `${h.ip}/24`, "dev", "eth0"])
    ip(["-n", h.ns, "link", "set", "eth0", "up"])
    shapeInterface(h.ns, "eth0")
    shapeInterface(this.switchNs, h.port)
    this.hosts.set(name, h)
    this.faults.set(name, { cuts: new Set(), lossPct: 0, delayMs: 0, down: false })
    return h
  }

  host(name: string): Host {
    const h = this.hosts.get(name)
    if (!h) throw new NetnsError(`no host ${name}`)
    return h
  }

  /** Drops everything between `a` and `b`, both ways. */
  cut(a: string, b: string): void {
    this.split([a], [b])
  }

  /** Cuts every pair with one host in `side` and the other in `other`, all at once. */
  split(side: string[], other: string[]): void {
    const touched = new Set<string>()
    for (const a of side) {
      for (const b of other) {
        this.faults.get(this.host(a).name)!.cuts.add(b)
        this.faults.get(this.host(b).name)!.cuts.add(a)
        touched.add(a).add(b)
      }
    }
    for (const h of touched) this.apply(h, "host")
  }

  /** Takes `h`'s switch port down: it reaches nobody. */
  isolate(h: string): void {
    this.faults.get(this.host(h).name)!.down = true
    ip(["-n", this.switchNs, "link", "set", this.host(h).port, "down"])
  }

  /** Random loss (and delay, where netem exists) on `h`'s link, both directions. */
  degrade(h: string, o: { lossPct?: number; delayMs?: number }): void {
    if (o.delayMs && !netemAvailable()) throw new NetnsError("this kernel has no sch_netem: delay cannot be applied (loss can)")
    const f = this.faults.get(this.host(h).name)!
    f.lossPct = o.lossPct ?? 0
    f.delayMs = o.delayMs ?? 0
    this.apply(h, "both")
  }

  /** Undoes every fault touching `h` (or every fault of the net without an argument). */
  heal(h?: string): void {
    const names = h === undefined ? [...this.hosts.keys()] : [this.host(h).name]
    const touched = new Set<string>()
    for (const name of names) {
      const f = this.faults.get(name)!
      for (const peer of f.cuts) {
        this.faults.get(peer)!.cuts.delete(name)
        touched.add(peer)
      }
      f.cuts.clear()
      f.lossPct = 0
      f.delayMs = 0
      if (f.down) {
        f.down = false
        ip(["-n", this.switchNs, "link", "set", this.host(name).port, "up"])
      }
      touched.add(name)
    }
    for (const name of touched) this.apply(name, "both")
  }

  /**
   * Rewrites the filters of `h`'s interface (cuts are dropped on each side's way out, so the
   * host side is enough) and, for `both`, of its switch port (loss and delay towards it), each
   * in one `tc -batch` so a fault starts at once.
   */
  private apply(name: string, where: "host" | "both"): void {
    const h = this.host(name)
    const f = this.faults.get(name)!
    const sides: Array<[string, string]> = [[h.ns, "eth0"]]
    if (where === "both") sides.push([this.switchNs, h.port])
    for (const [ns, dev] of sides) {
      const cmds: string[] = [`filter del dev ${dev} parent 1:`]
      if (ns === h.ns) for (const peer of f.cuts) cmds.push(`filter add dev ${dev} parent 1: protocol ip prio 1 u32 match ip dst ${this.host(peer).ip}/32 flowid 1:20`)
      if (f.lossPct > 0) cmds.push(`filter add dev ${dev} parent 1: protocol ip prio 2 bpf bytecode "${lossBytecode(f.lossPct)}" flowid 1:20`)
      if (netemAvailable()) {
        if (f.delayMs > 0) cmds.push(`qdisc replace dev ${dev} parent 1:10 handle 10: netem delay ${f.delayMs}ms`)
        else cmds.push(`qdisc del dev ${dev} parent 1:10 handle 10:`)
      }
      // -force: go on past a delete of something absent
      execFileSync("tc", ["-n", ns, "-force", "-batch", "-"], { input: cmds.join("\n") + "\n", stdio: ["pipe", "ignore", "ignore"] })
    }
  }

  /** How many established TCP connections host `h` has to `port`, by peer address (`ss`, from iproute2). */
  connectionsTo(h: string, port: number): Map<string, number> {
    const out = execFileSync("ip", ["netns", "exec", this.host(h).ns, "ss", "-Htn", "state", "established", "dst", `:${port}`], { encoding: "utf8" })
    const ips = new Map<string, number>()
    for (const line of out.split("\n")) {
      const peer = line.trim().split(/\s+/).at(-1)
      const ip = peer?.slice(0, peer.lastIndexOf(":"))
      if (ip) ips.set(ip, (ips.get(ip) ?? 0) + 1)
    }
    return ips
  }

  /**
   * Starts `command args` inside host `h`, under the watchdog (it dies with this process).
   * stdout is read line by line; stderr is kept (its tail) for failure messages.
   */
  spawn(h: string, command: string, args: string[], o: { env?: NodeJS.ProcessEnv; echo?: boolean; cwd?: string } = {}): Proc {
    const host = this.host(h)
    const plan = { bin: "ip", args: ["netns", "exec", host.ns, command, ...args], parentPid: process.pid, cleanup: [], graceMs: 5_000 }
    const child = spawn(process.execPath, [WATCHDOG, JSON.stringify(plan)], { stdio: ["pipe", "pipe", "pipe"], env: o.env ?? process.env, ...(o.cwd ? { cwd: o.cwd } : {}) })
    const lines: string[] = []
    const waiters: Array<{ match: (l: string) => boolean; resolve: (l: string) => void }> = []
    let err = ""
    child.stderr!.on("data", (b: Buffer) => {
      if (o.echo) process.stderr.write(b)
      err = (err + b.toString()).slice(-200_000)
    })
    const errLines: string[] = []
    const offer = (l: string) => {
      for (const w of [...waiters]) {
        if (w.match(l)) {
          waiters.splice(waiters.indexOf(w), 1)
          w.resolve(l)
        }
      }
    }
    createInterface({ input: child.stdout! }).on("line", (l) => {
      lines.push(l)
      offer(l)
    })
    createInterface({ input: child.stderr! }).on("line", (l) => {
      if (errLines.length < 2_000) errLines.push(l)
      offer(l)
    })
    const exited = new Promise<number | null>((r) => child.once("exit", (c) => r(c)))
    const proc: Proc = {
      host,
      child,
      lines,
      stderr: () => err,
      exited,
      kill: (signal = "SIGTERM") => quiet(() => child.kill(signal)),
      line: (match, timeoutMs = 60_000) => {
        const seen = lines.find(match) ?? errLines.find(match)
        if (seen !== undefined) return Promise.resolve(seen)
        return new Promise((resolve, reject) => {
          const t = setTimeout(() => reject(new NetnsError(`no matching line from ${command} on ${h} within ${timeoutMs} ms; stderr:\n${err.slice(-4000)}`)), timeoutMs)
          const w = {
            match,
            resolve: (l: string) => {
              clearTimeout(t)
              resolve(l)
            },
          }
          waiters.push(w)
          void exited.then((c) => {
            if (!waiters.includes(w)) return
            clearTimeout(t)
            reject(new NetnsError(`${command} on ${h} exited (${c}) before printing the line awaited; stderr:\n${err.slice(-4000)}`))
          })
        })
      },
    }
    this.procs.add(proc)
    void exited.then(() => this.procs.delete(proc))
    return proc
  }

  /** Stops every process started here (SIGTERM, then what is left in the namespaces is killed) and removes the namespaces. */
  async stop(): Promise<void> {
    if (this.stopped) return
    const waiting = [...this.procs].map((p) => {
      p.kill("SIGTERM")
      return Promise.race([p.exited, new Promise((r) => setTimeout(r, 7_000))])
    })
    await Promise.all(waiting)
    this.stopSync()
  }

  /** Removes everything at once (used on exit). */
  stopSync(): void {
    if (this.stopped) return
    this.stopped = true
    liveNets.delete(this)
    for (const p of this.procs) p.kill("SIGKILL")
    for (const h of this.hosts.values()) removeNamespace(h.ns)
    removeNamespace(this.switchNs)
  }
}

/** Whether `ip netns` still lists a namespace of this net (for the clean-up test). */
export function namespacesOf(prefix: string): string[] {
  if (!existsSync("/var/run/netns") && !existsSync("/run/netns")) return []
  try {
    return ip(["netns", "list"]).split("\n").map((l) => l.split(" ")[0]).filter((n) => n.startsWith(prefix))
  } catch {
    return []
  }
}
