/**
 * Switching trace export on from the standard `OTEL_*` environment variables (the
 * OpenTelemetry SDK configuration spec), for `ants node`, `startNode` and any program that
 * calls `startTracing()`:
 *
 * - on when `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` is set, or
 *   `OTEL_TRACES_EXPORTER` is `otlp` or `console`; off when `OTEL_SDK_DISABLED=true` or
 *   `OTEL_TRACES_EXPORTER=none`, or when none of these is set;
 * - `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` / `OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf`
 *   (the default, as the spec says) or `http/json`; `grpc` is refused with what to use instead;
 * - the endpoint: `..._TRACES_ENDPOINT` as given, else `OTEL_EXPORTER_OTLP_ENDPOINT` +
 *   `/v1/traces`, else `http://localhost:4318/v1/traces`; `OTEL_EXPORTER_OTLP_(TRACES_)HEADERS`;
 * - `OTEL_SERVICE_NAME` (default `ants`), `OTEL_RESOURCE_ATTRIBUTES`;
 * - `OTEL_TRACES_SAMPLER` (+ `OTEL_TRACES_SAMPLER_ARG`), default `parentbased_always_on`;
 * - `OTEL_BSP_MAX_QUEUE_SIZE`, `..._MAX_EXPORT_BATCH_SIZE`, `..._SCHEDULE_DELAY`,
 *   `..._EXPORT_TIMEOUT` tune the batch span processor (the SDK's defaults otherwise: 2048
 *   spans queued, batches of 512, every 5 s; a full queue drops spans, it never blocks).
 *
 * The SDK is process-wide (the OpenTelemetry API has one global provider): the first start
 * installs it, later starts share it, and it is shut down (spans flushed) when the last one
 * stops. When the application installed an SDK of its own, that one is used and left alone.
 * The provider, the OTLP exporters and the resource detection are loaded by the first start,
 * so a process that never traces does not load them.
 */
import { context, propagation, trace, type ContextManager } from "@opentelemetry/api"
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  type BufferConfig,
  type Sampler,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base"
import type { NodeTracerProvider } from "@opentelemetry/sdk-trace-node"
import { TaggedError } from "../../subjects/errors.ts"
import { ExportContextManager } from "./export-context.ts"
import { setParentDecides, setRootDecision, tracingActive } from "./tracing.ts"
import { PresetIdGenerator, ratioBound } from "./unsampled.ts"

type Env = Readonly<Record<string, string | undefined>>

export interface TracingOptions {
  /** Where the `OTEL_*` variables are read. Default `process.env`. */
  readonly env?: Env
  /** Export to this exporter instead of the one the environment names (tests, benchmarks); switches tracing on. */
  readonly exporter?: SpanExporter
  /** `service.name` when `OTEL_SERVICE_NAME` is not set. Default `ants`. */
  readonly serviceName?: string
  /** `simple` exports each span as it ends (tests); default `batch`. */
  readonly processor?: "batch" | "simple"
}

export interface Tracing {
  /** What spans go to: `otlp http/json <url>`, `otlp http/protobuf <url>`, `console`, `custom exporter`, or `the application's SDK`. */
  readonly exporting: string
  /** Exports the spans ended so far. */
  flush(): Promise<void>
  /** Stops this user of the SDK; the last one shuts it down (flushing what is left). */
  stop(): Promise<void>
}

/** A tracing setting the environment gets wrong (a protocol we do not ship, a bad sampler argument). */
export class TracingConfigError extends TaggedError("TracingConfigError") {}

const truthy = (v: string | undefined) => v !== undefined && /^(true|1)$/i.test(v.trim())

/** Whether the environment asks for trace export (see the module header). */
export function tracingRequested(env: Env = process.env): boolean {
  if (truthy(env.OTEL_SDK_DISABLED)) return false
  const exporter = env.OTEL_TRACES_EXPORTER?.split(",")[0]?.trim().toLowerCase()
  if (exporter === "none") return false
  if (exporter === "otlp" || exporter === "console") return true
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT)
}

/** `k1=v1,k2=v2` (values URL-encoded), as OTEL_EXPORTER_OTLP_HEADERS and OTEL_RESOURCE_ATTRIBUTES are written. */
export function parseKeyValues(s: string | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const part of (s ?? "").split(",")) {
    const i = part.indexOf("=")
    if (i <= 0) continue
    out[decodeURIComponent(part.slice(0, i).trim())] = decodeURIComponent(part.slice(i + 1).trim())
  }
  return out
}

/** The OTLP/HTTP traces URL the environment names. */
export function tracesUrl(env: Env): string {
  const own = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim()
  if (own) return own
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || "http://localhost:4318"
  return `${base.replace(/\/+$/, "")}/v1/traces`
}

let sdk: Promise<Sdk> | undefined
type Sdk = Awaited<ReturnType<typeof loadSdk>>
async function loadSdk() {
  const [{ OTLPTraceExporter: JsonExporter }, { OTLPTraceExporter: ProtoExporter }, { defaultResource, resourceFromAttributes }, { NodeTracerProvider }] = await Promise.all([
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/exporter-trace-otlp-proto"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/sdk-trace-node"),
  ])
  return { JsonExporter, ProtoExporter, defaultResource, resourceFromAttributes, NodeTracerProvider }
}

function exporterFor(env: Env, { JsonExporter, ProtoExporter }: Sdk): { exporter: SpanExporter; exporting: string } {
  if (env.OTEL_TRACES_EXPORTER?.split(",")[0]?.trim().toLowerCase() === "console") return { exporter: new ConsoleSpanExporter(), exporting: "console" }
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || "http/protobuf").trim()
  const url = tracesUrl(env)
  const headers = { ...parseKeyValues(env.OTEL_EXPORTER_OTLP_HEADERS), ...parseKeyValues(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS) }
  if (protocol === "http/json") return { exporter: new JsonExporter({ url, headers }), exporting: `otlp http/json ${url}` }
  if (protocol === "http/protobuf") return { exporter: new ProtoExporter({ url, headers }), exporting: `otlp http/protobuf ${url}` }
  throw new TracingConfigError(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported here: use http/protobuf (the default) or http/json, and point OTEL_EXPORTER_OTLP_ENDPOINT at the collector's OTLP/HTTP port (4318)`)
}

/** The sampler OTEL_TRACES_SAMPLER names (the SDK's names and defaults). */
export function samplerFor(env: Env): Sampler {
  return samplerAndRoot(env).sampler
}

/**
 * The sampler OTEL_TRACES_SAMPLER names, and the TraceIdRatioBased bound it decides a root
 * with (`ratioBound`; 0 for always-off), undefined for the always-on ones, whose roots all go
 * to the SDK.
 */
function samplerAndRoot(env: Env): { sampler: Sampler; rootBound: number | undefined } {
  const name = (env.OTEL_TRACES_SAMPLER || "parentbased_always_on").trim().toLowerCase()
  const ratio = () => {
    const raw = env.OTEL_TRACES_SAMPLER_ARG?.trim()
    if (!raw) return 1
    const n = Number(raw)
    if (!Number.isFinite(n) || n < 0 || n > 1) throw new TracingConfigError(`OTEL_TRACES_SAMPLER_ARG=${raw} is not a ratio between 0 and 1`)
    return n
  }
  switch (name) {
    case "always_on":
      return { sampler: new AlwaysOnSampler(), rootBound: undefined }
    case "always_off":
      return { sampler: new AlwaysOffSampler(), rootBound: 0 }
    case "traceidratio": {
      const r = ratio()
      return { sampler: new TraceIdRatioBasedSampler(r), rootBound: ratioBound(r) }
    }
    case "parentbased_always_on":
      return { sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }), rootBound: undefined }
    case "parentbased_always_off":
      return { sampler: new ParentBasedSampler({ root: new AlwaysOffSampler() }), rootBound: 0 }
    case "parentbased_traceidratio": {
      const r = ratio()
      return { sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(r) }), rootBound: ratioBound(r) }
    }
    default:
      throw new TracingConfigError(`OTEL_TRACES_SAMPLER=${name} is not one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio`)
  }
}

/** The batch span processor's settings from `OTEL_BSP_*` (read from `env`, so a node's `tracing.env` sets them too). */
export function batchConfig(env: Env): BufferConfig {
  const n = (name: string) => {
    const raw = env[name]?.trim()
    if (!raw) return undefined
    const v = Number(raw)
    if (!Number.isInteger(v) || v <= 0) throw new TracingConfigError(`${name}=${raw} is not a positive integer`)
    return v
  }
  const c: { -readonly [K in keyof BufferConfig]: BufferConfig[K] } = {}
  const entries: Array<[keyof BufferConfig, string]> = [
    ["maxQueueSize", "OTEL_BSP_MAX_QUEUE_SIZE"],
    ["maxExportBatchSize", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"],
    ["scheduledDelayMillis", "OTEL_BSP_SCHEDULE_DELAY"],
    ["exportTimeoutMillis", "OTEL_BSP_EXPORT_TIMEOUT"],
  ]
  for (const [key, name] of entries) {
    const v = n(name)
    if (v !== undefined) c[key] = v
  }
  return c
}

interface Installed {
  readonly provider: NodeTracerProvider
  readonly exporting: string
  users: number
}
let installed: Installed | undefined

/**
 * Installs the SDK when the environment (or `options.exporter`) asks for it; undefined when
 * tracing stays off. Rejects with `TracingConfigError` for a setting it cannot honour.
 */
export async function startTracing(options: TracingOptions = {}): Promise<Tracing | undefined> {
  const env = options.env ?? process.env
  if (options.exporter === undefined && !tracingRequested(env)) return undefined
  const loaded = await (sdk ??= loadSdk())
  // from here on nothing waits, so two starts at once cannot both install
  if (installed !== undefined) return share(installed)
  // an SDK the application installed itself: its spans already flow, ours join them
  if (tracingActive()) return { exporting: "the application's SDK", flush: async () => undefined, stop: async () => undefined }
  const { exporter, exporting } = options.exporter !== undefined ? { exporter: options.exporter, exporting: "custom exporter" } : exporterFor(env, loaded)
  const resource = loaded
    .defaultResource()
    .merge(loaded.resourceFromAttributes(parseKeyValues(env.OTEL_RESOURCE_ATTRIBUTES)))
    .merge(loaded.resourceFromAttributes({ "service.name": env.OTEL_SERVICE_NAME?.trim() || options.serviceName || "ants" }))
  const processor = options.processor === "simple" ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter, batchConfig(env))
  const { sampler, rootBound } = samplerAndRoot(env)
  const idGenerator = new PresetIdGenerator()
  const provider = new loaded.NodeTracerProvider({ resource, sampler, idGenerator, spanProcessors: [processor] })
  provider.register()
  wrapContextManager()
  // the parent-based samplers (with their default delegates) never sample the child of an unsampled parent
  setParentDecides(sampler instanceof ParentBasedSampler)
  // and these decide a root on its trace id alone: an unsampled root is decided without the SDK
  setRootDecision(rootBound === undefined ? undefined : { bound: rootBound, ids: idGenerator })
  installed = { provider, exporting, users: 0 }
  return share(installed)
}

/**
 * Puts `ExportContextManager` around the context manager `register()` installed (the SDK's
 * AsyncLocalStorage one, reached through the API's `_getContextManager`; left as it is where
 * that is not there).
 */
function wrapContextManager(): void {
  const get = (context as unknown as { _getContextManager?: () => ContextManager })._getContextManager
  const inner = typeof get === "function" ? get.call(context) : undefined
  if (inner === undefined || inner instanceof ExportContextManager) return
  // the API registers a global once: off (nothing was entered yet), then on again inside the wrapper
  context.disable()
  context.setGlobalContextManager(new ExportContextManager(inner.enable()))
}

function share(i: Installed): Tracing {
  i.users++
  let stopped = false
  return {
    exporting: i.exporting,
    flush: () => i.provider.forceFlush(),
    async stop() {
      if (stopped) return
      stopped = true
      if (--i.users > 0) return
      if (installed === i) installed = undefined
      // back to no-op first, so nothing starts a span on a provider that is shutting down
      setParentDecides(false)
      setRootDecision(undefined)
      trace.disable()
      context.disable()
      propagation.disable()
      await i.provider.shutdown()
    },
  }
}
