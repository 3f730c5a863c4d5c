/**
 * The credentials of one embedded server run: a user and a random password, and the
 * `authorization` block that demands them. Made fresh for every run and kept only in the run's
 * private folder and in the owner-only URL file, so the embedded server is never anonymous.
 */
import { randomBytes } from "node:crypto"

export interface RunCredentials {
  readonly user: string
  readonly password: string
}

export function runCredentials(): RunCredentials {
  return { user: "ants", password: randomBytes(24).toString("base64url") }
}

export function authorizationBlock(c: RunCredentials): string {
  return `authorization {\n  users = [\n    { user: ${JSON.stringify(c.user)}, password: ${JSON.stringify(c.password)} }\n  ]\n}\n`
}
