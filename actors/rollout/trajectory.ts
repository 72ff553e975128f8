// One agent trajectory: the model → parse → tool → observation loop over an SWE env, recorded
// token for token. RolloutActor runs it; it also runs in a plain script.
import {
  budgetNotice, exitCodeOf, observationText, parseAction, reminder, SandboxBrokenError, scaffoldMessages, type RewardResult, type Scaffold, type StepResult,
  type Task, type ToolCall,
} from "../../envs/index.js";
import { encodeChat, IM_END, IM_START, type Policy, type SamplingParams, type Tokenizer } from "../../llm/index.js";
import { faultOf, type Termination, type Trajectory } from "../../rl/index.js";
import { startSpan, type AppSpan } from "../../runtime/index.js";

export interface TrajectoryLimits {
  /** Tokens the prompt may take (DEEPSWE: 4,096). */
  maxPromptTokens?: number;
  /** Tokens for everything after the prompt, observations included (DEEPSWE: 32,768). */
  maxResponseTokens?: number;
  /** Tokens one reply may take. */
  maxTurnTokens?: number;
  /** Wall-clock limit of the whole trajectory, seconds (DEEPSWE: 5,400). */
  timeoutSec?: number;
  /** A tool call that has not come back this many seconds after its own limit means a hung sandbox. */
  toolGraceSec?: number;
}

/** What the loop needs of an environment: an SWEEnv, or an EnvActor's handle behind an adapter. */
export interface AgentEnv {
  readonly stepTimeoutSec: number;
  reset(task: Task): Promise<string>;
  step(call: ToolCall): Promise<StepResult>;
  reward(): Promise<RewardResult>;
}

export interface TrajectoryOptions {
  env: AgentEnv;
  policy: Policy;
  tokenizer: Tokenizer;
  task: Task;
  rolloutIndex?: number;
  sampling?: Omit<SamplingParams, "maxTokens" | "stop">;
  limits?: TrajectoryLimits;
  /** What the agent is told (default "full", DeepSWE's prompts). */
  scaffold?: Scaffold;
}

/**
 * Runs one trajectory under an OpenTelemetry `invoke_agent` span (GenAI conventions): a `chat`
 * span per model call, an `execute_tool` span per tool call, a `reward` span, `rl.*`
 * attributes. Calls to env actors made inside carry the trace to their processes. Message
 * contents go into spans only when OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true
 * (`captureContent`).
 */
export function runTrajectory(o: TrajectoryOptions): Promise<Trajectory> {
  const [provider, model] = splitPolicyName(o.policy.name);
  const span = startSpan("invoke_agent troupe-swe", {
    "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "troupe-swe", "gen_ai.provider.name": provider, "gen_ai.request.model": model,
    "rl.task_id": o.task.id, "rl.rollout_index": o.rolloutIndex ?? 0, "rl.policy_version": o.policy.version,
  });
  return span.run(async () => {
    let rec: Trajectory | undefined;
    try {
      rec = await loop(o, provider, model);
      rec.traceId = span.traceId || undefined;
      span.set({ "rl.reward": rec.reward, "rl.termination": rec.termination, "rl.steps": rec.steps, "rl.policy_version": rec.policyVersion ?? o.policy.version });
      return rec;
    } finally {
      span.end(rec?.termination === "error" ? new Error(rec.error) : undefined);
    }
  });
}

/** "openai:NAME" and "openai-chat:NAME" → ["openai", NAME]; "native:DIR" → ["troupe.native", DIR]; else troupe.<kind>. */
function splitPolicyName(name: string): [string, string] {
  const i = name.indexOf(":");
  const kind = i < 0 ? name : name.slice(0, i);
  return [kind === "openai" || kind === "openai-chat" ? "openai" : `troupe.${kind}`, i < 0 ? name : name.slice(i + 1)];
}

/**
 * Whether spans carry what was said, as the GenAI conventions' opt-in variable asks. Then a
 * `chat` span's `gen_ai.input.messages` holds the turns added since the previous call (the whole
 * history on each would make a trajectory's trace quadratic in its length; the first call's is
 * the system and user prompt), its `gen_ai.output.messages` the decoded reply, and an
 * `execute_tool` span the call's arguments and result.
 */
export function captureContent(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT ?? "").trim().toLowerCase() === "true";
}

/** Messages in the conventions' JSON form: a role and text parts. */
function messagesJson(messages: { role: string; content: string; finish?: string }[]): string {
  return JSON.stringify(messages.map((m) => ({ role: m.role, parts: [{ type: "text", content: m.content }], ...(m.finish ? { finish_reason: m.finish } : {}) })));
}

/** A child span around `fn`, ended with what `after` reads off the result. */
async function traced<T>(name: string, attrs: Record<string, string | number | undefined>, fn: () => Promise<T>, after: (r: T, s: AppSpan) => void): Promise<T> {
  const s = startSpan(name, attrs, "client");
  try {
    const r = await s.run(fn);
    after(r, s);
    s.end();
    return r;
  } catch (e) {
    s.end(e);
    throw e;
  }
}

async function loop(o: TrajectoryOptions, provider: string, model: string): Promise<Trajectory> {
  const t0 = Date.now();
  const lim = { maxPromptTokens: 4096, maxResponseTokens: 32768, maxTurnTokens: 8192, timeoutSec: 5400, toolGraceSec: 30, ...o.limits };
  const tok = o.tokenizer;
  const stop = tok.specialId(IM_END);
  const rec: Trajectory = {
    taskId: o.task.id, rolloutIndex: o.rolloutIndex ?? 0, policy: o.policy.name, policyVersion: o.policy.version, ...(o.policy.tokenExact === false ? { tokenExact: false as const } : {}),
    tokens: [], mask: [], logprobs: [], tokenVersions: [], promptLength: 0, reward: 0, termination: "error", steps: 0,
    timings: { totalMs: 0, modelMs: 0, toolMs: 0, rewardMs: 0 },
  };
  const push = (ids: number[], generated: boolean, lps?: number[]) => {
    rec.tokens.push(...ids);
    const version = generated ? (o.policy.version ?? -1) : -1;
    for (let i = 0; i < ids.length; i++) {
      rec.mask.push(generated ? 1 : 0);
      rec.logprobs.push(lps?.[i] ?? 0);
      rec.tokenVersions!.push(version);
    }
  };
  try {
    const problem = await o.env.reset(o.task);
    const scaffold = o.scaffold ?? "full";
    const messages = scaffoldMessages(scaffold, problem, o.task.workdir);
    const prompt = encodeChat(tok, messages, { addGenerationPrompt: true }).ids;
    const capture = captureContent();
    let newTurns: { role: string; content: string }[] = messages;
    push(prompt, false);
    rec.promptLength = prompt.length;
    if (prompt.length > lim.maxPromptTokens) return finishRecord(rec, "context", t0);
    const responseLeft = () => lim.maxResponseTokens - (rec.tokens.length - rec.promptLength);
    for (;;) {
      if (Date.now() - t0 > lim.timeoutSec * 1000) return finishRecord(rec, "timeout", t0);
      const budget = Math.min(lim.maxTurnTokens, responseLeft());
      if (budget <= 0) return finishRecord(rec, "context", t0);
      const tm = Date.now();
      const out = await traced(`chat ${model}`, {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": provider, "gen_ai.request.model": model, "gen_ai.usage.input_tokens": rec.tokens.length,
        "gen_ai.input.messages": capture ? messagesJson(newTurns) : undefined,
      }, () => o.policy.generate(rec.tokens, { ...o.sampling, maxTokens: budget, stop: stop === undefined ? [] : [stop] }), (r, s) => s.set({
        "gen_ai.usage.output_tokens": r.tokens.length, "gen_ai.response.finish_reasons": [r.finish],
        "gen_ai.output.messages": capture ? messagesJson([{ role: "assistant", content: tok.decode(r.tokens.filter((t) => t !== stop)), finish: r.finish }]) : undefined,
      }));
      rec.timings.modelMs += Date.now() - tm;
      rec.policyVersion = o.policy.version ?? rec.policyVersion;  // an engine reports it with each reply
      push(out.tokens, true, out.logprobs);
      const closed = stop !== undefined && out.tokens[out.tokens.length - 1] === stop;
      if (!closed) {
        // The reply was cut by the budget: the context is spent whatever it said.
        if (responseLeft() <= 0 || out.finish === "length") return finishRecord(rec, "context", t0);
      }
      const text = tok.decode(closed ? out.tokens.slice(0, -1) : out.tokens);
      const parsed = parseAction(text);
      let observation: string;
      if ("error" in parsed) {
        observation = observationText(scaffold, reminder(parsed.error));  // not a step: the env is not touched
      } else {
        const tt = Date.now();
        const call = parsed.call;
        const step = await traced(`execute_tool ${call.name}`, {
          "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": call.name, "gen_ai.tool.call.id": `call_${rec.steps + 1}`,
          "gen_ai.tool.call.arguments": capture ? JSON.stringify(call.params) : undefined,
        }, () => withDeadline(o.env.step(call), (o.env.stepTimeoutSec + lim.toolGraceSec) * 1000), (r, s) => s.set({
          "rl.tool.exit_code": r ? exitCodeOf(r.observation) : undefined, "rl.tool.error": r?.error, "rl.tool.timed_out": r === undefined,
          "gen_ai.tool.call.result": capture && r ? r.observation : undefined,
        }));
        rec.timings.toolMs += Date.now() - tt;
        if (step === undefined) return finishRecord(rec, "tool_timeout", t0);
        rec.steps++;
        if (step.end) return finishRecord(rec, step.end, t0);  // the agent's doing: reward 0, no tests
        if (step.done && parsed.call.name === "finish") break;
        if (step.stepsLeft === 0) return finishRecord(rec, "max_steps", t0);
        observation = observationText(scaffold, step.observation, step.stepsLeft);
      }
      const left = responseLeft();
      // The compact scaffold's budgets are small throughout: no notice (it would double every observation).
      if (scaffold === "full" && left < Math.max(1024, lim.maxResponseTokens / 10)) observation += budgetNotice(left);
      newTurns = [{ role: "user", content: observation }];
      // Exactly the chat template's pieces: "\n" after the reply's <|im_end|>, the user turn, the next prompt.
      const obsIds = tok.encode(`${closed ? "" : IM_END}\n${IM_START}user\n${observation}${IM_END}\n${IM_START}assistant\n`);
      if (obsIds.length >= left) return finishRecord(rec, "context", t0);
      push(obsIds, false);
    }
    const tr = Date.now();
    const r = await traced("reward", { "rl.task_id": o.task.id }, () => o.env.reward(), (x, sp) => sp.set({
      "rl.reward": x.reward, "rl.tests": Object.keys(x.statuses ?? {}).length, "rl.tests_timed_out": x.timedOut,
    }));
    rec.timings.rewardMs = Date.now() - tr;
    rec.reward = r.reward;
    rec.tests = r.statuses as Record<string, string> | undefined;
    rec.patch = r.patch;
    if (r.dropped?.length) rec.dropped = r.dropped;
    if (r.scoringError) rec.scoringError = r.scoringError;
    return finishRecord(rec, "finished", t0);
  } catch (e) {
    if (errorCode(e) === "SANDBOX_DESTROYED") {
      rec.error = (e as Error).message;
      return finishRecord(rec, "sandbox_destroyed", t0);
    }
    rec.error = e instanceof SandboxBrokenError ? `sandbox failed: ${(e as Error).message}` : (e as Error).message;
    return finishRecord(rec, "error", t0);
  }
}

/** An error's code, also when it crossed an actor call (RemoteMethodError keeps the original's). */
function errorCode(e: unknown): string | undefined {
  const err = e as { code?: string; remote?: { code?: string } };
  return err.code === "REMOTE_METHOD" ? err.remote?.code : err.code;
}

function finishRecord(rec: Trajectory, why: Termination, t0: number): Trajectory {
  rec.termination = why;
  if (!rec.tokenVersions?.some((v) => v >= 0)) delete rec.tokenVersions;  // a policy without versions
  rec.timings.totalMs = Date.now() - t0;
  const fault = faultOf(rec);
  if (fault) rec.fault = fault;
  return rec;
}

/** The promise's value, or undefined if it takes longer than `ms`. */
function withDeadline<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]).finally(() => clearTimeout(timer));
}
