// Traces to an OTLP backend in each protocol the specification names, received by real servers
// in this test (HTTP and gRPC on loopback) that decode what arrives: the protocol from
// OTEL_EXPORTER_OTLP_PROTOCOL, headers from OTEL_EXPORTER_OTLP_HEADERS, a service.name per role,
// the caller's and the actor's spans joined across processes.
import * as grpc from "@grpc/grpc-js";
import { expect } from "chai";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import protobuf from "protobufjs";
import { OTLP_PROTOCOLS, otlpProtocol, readTraceLines, type OtlpProtocol, type TraceSpan } from "../runtime/index.js";
import { callThroughTwoHosts, until } from "./helpers.js";

// The messages of opentelemetry/proto/collector/trace/v1 and trace/v1 a receiver needs (field
// numbers as the OTLP specification gives them; fields left out are skipped when decoding).
const OTLP_PROTO = `syntax = "proto3"; package otlp;
  message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
  message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
  message Resource { repeated KeyValue attributes = 1; }
  message ScopeSpans { repeated Span spans = 2; }
  message Span {
    bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5; int32 kind = 6;
    fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8; repeated KeyValue attributes = 9; Status status = 15;
  }
  message Status { string message = 2; int32 code = 3; }
  message KeyValue { string key = 1; AnyValue value = 2; }
  message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; ArrayValue array_value = 5; bytes bytes_value = 7; } }
  message ArrayValue { repeated AnyValue values = 1; }`;
const Request = protobuf.parse(OTLP_PROTO).root.lookupType("otlp.ExportTraceServiceRequest");

/** A protobuf request in OTLP/JSON's form (ids in hex), for the same reader as traces.jsonl. */
function protobufToJson(body: Uint8Array): string {
  const o = Request.toObject(Request.decode(body), { longs: String, bytes: Array, oneofs: false }) as {
    resourceSpans?: { scopeSpans?: { spans?: Record<string, unknown>[] }[] }[];
  };
  const hex = (b: unknown) => (Array.isArray(b) && b.length ? Buffer.from(b as number[]).toString("hex") : undefined);
  for (const rs of o.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) {
    s.traceId = hex(s.traceId);
    s.spanId = hex(s.spanId);
    s.parentSpanId = hex(s.parentSpanId);
  }
  return JSON.stringify(o);
}

interface Received { spans: TraceSpan[]; contentTypes: Set<string>; auth: Set<string>; paths: Set<string> }

/** An OTLP receiver of one protocol on a loopback port. */
async function receiver(protocol: OtlpProtocol): Promise<{ endpoint: string; got: Received; close: () => Promise<void> }> {
  const got: Received = { spans: [], contentTypes: new Set(), auth: new Set(), paths: new Set() };
  if (protocol === "grpc") {
    const server = new grpc.Server();
    const raw = (b: Buffer) => b;
    const path = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    server.addService(
      { Export: { path, requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw } },
      {
        Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
          got.paths.add(path);
          for (const a of call.metadata.get("authorization")) got.auth.add(String(a));
          got.spans.push(...readTraceLines(protobufToJson(call.request)));
          done(null, Buffer.alloc(0));  // an empty ExportTraceServiceResponse: all accepted
        },
      },
    );
    const port = await new Promise<number>((res, rej) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    return { endpoint: `http://127.0.0.1:${port}`, got, close: () => new Promise<void>((r) => server.tryShutdown(() => r())) };
  }
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const type = String(req.headers["content-type"] ?? "");
      got.paths.add(req.url ?? "");
      got.contentTypes.add(type);
      got.auth.add(String(req.headers.authorization ?? ""));
      got.spans.push(...readTraceLines(type.includes("json") ? body.toString("utf8") : protobufToJson(body)));
      res.writeHead(200, { "content-type": type }).end(type.includes("json") ? "{}" : Buffer.alloc(0));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return { endpoint: `http://127.0.0.1:${port}`, got, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const VARS = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_BSP_SCHEDULE_DELAY"];

describe("traces over OTLP", function () {
  this.timeout(60_000);
  const saved: Record<string, string | undefined> = {};
  beforeEach(() => VARS.forEach((k) => (saved[k] = process.env[k])));
  afterEach(() => VARS.forEach((k) => (saved[k] === undefined ? delete process.env[k] : (process.env[k] = saved[k]))));

  it("the protocol comes from OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL, http/protobuf by default; another is refused by name", () => {
    expect(otlpProtocol({})).to.equal("http/protobuf");
    expect(otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).to.equal("grpc");
    expect(otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc", OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json" })).to.equal("http/json");
    expect(() => otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: "http" })).to.throw("OTEL_EXPORTER_OTLP_PROTOCOL=http: the protocol must be one of http/protobuf, http/json, grpc");
  });

  for (const protocol of OTLP_PROTOCOLS) {
    it(`${protocol}: a receiver gets the driver's and two hosts' spans, joined, with the headers and a service.name per role`, async () => {
      const r = await receiver(protocol);
      try {
        process.env.OTEL_EXPORTER_OTLP_ENDPOINT = r.endpoint;
        process.env.OTEL_EXPORTER_OTLP_PROTOCOL = protocol;
        process.env.OTEL_EXPORTER_OTLP_HEADERS = `authorization=Bearer%20key-${protocol},x-unused=1`;
        process.env.OTEL_BSP_SCHEDULE_DELAY = "200";
        await callThroughTwoHosts();
        const spans = await until("the hosts' spans to arrive", () => (r.got.spans.some((s) => s.name.endsWith(".echo") && s.kind === "CONSUMER") ? r.got.spans : undefined), 15_000);
        if (protocol === "grpc") expect([...r.got.paths]).to.deep.equal(["/opentelemetry.proto.collector.trace.v1.TraceService/Export"]);
        else {
          expect([...r.got.paths]).to.deep.equal(["/v1/traces"]);
          expect([...r.got.contentTypes]).to.deep.equal([protocol === "http/json" ? "application/json" : "application/x-protobuf"]);
        }
        expect([...r.got.auth]).to.deep.equal([`Bearer key-${protocol}`]);
        // echo's consumer span ← Chain's producer ← forward's consumer ← the driver's producer.
        const byId = new Map(spans.map((s) => [s.spanId, s]));
        const chain = [spans.find((s) => s.name.endsWith(".echo") && s.kind === "CONSUMER")!];
        for (let p = chain[0].parentSpanId; p && byId.get(p); p = byId.get(p)!.parentSpanId) chain.push(byId.get(p)!);
        expect(chain.map((s) => s.kind)).to.deep.equal(["CONSUMER", "PRODUCER", "CONSUMER", "PRODUCER"]);
        expect(chain.map((s) => s.service)).to.deep.equal(["troupe-echo", "troupe-chain", "troupe-chain", "troupe-driver"]);
        expect(new Set(chain.map((s) => s.traceId)).size).to.equal(1);
        expect(Number(chain[0].endTimeUnixNano) - Number(chain[0].startTimeUnixNano)).to.be.above(0);
      } finally {
        await r.close();
      }
    });
  }
});
