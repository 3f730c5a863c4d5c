#!/usr/bin/env node
// The `ants` command. Registers tsx so the CLI and user agent modules can be TypeScript.
import { register } from "tsx/esm/api"

register()
const { main } = await import("./main.ts")
const code = await main(process.argv.slice(2))
if (typeof code === "number") process.exitCode = code
