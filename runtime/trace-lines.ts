// Reading a traces.jsonl back: each line an OTLP-JSON ExportTraceServiceRequest (what
// OtlpJsonFileExporter appends), flattened to one record per span with plain attribute values.

/** One span as a reader wants it: attributes and resource as plain values. */
export interface TraceSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: SpanKindName;
  /** Nanoseconds since the epoch, as decimal strings (they pass 2^53). */
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Record<string, unknown>;
  /** OTLP's status: code 0 unset, 1 ok, 2 error. */
  status: { code: number; message?: string };
  events: { name: string; attributes: Record<string, unknown> }[];
  resource: Record<string, unknown>;
  service: string;
  pid?: number;
}

export type SpanKindName = "UNSPECIFIED" | "INTERNAL" | "SERVER" | "CLIENT" | "PRODUCER" | "CONSUMER";
const KINDS: SpanKindName[] = ["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"];

interface AnyValue {
  stringValue?: string; boolValue?: boolean; intValue?: number | string; doubleValue?: number;
  arrayValue?: { values?: AnyValue[] }; kvlistValue?: { values?: KeyValue[] }; bytesValue?: string;
}
interface KeyValue { key: string; value?: AnyValue }
interface OtlpSpan {
  traceId: string; spanId: string; parentSpanId?: string; name: string; kind?: number;
  startTimeUnixNano: string | number; endTimeUnixNano: string | number;
  attributes?: KeyValue[]; status?: { code?: number; message?: string }; events?: { name: string; attributes?: KeyValue[] }[];
}
interface Request { resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[] }

/** OTLP/JSON's AnyValue as a plain value (int64 stays a number while it is exact). */
function plainValue(v: AnyValue | undefined): unknown {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return Number(v.doubleValue);
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(plainValue);
  if (v.kvlistValue) return plainAttributes(v.kvlistValue.values);
  if (v.bytesValue !== undefined) return v.bytesValue;
  return undefined;
}

function plainAttributes(kvs: KeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of kvs ?? []) out[kv.key] = plainValue(kv.value);
  return out;
}

/**
 * The spans of a traces.jsonl's text. A line that is not JSON (the last one of a process killed
 * mid-write) is skipped: a reader of traces must not fail on the trace of a crash.
 */
export function readTraceLines(text: string): TraceSpan[] {
  const out: TraceSpan[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    let req: Request;
    try {
      req = JSON.parse(line) as Request;
    } catch {
      continue;
    }
    for (const rs of req.resourceSpans ?? []) {
      const resource = plainAttributes(rs.resource?.attributes);
      const service = String(resource["service.name"] ?? "unknown_service");
      const pid = typeof resource["process.pid"] === "number" ? (resource["process.pid"] as number) : undefined;
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          out.push({
            traceId: s.traceId, spanId: s.spanId, ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
            name: s.name, kind: KINDS[s.kind ?? 0] ?? "UNSPECIFIED",
            startTimeUnixNano: String(s.startTimeUnixNano), endTimeUnixNano: String(s.endTimeUnixNano),
            attributes: plainAttributes(s.attributes),
            status: { code: s.status?.code ?? 0, ...(s.status?.message ? { message: s.status.message } : {}) },
            events: (s.events ?? []).map((e) => ({ name: e.name, attributes: plainAttributes(e.attributes) })),
            resource, service, pid,
          });
        }
      }
    }
  }
  return out;
}
