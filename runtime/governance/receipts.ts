/**
 * Audit receipts as bytes: a receipt is `{"body":"<JSON text>","sig":"<base64>"}`, the body
 * signed with the emitting node's Ed25519 key (node:crypto). The body is kept as text, so the
 * signature covers exactly the bytes a verifier reads (no re-serialisation, no key order to
 * agree on). Each body names the hash (sha256 of the whole stored message) of the receipt
 * before it, its own position `n` in the tenant's stream, and the id of the key that signed it.
 *
 * The node's key lives in a PEM file (PKCS#8), created on first use with mode 0600; its public
 * half is published in the KV bucket `ants_audit_keys` under its key id (the first 16 hex digits
 * of the sha256 of the public key), where `ants audit verify` finds it.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"
import type { KV } from "@nats-io/kv"
import { auditKeyKey } from "../../subjects/governance.ts"
import { GovernanceError } from "./errors.ts"

/** Where a node keeps its audit key unless configured: beside the embedded memory's data. */
export const DEFAULT_KEY_FILE = ".ants/audit/node-key.pem"

export interface ReceiptBody {
  readonly v: 1
  /** Position in the tenant's audit stream (its stream sequence). */
  readonly n: number
  readonly tenant: string
  readonly kind: string
  readonly at: string
  /** The node that wrote it. */
  readonly node: string
  /** Id of the key that signed it (ants_audit_keys). */
  readonly key: string
  /** sha256 (hex) of the previous receipt's bytes; "" for the first receipt of a stream. */
  readonly prev: string
  readonly detail: unknown
}

export interface NodeKey {
  readonly keyId: string
  readonly node: string
  readonly privateKey: KeyObject
  readonly publicKeyPem: string
}

export interface PublishedKey {
  readonly keyId: string
  readonly node: string
  readonly publicKey: string
  readonly at: string
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export function keyIdOf(publicKey: KeyObject): string {
  return createHash("sha256").update(publicKey.export({ type: "spki", format: "der" })).digest("hex").slice(0, 16)
}

/** The node's signing key: read from `file`, or generated and written there (mode 0600). */
export function loadNodeKey(node: string, file: string = DEFAULT_KEY_FILE): NodeKey {
  let privateKey: KeyObject
  try {
    if (existsSync(file)) {
      privateKey = createPrivateKey(readFileSync(file, "utf8"))
      if (privateKey.asymmetricKeyType !== "ed25519") throw new Error(`it holds a ${privateKey.asymmetricKeyType} key, not Ed25519`)
    } else {
      privateKey = generateKeyPairSync("ed25519").privateKey
      mkdirSync(dirname(file), { recursive: true })
      writeFileSync(file, privateKey.export({ type: "pkcs8", format: "pem" }) as string, { mode: 0o600, flag: "wx" })
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return loadNodeKey(node, file) // another node of this machine wrote it first
    throw new GovernanceError("invalid", `the audit key file ${file} could not be used: ${(e as Error).message}; remove it to have a new key made, or name another with the node's governance.keyFile`, { cause: e })
  }
  const publicKey = createPublicKey(privateKey)
  return { keyId: keyIdOf(publicKey), node, privateKey, publicKeyPem: publicKey.export({ type: "spki", format: "pem" }) as string }
}

/** Publishes the node's public key (idempotent: the same key id always holds the same key). */
export async function publishKey(kv: KV, key: NodeKey): Promise<void> {
  const record: PublishedKey = { keyId: key.keyId, node: key.node, publicKey: key.publicKeyPem, at: new Date().toISOString() }
  await kv.put(auditKeyKey(key.keyId), JSON.stringify(record))
}

/** Every published key, by id. */
export async function readKeys(kv: KV): Promise<Map<string, KeyObject>> {
  const keys = new Map<string, KeyObject>()
  for await (const k of await kv.keys()) {
    const e = await kv.get(k)
    if (!e || e.operation !== "PUT") continue
    try {
      const r = e.json<PublishedKey>()
      const pub = createPublicKey(r.publicKey)
      // a key is filed under its own id only: a record claiming another id is ignored
      if (keyIdOf(pub) === r.keyId && r.keyId === k) keys.set(r.keyId, pub)
    } catch {
      // not a key record: ignored (verify then reports receipts signed by it as unknown)
    }
  }
  return keys
}

export function receiptHash(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex")
}

/** The stored bytes of a receipt: the body as text and its signature. */
export function sealReceipt(body: ReceiptBody, key: NodeKey): Uint8Array {
  const text = JSON.stringify(body)
  const sig = sign(null, encoder.encode(text), key.privateKey).toString("base64")
  return encoder.encode(JSON.stringify({ body: text, sig }))
}

export interface OpenedReceipt {
  readonly body: ReceiptBody
  readonly text: string
  readonly sig: string
}

/** Parses stored bytes; throws a GovernanceError when they are not a receipt. */
export function openReceipt(bytes: Uint8Array): OpenedReceipt {
  let outer: { body?: unknown; sig?: unknown }
  try {
    outer = JSON.parse(decoder.decode(bytes))
  } catch {
    throw new GovernanceError("invalid", "not JSON")
  }
  if (typeof outer?.body !== "string" || typeof outer.sig !== "string") throw new GovernanceError("invalid", "not a signed receipt (no body text and signature)")
  let body: ReceiptBody
  try {
    body = JSON.parse(outer.body)
  } catch {
    throw new GovernanceError("invalid", "its body is not JSON")
  }
  if (body?.v !== 1 || typeof body.n !== "number" || typeof body.prev !== "string" || typeof body.key !== "string" || typeof body.kind !== "string") {
    throw new GovernanceError("invalid", "its body lacks the receipt fields (v, n, prev, key, kind)")
  }
  return { body, text: outer.body, sig: outer.sig }
}

export function signatureHolds(r: OpenedReceipt, publicKey: KeyObject): boolean {
  try {
    return verify(null, encoder.encode(r.text), publicKey, Buffer.from(r.sig, "base64"))
  } catch {
    return false
  }
}
