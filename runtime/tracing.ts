// Tracing of calls: a producer span on the caller, a consumer span in the actor, joined by
// a W3C traceparent carried in the call frame. With no exporter configured nothing is
// created at all (one boolean test per call), so the cost is near zero.
import { appendFileSync } from "node:fs";
import { context, propagation, SpanKind, SpanStatusCode, trace, type Context, type Span, type TracerProvider } from "@opentelemetry/api";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
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
/** The `service.name` of a host process's spans, set by its node (the role of what it holds). */
export const SERVICE_NAME_ENV = "TROUPE_SERVICE_NAME";

/** What OTEL_EXPORTER_OTLP_PROTOCOL may say; the specification's default first. */
export const OTLP_PROTOCOLS = ["http/protobuf", "http/json", "grpc"] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

/** The traces' OTLP protocol from the standard variables (the traces-specific one first). */
export function otlpProtocol(env: NodeJS.ProcessEnv = process.env): OtlpProtocol {
  const name = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ? "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL" : "OTEL_EXPORTER_OTLP_PROTOCOL";
  const p = (env[name] ?? "").trim() || "http/protobuf";
  if (!(OTLP_PROTOCOLS as readonly string[]).includes(p)) throw new Error(`${name}=${p}: the protocol must be one of ${OTLP_PROTOCOLS.join(", ")}`);
  return p as OtlpProtocol;
}

/**
 * Starts the OpenTelemetry SDK when the environment asks for it: the standard OTEL_*
 * variables (OTLP in the protocol OTEL_EXPORTER_OTLP_PROTOCOL names, headers from
 * OTEL_EXPORTER_OTLP_HEADERS, both read as the specification says) and/or TROUPE_TRACES_FILE,
 * a file of OTLP-JSON lines that any process of the run appends its spans to. Loaded lazily,
 * so a process that traces nothing never loads the SDK. `role` names the process's
 * `service.name` (troupe-ROLE) unless OTEL_SERVICE_NAME names one for every process.
 */
export async function initTracingFromEnv(env: NodeJS.ProcessEnv = process.env, role = "driver"): Promise<void> {
  if (enabled) return;
  const file = env[TRACES_FILE_ENV];
  const exporterName = env.OTEL_TRACES_EXPORTER;
  const otlp = !!(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) || (exporterName !== undefined && exporterName !== "none");
  if (!file && !otlp) return;
  const protocol = otlp ? otlpProtocol(env) : undefined;
  const { NodeSDK } = await import("@opentelemetry/sdk-node");
  const { BatchSpanProcessor } = await import("@opentelemetry/sdk-trace-base");
  const processors = [];
  if (file) {
    const { JsonTraceSerializer } = await import("@opentelemetry/otlp-transformer");
    processors.push(new BatchSpanProcessor(new OtlpJsonFileExporter(file, (s) => JsonTraceSerializer.serializeRequest(s)), { scheduledDelayMillis: 200 }));
  }
  if (protocol) processors.push(new BatchSpanProcessor(await otlpExporter(protocol)));
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
    // The SDK's own `serviceName` would override OTEL_SERVICE_NAME; the user's choice wins.
    ...(env.OTEL_SERVICE_NAME ? {} : { serviceName: `troupe-${role}` }),
    spanProcessors: processors, metricReaders: [], logRecordProcessors: [], instrumentations: [],
    resourceDetectors: [envDetector, hostDetector, osDetector, redactedProcess],
  });
  sdk.start();
  enabled = true;
  shutdownHook = () => sdk.shutdown();
}

/** The OTLP exporter of one protocol; each reads its endpoint, headers and timeout from the environment. */
async function otlpExporter(protocol: OtlpProtocol): Promise<SpanExporter> {
  if (protocol === "grpc") return new (await import("@opentelemetry/exporter-trace-otlp-grpc")).OTLPTraceExporter();
  if (protocol === "http/json") return new (await import("@opentelemetry/exporter-trace-otlp-http")).OTLPTraceExporter();
  return new (await import("@opentelemetry/exporter-trace-otlp-proto")).OTLPTraceExporter();
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

/**
 * Appends each batch of finished spans as one line of OTLP-JSON (an ExportTraceServiceRequest,
 * ids in hex as OTLP/JSON says): the format an OpenTelemetry Collector's file exporter writes and
 * its `otlpjsonfile` receiver replays, readable here by `readTraceLines`.
 */
export class OtlpJsonFileExporter implements SpanExporter {
  constructor(private path: string, private serialize: (spans: ReadableSpan[]) => Uint8Array | undefined) {}
  export(spans: ReadableSpan[], done: (r: { code: number; error?: Error }) => void): void {
    try {
      if (spans.length) {
        const bytes = this.serialize(spans);
        if (bytes) appendFileSync(this.path, Buffer.from(bytes).toString("utf8") + "\n");
      }
      done({ code: 0 });
    } catch (e) {
      done({ code: 1, error: e as Error });
    }
  }
  async shutdown(): Promise<void> {}
  async forceFlush(): Promise<void> {}
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
