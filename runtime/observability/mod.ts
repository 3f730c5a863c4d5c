/**
 * Layer `observability`: traces and metrics for operating a swarm. Traces go through
 * `@opentelemetry/api` only (spans for the caller's ask, the node's dispatch, the handler's
 * turn, checkpoints, task attempts, model and tool calls; W3C trace context in NATS headers
 * across every hop), and an SDK exporting over OTLP/HTTP is installed from the standard
 * `OTEL_*` environment variables by `startTracing`. Metrics are prom-client registries, one per
 * node, read from the counters the runtime already keeps when scraped.
 *
 * Promises: with no SDK installed every traced place costs one check and adds no header; a
 * span never changes what a message does (tracing failures are the SDK's to log); a node's
 * registry is its own (two nodes in one process never collide); nothing here does work per
 * message beyond a latency bucket bump and, with tracing on, the spans.
 * May import: limits, subjects/, and the OpenTelemetry and prom-client packages.
 */
export { ATTR, spanName } from "./attributes.ts"
export { TRACER_NAME, activeTraceRecord, endSpan, endWith, enterSyncSpan, headersFor, inSyncSpan, injectActive, leaveSyncSpan, markActiveRefused, outsideSyncSpan, setParentDecides, startCheckpointSpan, startChildSpan, startDispatchSpan, startInnerSpan, startSendSpan, startSpanFromHeaders, startTaskSpan, startTurnSpan, traceParentNow, tracingActive, withSpan, withSyncSpan, withTurnSpan } from "./tracing.ts"
export type { SpanTarget } from "./tracing.ts"
export { contextFromHeaders, spanContextFromHeaders, traceHeadersOf, writeTraceContext } from "./trace-headers.ts"
export { TracingConfigError, batchConfig, parseKeyValues, samplerFor, startTracing, tracesUrl, tracingRequested } from "./tracing-setup.ts"
export type { Tracing, TracingOptions } from "./tracing-setup.ts"
export { ASK_LATENCY_BUCKETS, AskLatency, LatencySeries, askLatencyObserver, registerCollected } from "./collected-metric.ts"
export type { Labels, MetricSpec, Sample } from "./collected-metric.ts"
export { createNodeMetrics } from "./node-metrics.ts"
export type { NodeMetricSources, NodeMetrics, TypeFigures } from "./node-metrics.ts"
export { countModelCall, countModelFailure, countSandboxRun, modelUsageOf, sandboxRunsByOutcome } from "./usage.ts"
export type { ModelUsageRow, SandboxOutcome } from "./usage.ts"
export { endModelSpan, startModelSpan, traceToolCall } from "./genai-spans.ts"
export type { ModelCallEnd, ModelCallStart } from "./genai-spans.ts"
