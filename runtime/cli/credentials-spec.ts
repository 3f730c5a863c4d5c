import { text } from "./option.ts"

/**
 * How a command authenticates to NATS: the `nats` CLI's flags, declared once and taken by every
 * command that connects and by `ants node`. Each falls back to the URL's credentials
 * (nats://user:password@host) and the `nats` CLI's environment variables
 * (runtime/security/connection-options.ts resolves them; client-connection.ts uses it).
 */
export const CREDENTIALS = {
  nkey: text("<file>", "authenticate with the nkey seed in this file (e.g. auth/operator.nk from `ants auth init`)").defaultIs("$NATS_NKEY"),
  creds: text("<file>", "authenticate with this .creds file (JWT and seed)").defaultIs("$NATS_CREDS"),
  user: text("<user>", "user name (with --password)").defaultIs("$NATS_USER, else the URL's user"),
  password: text("<password>", "password of --user").defaultIs("$NATS_PASSWORD, else the URL's password"),
  token: text("<token>", "authenticate with this token").defaultIs("$NATS_TOKEN"),
  "tls-ca": text("<file>", "CA certificate that verifies the server").defaultIs("$NATS_CA"),
  "tls-cert": text("<file>", "client certificate (with --tls-key)").defaultIs("$NATS_CERT"),
  "tls-key": text("<file>", "client certificate's private key").defaultIs("$NATS_KEY"),
}

/** The NATS server (or cluster) a command talks to. */
export const natsClient = () =>
  text("<url[,url]>", "the NATS server (or cluster, comma-separated) to talk to").defaultIs(
    "$NATS_URL, else the embedded server of a node running on this machine, else nats://127.0.0.1:4222",
  )

/** The options of a command that talks to NATS: the server and the credentials. */
export const clientOptions = () => ({ nats: natsClient(), ...CREDENTIALS })
