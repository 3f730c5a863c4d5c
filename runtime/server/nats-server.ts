/**
 * Launches real `nats-server` child processes: the CLI's embedded default and
 * every test's broker. A server gets a random client port (read back from its ports file), a
 * temporary JetStream store and, optionally, this project's `nats.conf` mappings and a cluster
 * block. Nothing here speaks the NATS protocol; it only starts, waits for and stops processes.
 *
 * A server runs in its own process group, so a Ctrl-C in the terminal (SIGINT to the whole
 * foreground group) reaches only the node, which drains and then stops its server; a server
 * killed together with the node would make the drain lose the asks in flight. Because the
 * group no longer ties the server's life to ours, each server is started through a small
 * watchdog (nats-server-watchdog.mjs, in that same group) that stops it and removes its
 * temporary store as soon as this process is gone, even after a kill -9 that runs no handler
 * here. Every live server is also stopped when this process exits, and on SIGINT/SIGTERM/SIGHUP
 * when nothing else handles the signal.
 */
import { TaggedError } from "../../subjects/errors.ts"
import { spawn, execFileSync, type ChildProcess } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { randomBytes } from "node:crypto"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { renderRoutesConf } from "../security/auth-init.ts"
import { authorizationBlock, runCredentials } from "../security/run-credentials.ts"

export class NatsServerError extends TaggedError("NatsServerError") {}

/** The project's shipped `nats.conf`: loopback, JetStream, the partition mapping, and `include auth/auth.conf` (every client authenticates). */
export const PROJECT_NATS_CONF = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "nats.conf")
/** The settings every ANTS server shares (JetStream, the partition mapping), without users: the embedded server's and the tests' default. */
export const PROJECT_NATS_BASE_CONF = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "nats-base.conf")

/** The script that keeps each server from outliving this process. */
const WATCHDOG = resolve(dirname(fileURLToPath(import.meta.url)), "nats-server-watchdog.mjs")
/** How long a server gets between SIGTERM and SIGKILL. */
const STOP_GRACE_MS = 5_000

export const INSTALL_HINT =
  "nats-server was not found. Install it (Debian/Ubuntu: `sudo apt-get install -y nats-server`; " +
  "elsewhere: https://docs.nats.io/running-a-nats-service/introduction/installation) " +
  "or point NATS_SERVER_BIN at the binary, or pass --nats <url> to use a server you already run."

/** Finds the nats-server binary: NATS_SERVER_BIN, then PATH, then the Debian location. */
export function findNatsServer(): string {
  const fromEnv = process.env.NATS_SERVER_BIN
  if (fromEnv) {
    if (existsSync(fromEnv)) return fromEnv
    throw new NatsServerError(`NATS_SERVER_BIN=${fromEnv} does not exist. ${INSTALL_HINT}`)
  }
  for (const dir of (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/usr/local/bin", "/usr/bin"])) {
    if (!dir) continue
    const candidate = join(dir, "nats-server")
    if (existsSync(candidate)) return candidate
  }
  throw new NatsServerError(INSTALL_HINT)
}

/** The version the binary reports, e.g. "2.9.10". */
export function natsServerVersion(bin = findNatsServer()): string {
  const out = execFileSync(bin, ["--version"], { encoding: "utf8" })
  const m = /v?(\d+\.\d+\.\d+)/.exec(out)
  return m ? m[1] : out.trim()
}

/** A TCP port that was free a moment ago (for cluster routes, which must be known up front). */
export async function freePort(): Promise<number> {
  return await new Promise((res, rej) => {
    const srv = createServer()
    srv.unref()
    srv.on("error", rej)
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address()
      const port = typeof addr === "object" && addr ? addr.port : 0
      srv.close(() => res(port))
    })
  })
}

export interface NatsServerOptions {
  /** Config file to load (`-c`). Defaults to the project's nats-base.conf (no users); `null` for none. */
  readonly config?: string | null
  /** Client port; 0 (default) picks a random free one. */
  readonly port?: number
  /** JetStream store; a fresh temporary folder by default (removed on stop unless given). */
  readonly storeDir?: string
  /** Server name (required inside a cluster). */
  readonly serverName?: string
  /** Cluster membership: this server's route port and every route (including its own). */
  readonly cluster?: { readonly name: string; readonly port: number; readonly routes: ReadonlyArray<number> }
  /** Extra command-line arguments. */
  readonly args?: ReadonlyArray<string>
  /** How long to wait for the server to accept clients. Default 15 s. */
  readonly startTimeoutMs?: number
  /** With `authenticate`: these credentials instead of fresh ones (a restart keeps its clients' credentials). */
  readonly credentials?: { readonly user: string; readonly password: string }
  /** Print the server's log lines to stderr (for debugging). */
  readonly debug?: boolean
  /**
   * Require a user and password made for this run (the embedded server's default): the handle's
   * `credentials` carry them. The generated configuration stays in the server's private temporary folder.
   */
  readonly authenticate?: boolean
}

export interface NatsServer {
  readonly url: string
  readonly port: number
  readonly pid: number
  readonly storeDir: string
  readonly version: string
  readonly options: NatsServerOptions
  /** The user and password clients need, when started with `authenticate`. */
  readonly credentials?: { readonly user: string; readonly password: string }
  /** Graceful stop (SIGTERM, then SIGKILL after 5 s); removes a temporary store. */
  stop(): Promise<void>
  /** kill -9, keeping the store (for restart and failover tests). */
  kill(): Promise<void>
  /** Starts a new process with the same options and store (the port stays the same). */
  restart(): Promise<NatsServer>
}

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const bin = findNatsServer()
  const version = natsServerVersion(bin)
  const ownStore = options.storeDir === undefined
  const storeDir = options.storeDir ?? mkdtempSync(join(tmpdir(), "ants-nats-"))
  const portsDir = mkdtempSync(join(tmpdir(), "ants-ports-"))
  const config = options.config === undefined ? PROJECT_NATS_BASE_CONF : options.config
  const args: string[] = []
  let clusterConf: string | undefined
  let credentials: NatsServer["credentials"]
  if (options.cluster) {
    // Cluster blocks go in a small generated config that carries the main one's text, because
    // `--routes` on the command line cannot carry the cluster name on 2.9 (and `include` paths
    // are relative to the including file).
    clusterConf = join(portsDir, "cluster.conf")
    const routes = options.cluster.routes.map((p) => `"nats-route://127.0.0.1:${p}"`).join(", ")
    const include = config ? `${readFileSync(config, "utf8")}\n` : ""
    writeFileSync(
      clusterConf,
      `${include}server_name: "${options.serverName ?? `n${options.cluster.port}`}"\n` +
        `cluster {\n  name: "${options.cluster.name}"\n  listen: "127.0.0.1:${options.cluster.port}"\n  routes: [${routes}]\n}\n`,
    )
    args.push("-c", clusterConf)
  } else if (options.authenticate) {
    // the main configuration's text and an authorization block, in the private ports folder
    credentials = options.credentials ?? runCredentials()
    const authConf = join(portsDir, "auth.conf")
    writeFileSync(authConf, `${config ? `${readFileSync(config, "utf8")}\n` : ""}${authorizationBlock(credentials)}`, { mode: 0o600 })
    args.push("-c", authConf)
    if (options.serverName) args.push("-n", options.serverName)
  } else if (config) {
    args.push("-c", config)
    if (options.serverName) args.push("-n", options.serverName)
  }
  const pidFile = join(portsDir, "nats-server.pid")
  args.push("-a", "127.0.0.1", "-p", String(options.port ?? -1), "-js", "-sd", storeDir, "--ports_file_dir", portsDir, "-P", pidFile)
  if (options.args) args.push(...options.args)

  // The watchdog's stdin is a pipe only we hold: the kernel closes it when we die, however.
  const plan = { bin, args, parentPid: process.pid, cleanup: ownStore ? [portsDir, storeDir] : [portsDir], graceMs: STOP_GRACE_MS }
  const child = spawn(process.execPath, [WATCHDOG, JSON.stringify(plan)], { stdio: ["pipe", "pipe", "pipe"], detached: true })
  track(child)
  let log = ""
  const onData = (b: Buffer) => {
    const s = b.toString()
    if (log.length < 64_000) log += s
    if (options.debug) process.stderr.write(s)
  }
  child.stdout?.on("data", onData)
  child.stderr?.on("data", onData)
  let exited: number | null | undefined
  child.on("exit", (code) => (exited = code))

  const deadline = Date.now() + (options.startTimeoutMs ?? 15_000)
  let url: string | undefined
  let pid: number | undefined
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      rmSync(portsDir, { recursive: true, force: true })
      if (ownStore) rmSync(storeDir, { recursive: true, force: true })
      throw new NatsServerError(`nats-server exited with code ${exited} at start-up:\n${log.slice(-4000)}`)
    }
    url ??= readPortsFile(portsDir)
    pid ??= readPidFile(pidFile)
    if (url && pid) break
    await sleep(20)
  }
  if (!url || !pid) {
    child.kill("SIGTERM") // the watchdog stops the server and removes its folders
    throw new NatsServerError(`nats-server did not start within ${options.startTimeoutMs ?? 15_000} ms:\n${log.slice(-4000)}`)
  }
  const port = Number(new URL(url).port)
  // The ports file is written before JetStream is fully up; wait for the log line.
  while (Date.now() < deadline && !/Server is ready/.test(log) && exited === undefined) await sleep(10)
  return makeHandle(child, { url, port, pid, storeDir, version, ownStore, portsDir, credentials, options: { ...options, port, ...(credentials ? { credentials } : {}) } })
}

/**
 * `child` is the watchdog and `h.pid` its server. A graceful stop goes through the watchdog
 * (which waits for the server, then removes the temporary folders); kill -9 goes to the server
 * itself, and the watchdog then exits leaving the store in place.
 */
function makeHandle(
  child: ChildProcess,
  h: { url: string; port: number; pid: number; storeDir: string; version: string; ownStore: boolean; portsDir: string; credentials: NatsServer["credentials"]; options: NatsServerOptions },
): NatsServer {
  const exitPromise = new Promise<void>((res) => {
    if (child.exitCode !== null || child.signalCode !== null) res()
    else child.once("exit", () => res())
  })
  const cleanupPorts = () => rmSync(h.portsDir, { recursive: true, force: true })
  const handle: NatsServer = {
    url: h.url,
    port: h.port,
    pid: h.pid,
    storeDir: h.storeDir,
    version: h.version,
    options: h.options,
    ...(h.credentials ? { credentials: h.credentials } : {}),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM")
        // a watchdog that did not finish its own SIGKILL in time: end both ourselves
        const t = setTimeout(() => {
          signalPid(h.pid, "SIGKILL")
          child.kill("SIGKILL")
        }, STOP_GRACE_MS + 2_000)
        await exitPromise
        clearTimeout(t)
      }
      cleanupPorts()
      if (h.ownStore) rmSync(h.storeDir, { recursive: true, force: true })
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        signalPid(h.pid, "SIGKILL")
        await exitPromise
      }
    },
    async restart() {
      await handle.kill()
      cleanupPorts()
      return await startNatsServer({ ...h.options, storeDir: h.storeDir, port: h.port })
    },
  }
  return handle
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal)
  } catch {
    // already gone
  }
}

function readPidFile(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, "utf8").trim())
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined // not written yet
  }
}

function readPortsFile(dir: string): string | undefined {
  for (const f of readdirSync(dir)) {
    if (!f.endsWith(".ports")) continue
    try {
      const parsed = JSON.parse(readFileSync(join(dir, f), "utf8")) as { nats?: string[] }
      const u = parsed.nats?.[0]
      if (u) return u.replace("0.0.0.0", "127.0.0.1")
    } catch {
      // written but not yet complete
    }
  }
  return undefined
}

export interface NatsCluster {
  readonly servers: NatsServer[]
  /** Each server's server_name (as JetStream reports stream leaders), in the order of `servers`. */
  readonly serverNames: ReadonlyArray<string>
  /** Comma-separated client URLs of every server, for `--nats`. */
  readonly urls: string
  stop(): Promise<void>
}

/** The shipped three-server cluster configuration (nats-cluster/a.conf, b.conf, c.conf, cluster.conf). */
export const PROJECT_CLUSTER_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "nats-cluster")
const CLUSTER_SERVERS = ["a", "b", "c"] as const

/**
 * The shipped cluster files of one server, copied into `dir` with the route listen address moved
 * to a loopback port: `dir/nats.conf` (the main configuration), `dir/nats-base.conf`,
 * `dir/nats-cluster/<x>.conf`, `dir/nats-cluster/cluster.conf`, and `dir/auth/routes.conf`
 * generated for loopback routes with `routePassword` (and `dir/auth/auth.conf` copied from
 * `authConf` when the main configuration includes it). Only addresses change, so what the tests
 * run is what users deploy; a shipped file that no longer has them fails loudly here.
 */
export function clusterConfigFor(
  server: number,
  routePorts: ReadonlyArray<number>,
  dir: string,
  mainConfig: string | null = PROJECT_NATS_BASE_CONF,
  routePassword = randomBytes(18).toString("base64url"),
  authConf?: string,
): string {
  const x = CLUSTER_SERVERS[server]
  const own = readFileSync(join(PROJECT_CLUSTER_DIR, `${x}.conf`), "utf8")
  let shared = readFileSync(join(PROJECT_CLUSTER_DIR, "cluster.conf"), "utf8")
  const swap = (from: string, to: string) => {
    if (!shared.includes(from)) throw new NatsServerError(`nats-cluster/cluster.conf no longer contains ${from}: the test launcher cannot place the cluster on loopback ports`)
    shared = shared.split(from).join(to)
  }
  swap(`listen: "0.0.0.0:6222"`, `listen: "127.0.0.1:${routePorts[server]}"`)
  if (!/^\s*include \.\.\/auth\/routes\.conf$/m.test(shared)) throw new NatsServerError("nats-cluster/cluster.conf must include ../auth/routes.conf (authenticated routes)")
  if (!/^include \.\.\/nats\.conf$/m.test(own) || !/^include cluster\.conf$/m.test(own)) {
    throw new NatsServerError(`nats-cluster/${x}.conf must include ../nats.conf and cluster.conf`)
  }
  mkdirSync(join(dir, "nats-cluster"), { recursive: true })
  mkdirSync(join(dir, "auth"), { recursive: true, mode: 0o700 })
  writeFileSync(join(dir, "nats.conf"), mainConfig ? readFileSync(mainConfig, "utf8") : "")
  writeFileSync(join(dir, "nats-base.conf"), readFileSync(PROJECT_NATS_BASE_CONF, "utf8"))
  writeFileSync(join(dir, "auth", "routes.conf"), renderRoutesConf(routePassword, routePorts.map((p) => `127.0.0.1:${p}`)), { mode: 0o600 })
  if (authConf) writeFileSync(join(dir, "auth", "auth.conf"), readFileSync(authConf, "utf8"))
  writeFileSync(join(dir, "nats-cluster", "cluster.conf"), shared)
  const file = join(dir, "nats-cluster", `${x}.conf`)
  writeFileSync(file, own)
  return file
}

/**
 * Clustered servers on loopback, each with its own store. Three (the default) run the shipped
 * configuration of nats-cluster/ (see clusterConfigFor); another count gets generated cluster
 * blocks.
 */
export async function startNatsCluster(
  n = 3,
  options: Omit<NatsServerOptions, "cluster" | "serverName" | "authenticate"> & { readonly authConf?: string } = {},
): Promise<NatsCluster> {
  const routePorts = await Promise.all(Array.from({ length: n }, () => freePort()))
  const dirs: string[] = []
  let servers: NatsServer[]
  let serverNames: string[]
  if (n === CLUSTER_SERVERS.length) {
    const main = options.config === undefined ? PROJECT_NATS_BASE_CONF : options.config
    const routePassword = randomBytes(18).toString("base64url")
    servers = await Promise.all(
      routePorts.map((_, i) => {
        const dir = mkdtempSync(join(tmpdir(), "ants-cluster-conf-"))
        dirs.push(dir)
        return startNatsServer({ ...options, config: clusterConfigFor(i, routePorts, dir, main, routePassword, options.authConf) })
      }),
    )
    serverNames = CLUSTER_SERVERS.map((x) => `ants-${x}`)
  } else {
    const name = `ants-${process.pid}-${routePorts[0]}`
    serverNames = routePorts.map((port, i) => `s${i + 1}-${port}`)
    servers = await Promise.all(
      routePorts.map((port, i) => startNatsServer({ ...options, serverName: serverNames[i], cluster: { name, port, routes: routePorts } })),
    )
  }
  return {
    servers,
    serverNames,
    urls: servers.map((s) => s.url).join(","),
    async stop() {
      await Promise.all(servers.map((s) => s.stop()))
      for (const d of dirs) rmSync(d, { recursive: true, force: true })
    },
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

// --- children die with us ----------------------------------------------------------------------

const live = new Set<ChildProcess>()
let hooked = false
const EXIT_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const

/** Asks every watchdog to stop its server; each removes its temporary folders once it is down. */
function killAll(): void {
  for (const c of live) {
    try {
      c.kill("SIGTERM")
    } catch {
      // already gone
    }
  }
  live.clear()
}

function track(child: ChildProcess): void {
  live.add(child)
  child.once("exit", () => live.delete(child))
  if (hooked) return
  hooked = true
  process.once("exit", killAll)
  for (const sig of EXIT_SIGNALS) {
    const onSignal = () => {
      // someone else handles it (the CLI drains, then stops its server): leave it to them
      if (process.listenerCount(sig) > 1) return
      // otherwise this signal would have ended the process: do that, servers first
      killAll()
      process.removeListener(sig, onSignal)
      process.kill(process.pid, sig)
    }
    process.on(sig, onSignal)
  }
}
