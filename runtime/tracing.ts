// Tracing of calls: a producer span on the caller, a consumer span in the actor, joined by
// a W3C traceparent carried in the call frame. With no exporter configured nothing is
// created at all (one boolean test per call), so the cost is near zero.
import { appendFileSync } from "node:fs";
import { context, propagation, SpanKind, SpanStatusCode, trace, type Context, type Span, type TracerProvider } from "@opentelemetry/api";
import { redactValue } from "./redact.js";

let enabled = false;
let shutdownHook: (() => Promise<void>) | undefined;

export function tracingEnabled(): boolean {
  return enabled;
}

/** Uses an already-registered global tracer provider (tests: an in-memory exporter). */
export function setTracingEnabled(on: boolean): void {
  enabled = on;
}

export const TRACES_FILE_ENV = "TROUPE_TRACES_FILE";

/**
 * Starts the OpenTelemetry SDK when the environment asks for it: the standard OTEL_*
 * variables (OTLP over HTTP by default when an endpoint is set) and/or TROUPE_TRACES_FILE,
 * a JSONL file that any process of the run appends its spans to. Loaded lazily, so a
 * process that traces nothing never loads the SDK.
 */
export async function initTracingFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (enabled) return;
  const file = env[TRACES_FILE_ENV];
  const exporterName = env.OTEL_TRACES_EXPORTER;
  const otlp = !!(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) || (exporterName !== undefined && exporterName !== "none");
  if (!file && !otlp) return;
  const { NodeSDK } = await import("@opentelemetry/sdk-node");
  const { BatchSpanProcessor } = await import("@opentelemetry/sdk-trace-base");
  const processors = [];
  if (file) processors.push(new BatchSpanProcessor(new JsonlFileExporter(file), { scheduledDelayMillis: 200 }));
  if (otlp) {
    const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
    processors.push(new BatchSpanProcessor(new OTLPTraceExporter()));
  }
  // The process detector records the command line, where a cluster URL may carry a token: its
  // attributes go out redacted.
  const { envDetector, hostDetector, osDetector, processDetector } = await import("@opentelemetry/resources");
  const redactedProcess = {
    detect: (config?: Parameters<typeof processDetector.detect>[0]) => {
      const r = processDetector.detect(config);
      return { attributes: Object.fromEntries(Object.entries(r.attributes ?? {}).map(([k, v]) => [k, v instanceof Promise ? v.then(redactValue) : redactValue(v)])) };
    },
  };
  const sdk = new NodeSDK({
    spanProcessors: processors, metricReaders: [], logRecordProcessors: [], instrumentations: [],
    resourceDetectors: [envDetector, hostDetector, osDetector, redactedProcess],
  });
  sdk.start();
  enabled = true;
  shutdownHook = () => sdk.shutdown();
}

/** Exports the spans ended so far, without stopping (before slow clean-up that may be cut short). */
export async function flushTracing(): Promise<void> {
  if (!enabled) return;
  const p = trace.getTracerProvider() as { getDelegate?: () => unknown };
  const real = (p.getDelegate?.() ?? p) as { forceFlush?: () => Promise<void> };
  await real.forceFlush?.();
}

/** Flushes and stops the SDK started by initTracingFromEnv. */
export async function shutdownTracing(): Promise<void> {
  const h = shutdownHook;
  shutdownHook = undefined;
  enabled = false;
  await h?.();
  // Unregister the globals so that a later cluster in this process can start tracing again.
  if (h) {
    trace.disable();
    context.disable();
    propagation.disable();
  }
}

/** Writes each finished span as one JSON line: readable without a collector. */
export class JsonlFileExporter {
  constructor(private path: string) {}
  export(spans: ReadonlyArray<import("@opentelemetry/sdk-trace-base").ReadableSpan>, done: (r: { code: number; error?: Error }) => void): void {
    try {
      const lines = spans.map((s) =>
        JSON.stringify({
          traceId: s.spanContext().traceId,
          spanId: s.spanContext().spanId,
          parentSpanId: s.parentSpanContext?.spanId,
          name: s.name,
          kind: SpanKind[s.kind],
          startTimeUnixNano: hrToNanos(s.startTime),
          endTimeUnixNano: hrToNanos(s.endTime),
          attributes: s.attributes,
          status: s.status,
          events: s.events.map((e) => ({ name: e.name, attributes: e.attributes })),
          resource: s.resource.attributes,
          pid: process.pid,
        }),
      );
      if (lines.length) appendFileSync(this.path, lines.join("\n") + "\n");
      done({ code: 0 });
    } catch (e) {
      done({ code: 1, error: e as Error });
    }
  }
  async shutdown(): Promise<void> {}
  async forceFlush(): Promise<void> {}
}

function hrToNanos([s, ns]: [number, number]): string {
  return (BigInt(s) * 1_000_000_000n + BigInt(ns)).toString();
}

const tracer = () => trace.getTracer("troupe");

export function toTraceparent(span: Span): string {
  const c = span.spanContext();
  return `00-${c.traceId}-${c.spanId}-0${(c.traceFlags & 1).toString(16)}`;
}

function contextFromTraceparent(tp: string): Context {
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(tp);
  if (!m) return context.active();
  return trace.setSpanContext(context.active(), { traceId: m[1], spanId: m[2], traceFlags: parseInt(m[3], 16), isRemote: true });
}

export interface SpanHandle {
  run<T>(fn: () => T): T;
  end(err?: unknown): void;
  traceparent: string;
}

function handle(span: Span, parent: Context): SpanHandle {
  const ctx = trace.setSpan(parent, span);
  return {
    traceparent: toTraceparent(span),
    run: (fn) => context.with(ctx, fn),
    end(err) {
      if (err !== undefined) {
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
      }
      span.end();
    },
  };
}

/** The caller's span of a call; undefined when tracing is off. */
export function producerSpan(target: string, method: string): SpanHandle | undefined {
  if (!enabled) return undefined;
  const parent = context.active();
  const span = tracer().startSpan(`${target}.${method} send`, {
    kind: SpanKind.PRODUCER,
    attributes: { "messaging.system": "nats", "messaging.destination.name": target, "rpc.method": method },
  }, parent);
  return handle(span, parent);
}

/** The actor's span of a call, child of the caller's span through the traceparent. */
export function consumerSpan(target: string, method: string, traceparent: string): SpanHandle | undefined {
  if (!enabled) return undefined;
  const parent = traceparent ? contextFromTraceparent(traceparent) : context.active();
  const span = tracer().startSpan(`${target}.${method}`, {
    kind: SpanKind.CONSUMER,
    attributes: { "messaging.system": "nats", "messaging.destination.name": target, "rpc.method": method },
  }, parent);
  return handle(span, parent);
}

/** An application span with attributes that can be added until it ends. */
export interface AppSpan extends SpanHandle {
  set(attributes: Record<string, string | number | boolean | string[] | undefined>): void;
  readonly traceId: string;
}

/**
 * A span for application work (an agent trajectory, a model call, a tool call), child of
 * whatever span is active. Calls made inside `run` carry it to other processes. When tracing
 * is off, a no-op whose run() just calls through.
 */
export function startSpan(name: string, attributes: Record<string, string | number | boolean | string[] | undefined> = {}, kind: "internal" | "client" = "internal"): AppSpan {
  if (!enabled) return { traceparent: "", traceId: "", run: (fn) => fn(), end: () => undefined, set: () => undefined };
  const parent = context.active();
  const span = tracer().startSpan(name, { kind: kind === "client" ? SpanKind.CLIENT : SpanKind.INTERNAL, attributes: clean(attributes) }, parent);
  return { ...handle(span, parent), traceId: span.spanContext().traceId, set: (a) => span.setAttributes(clean(a)) };
}

function clean(a: Record<string, string | number | boolean | string[] | undefined>): Record<string, string | number | boolean | string[]> {
  const out: Record<string, string | number | boolean | string[]> = {};
  for (const [k, v] of Object.entries(a)) if (v !== undefined) out[k] = v;
  return out;
}

export type { TracerProvider };
