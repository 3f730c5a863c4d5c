/**
 * The keeper of one `nats-server` child (see nats-server.ts). A process killed with SIGKILL runs
 * no handler, so a server it started itself (in its own process group, to survive a Ctrl-C
 * until the drain is done) would run on forever with its temporary store. This small script
 * sits between the two: the launching process starts it with `process.execPath`, it starts
 * nats-server with the same stdout/stderr (so the log and the ports file reach the launcher as
 * before), and it stops the server (SIGTERM, then SIGKILL after a grace) and removes the
 * folders it was given when
 *   - its stdin pipe closes: the launcher is gone, however it died (the kernel closes the pipe);
 *   - the launcher's pid no longer answers `kill(pid, 0)` (a second check, polled);
 *   - it receives SIGTERM, SIGINT or SIGHUP (the launcher's graceful stop).
 * When the server exits on its own (or is killed by pid, for a restart test) while the launcher
 * lives, it exits with the server's code and removes nothing: the store may be reused.
 *
 * Plain JavaScript, so it starts with bare `node` and no loader. Its one argument is JSON:
 * { bin, args, parentPid, cleanup: string[], graceMs }.
 */
import { spawn } from "node:child_process"
import { rmSync } from "node:fs"
import { constants } from "node:os"

const { bin, args, parentPid, cleanup, graceMs } = JSON.parse(process.argv[2] ?? "{}")

const parentAlive = () => {
  try {
    process.kill(parentPid, 0)
    return true
  } catch (e) {
    return e.code === "EPERM"
  }
}

const removeAll = () => {
  for (const dir of cleanup ?? []) {
    try {
      rmSync(dir, { recursive: true, force: true })
    } catch {
      // nothing more to do for a folder that will not go
    }
  }
}

const server = spawn(bin, args, { stdio: ["ignore", "inherit", "inherit"] })
let stopping = false
let clean = false

function stop() {
  if (stopping) return
  stopping = true
  clean = true
  if (server.exitCode !== null || server.signalCode !== null) return
  server.kill("SIGTERM")
  setTimeout(() => server.kill("SIGKILL"), graceMs ?? 5_000)
}

server.on("error", (e) => {
  process.stderr.write(`nats-server watchdog: cannot start ${bin}: ${e.message}\n`)
  if (clean || !parentAlive()) removeAll()
  process.exit(127)
})
server.on("exit", (code, signal) => {
  if (clean || !parentAlive()) removeAll()
  process.exit(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1))
})

process.stdin.on("end", stop)
process.stdin.on("close", stop)
process.stdin.on("error", stop)
process.stdin.resume()
for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(sig, stop)
setInterval(() => {
  if (!parentAlive()) stop()
}, 500).unref()
