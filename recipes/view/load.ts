// What the viewer shows of a run folder (a deepswe run or an evaluation), read from the files
// the recipes leave there and decoded into text: the page itself runs no tokenizer.
import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parseAction } from "../../envs/index.js";
import { IM_END, makeTokenizer, parseChatML, type Tokenizer } from "../../llm/index.js";
import type { Trajectory } from "../../rl/index.js";
import { readTraceLines, type TraceSpan } from "../../runtime/index.js";
import type { TaskRow } from "../eval/eval.js";
import { readJsonl } from "../jsonl.js";
import { tokenizerOfTrajectories } from "../verifier/train-verifier.js";

/** One turn of a trajectory as read: who, what, and for a reply the tool call it made. */
export interface Turn {
  role: "system" | "user" | "assistant" | "tool";
  text: string;
  tool?: { name: string; params: Record<string, string> } | { error: string };
}

/** A span of a trajectory's trace, its times in ms from the trace's start. */
export interface ViewSpan {
  id: string;
  parent?: string;
  name: string;
  service: string;
  start: number;
  ms: number;
  error: boolean;
}

export interface ViewTrajectory {
  /** Its place in trajectories.jsonl. */
  i: number;
  task: string;
  rollout: number;
  step?: number;
  reward: number;
  termination: string;
  steps: number;
  tokens: number;
  generated: number;
  version?: number;
  policy: string;
  error?: string;
  patch?: string;
  tests?: Record<string, string>;
  turns: Turn[];
  spans: ViewSpan[];
}

export interface ViewData {
  title: string;
  kind: "training" | "evaluation";
  /** metrics.jsonl's rows (training) */
  metrics: Record<string, unknown>[];
  /** results.jsonl's rows (evaluation) */
  results: TaskRow[];
  trajectories: ViewTrajectory[];
}

/** Reads a run or evaluation folder; an error names what is missing. */
export function loadRun(dir: string): ViewData {
  if (!existsSync(dir)) throw new TypeError(`${dir}: no such folder`);
  const metrics = readJsonl<Record<string, unknown>>(join(dir, "metrics.jsonl"));
  const results = readJsonl<TaskRow>(join(dir, "results.jsonl"));
  const rows = readJsonl<Trajectory & { step?: number }>(join(dir, "trajectories.jsonl"));
  if (!metrics.length && !results.length && !rows.length) {
    throw new TypeError(`${dir}: not a run folder (no metrics.jsonl, results.jsonl or trajectories.jsonl with rows)`);
  }
  const tok = makeTokenizer(rows.length ? tokenizerOfTrajectories(rows) : "bytes");
  const spans = spansByTrace(join(dir, "traces.jsonl"));
  return {
    title: basename(dir),
    kind: metrics.length || !results.length ? "training" : "evaluation",
    metrics, results,
    trajectories: rows.map((t, i) => ({
      i, task: t.taskId, rollout: t.rolloutIndex, step: t.step, reward: t.reward, termination: t.termination, steps: t.steps,
      tokens: t.tokens.length, generated: t.mask.reduce((a, m) => a + m, 0), version: t.policyVersion, policy: t.policy,
      error: t.error ?? t.scoringError, patch: t.patch, tests: t.tests,
      turns: turnsOf(t, tok), spans: (t.traceId && spans.get(t.traceId)) || [],
    })),
  };
}

/**
 * A trajectory's conversation: the prompt's messages, then each run of generated tokens (a
 * reply, with the tool call parsed from it as the environment parsed it) and each run of
 * observation tokens (the chat template's user turn that carried the tool's output).
 */
export function turnsOf(t: Trajectory, tok: Tokenizer): Turn[] {
  const turns: Turn[] = parseChatML(tok.decode(t.tokens.slice(0, t.promptLength))).map((m) => ({ role: m.role as Turn["role"], text: m.content }));
  for (let at = t.promptLength; at < t.tokens.length;) {
    const generated = t.mask[at] === 1;
    let end = at;
    while (end < t.tokens.length && (t.mask[end] === 1) === generated) end++;
    const text = tok.decode(t.tokens.slice(at, end));
    if (generated) {
      const reply = text.endsWith(IM_END) ? text.slice(0, -IM_END.length) : text;
      const parsed = parseAction(reply);
      turns.push({ role: "assistant", text: reply, tool: "error" in parsed ? { error: parsed.error } : { name: parsed.call.name, params: parsed.call.params } });
    } else {
      for (const m of parseChatML(text)) turns.push({ role: "tool", text: m.content });
    }
    at = end;
  }
  return turns;
}

/** The spans of traces.jsonl by trace, times from each trace's first start. */
function spansByTrace(file: string): Map<string, ViewSpan[]> {
  const out = new Map<string, ViewSpan[]>();
  if (!existsSync(file)) return out;
  const all = readTraceLines(readFileSync(file, "utf8"));
  const byTrace = new Map<string, typeof all>();
  for (const s of all) (byTrace.get(s.traceId) ?? byTrace.set(s.traceId, []).get(s.traceId)!).push(s);
  for (const [id, spans] of byTrace) {
    const t0 = spans.reduce((m, s) => (BigInt(s.startTimeUnixNano) < m ? BigInt(s.startTimeUnixNano) : m), BigInt(spans[0].startTimeUnixNano));
    const ms = (ns: string) => Number(BigInt(ns) - t0) / 1e6;
    // A call's sending span names the actor's subject (troupe.a.<id>.method send); the span that
    // received it names the class: the waterfall shows that name on both.
    const received = new Map(spans.filter((s) => s.kind === "CONSUMER" && s.parentSpanId).map((s) => [s.parentSpanId!, s.name]));
    const label = (s: TraceSpan) => (s.kind === "PRODUCER" && received.has(s.spanId) ? `${received.get(s.spanId)} send` : s.name);
    out.set(id, spans
      .map((s) => ({ id: s.spanId, parent: s.parentSpanId, name: label(s), service: s.service, start: ms(s.startTimeUnixNano), ms: ms(s.endTimeUnixNano) - ms(s.startTimeUnixNano), error: s.status.code === 2 }))
      .sort((a, b) => a.start - b.start));
  }
  return out;
}
