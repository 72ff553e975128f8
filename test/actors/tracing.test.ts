// One OpenTelemetry trace per trajectory (GenAI conventions), across actors and processes:
// RolloutActor and EnvActor in a shared host, the engine in a dedicated process, spans joined
// through the call frames and written by every process to one JSONL file.
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EnvActorClass, RolloutActorClass } from "../../actors/index.js";
import { goldReplies } from "../../envs/index.js";
import { actorClass, init, readTraceLines, type TraceSpan } from "../../runtime/index.js";
import { dockerEnv, task } from "../envs/helpers.js";
import { Echo } from "../helpers.js";
import type { ScriptedEngine } from "../fixtures/scripted-engine.js";

const Scripted = actorClass<typeof ScriptedEngine>(new URL("../fixtures/scripted-engine.js", import.meta.url), "ScriptedEngine");

type Span = TraceSpan;

/** One gold trajectory of textkit-005 through RolloutActor, EnvActor and a dedicated engine, traced into `file`. */
async function tracedTrajectory(file: string, rolloutIndex: number) {
  const { tasks } = await dockerEnv();
  const t = task(tasks, "textkit-005");
  const cluster = await init({ tracesFile: file });
  try {
    const env = await cluster.actor(EnvActorClass, [{ maxSteps: 20 }]);
    const engine = await cluster.actor(Scripted, [goldReplies(t)], { process: "dedicated" });
    const rollout = await cluster.actor(RolloutActorClass, [{ env, policy: { kind: "engine", name: "scripted:gold" }, engine }]);
    return { t, rec: await rollout.run({ task: t, rolloutIndex }) };
  } finally {
    await cluster.shutdown();
  }
}

describe("trajectory tracing", function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    await dockerEnv();
    dir = mkdtempSync(join(tmpdir(), "troupe-trace-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("currentCall().traceparent is the W3C context of the caller's span for that call", async () => {
    const file = join(dir, "call-traces.jsonl");
    const cluster = await init({ tracesFile: file });
    let info;
    try {
      const e = await cluster.actor(Echo, [], { process: "dedicated" });
      info = await e.callInfo();
    } finally {
      await cluster.shutdown();
    }
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(info.traceparent ?? "");
    expect(m, info.traceparent).to.not.equal(null);
    const spans: Span[] = readTraceLines(readFileSync(file, "utf8"));
    // The caller's producer span for the call is the parent the context names.
    const producer = spans.find((s) => s.spanId === m![2]);
    expect(producer, "the span named by traceparent").to.not.equal(undefined);
    expect(producer!.traceId).to.equal(m![1]);
    expect(producer!.name).to.match(/callInfo/);
  });

  it("gives each trajectory one trace: invoke_agent → chat / execute_tool / reward, through three actors in several processes", async () => {
    const file = join(dir, "traces.jsonl");
    const { t, rec } = await tracedTrajectory(file, 3);
    expect(rec.reward).to.equal(1);
    expect(rec.policyVersion).to.equal(7);
    const spans: Span[] = readTraceLines(readFileSync(file, "utf8"));
    const trace = spans.filter((s) => s.traceId === rec.traceId);
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const agent = trace.filter((s) => s.name === "invoke_agent troupe-swe");
    expect(agent).to.have.length(1);
    expect(agent[0].attributes).to.deep.include({
      "gen_ai.operation.name": "invoke_agent", "gen_ai.provider.name": "troupe.scripted", "rl.task_id": "textkit-005", "rl.rollout_index": 3,
      "rl.reward": 1, "rl.termination": "finished", "rl.policy_version": 7,
    });
    const childrenOf = (id: string, prefix: string) => trace.filter((s) => s.parentSpanId === id && s.name.startsWith(prefix));
    const chats = childrenOf(agent[0].spanId, "chat ");
    const tools = childrenOf(agent[0].spanId, "execute_tool ");
    expect(chats.length).to.equal(rec.steps);
    expect(tools.length).to.equal(rec.steps);
    for (const c of chats) {
      expect(c.attributes).to.include({ "gen_ai.operation.name": "chat", "gen_ai.request.model": "gold" });
      expect(c.attributes["gen_ai.usage.input_tokens"]).to.be.a("number");
      expect(c.attributes["gen_ai.usage.output_tokens"]).to.be.above(0);
      expect(c.attributes["gen_ai.response.finish_reasons"]).to.deep.equal(["stop"]);
    }
    expect(tools.map((s) => s.attributes["gen_ai.tool.name"])).to.include.members(["file_editor", "finish"]);
    expect(new Set(tools.map((s) => s.attributes["gen_ai.tool.call.id"])).size).to.equal(tools.length);
    expect(childrenOf(agent[0].spanId, "reward")[0].attributes).to.include({ "rl.reward": 1 });
    // Actor spans of the three actors, joined into this trace; at least two processes.
    const actorSpans = new Set(trace.map((s) => s.name.split(".")[0]).filter((n) => n.endsWith("Actor") || n === "ScriptedEngine"));
    expect([...actorSpans]).to.include.members(["RolloutActor", "EnvActor", "ScriptedEngine"]);
    expect(new Set(trace.map((s) => s.pid)).size).to.be.at.least(2);
    // The work of the trajectory, in whatever process, hangs from the agent span.
    const underAgent = (s: Span): boolean => {
      for (let p = s.parentSpanId; p; p = byId.get(p)?.parentSpanId) if (p === agent[0].spanId) return true;
      return false;
    };
    const work = trace.filter((s) => /^(chat |execute_tool |reward|EnvActor\.|ScriptedEngine\.)/.test(s.name));
    expect(work.length).to.be.at.least(3 * rec.steps);
    for (const s of work) expect(underAgent(s), s.name).to.equal(true);
    // Message contents stay out of spans.
    const blob = JSON.stringify(trace.map((s) => s.attributes));
    expect(blob).to.not.include("<function=");
    expect(blob).to.not.include(t.problemStatement.slice(0, 30));
  });

  it("with OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true, spans say what was said: the new turns and the reply of each chat, each tool's arguments and result", async () => {
    const file = join(dir, "content-traces.jsonl");
    process.env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT = "true";
    let t, rec;
    try {
      ({ t, rec } = await tracedTrajectory(file, 0));
    } finally {
      delete process.env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT;
    }
    const trace = readTraceLines(readFileSync(file, "utf8")).filter((s) => s.traceId === rec.traceId);
    const byStart = (a: Span, b: Span) => Number(BigInt(a.startTimeUnixNano) - BigInt(b.startTimeUnixNano));
    const chats = trace.filter((s) => s.name.startsWith("chat ")).sort(byStart);
    const tools = trace.filter((s) => s.name.startsWith("execute_tool ")).sort(byStart);
    expect(chats).to.have.length(rec.steps);
    type Msg = { role: string; parts: { type: string; content: string }[]; finish_reason?: string };
    const input = (s: Span) => JSON.parse(s.attributes["gen_ai.input.messages"] as string) as Msg[];
    const output = (s: Span) => JSON.parse(s.attributes["gen_ai.output.messages"] as string) as Msg[];
    // The first call's input is the prompt; each later one's, the observation since.
    expect(input(chats[0]).map((m) => m.role)).to.deep.equal(["system", "user"]);
    expect(input(chats[0])[1].parts[0].content).to.include(t.problemStatement.slice(0, 30));
    for (let i = 1; i < chats.length; i++) {
      expect(input(chats[i]).map((m) => m.role)).to.deep.equal(["user"]);
      expect(input(chats[i])[0].parts[0].content.startsWith(tools[i - 1].attributes["gen_ai.tool.call.result"] as string)).to.equal(true);
    }
    // Each reply is the scripted one, decoded, without its end token.
    expect(chats.map((c) => output(c)[0].parts[0].content)).to.deep.equal(goldReplies(t).slice(0, chats.length));
    expect(output(chats[0])[0]).to.include({ role: "assistant", finish_reason: "stop" });
    const args = tools.map((s) => JSON.parse(s.attributes["gen_ai.tool.call.arguments"] as string) as Record<string, string>);
    expect(args.some((a) => typeof a.command === "string")).to.equal(true);
  });
});
