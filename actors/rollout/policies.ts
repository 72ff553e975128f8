// Policies by name, as `eval --model` and the recipe take them:
//   replay:gold            the task's gold patch as tool calls (no model)
//   native:DIR             a checkpoint served by an EngineActor
//   openai:URL[,URL…]:NAME OpenAI-compatible servers (vLLM, SGLang, llm/openai-server.ts)
import { goldReplies, type Scaffold, type Task } from "../../envs/index.js";
import { OpenAIClient, ScriptedPolicy, type Completion, type Policy, type SamplingParams, type Tokenizer } from "../../llm/index.js";
import type { ActorHandle } from "../../runtime/index.js";
import type { Generator } from "../engine/generator.js";

/** A policy served by a generator somewhere in the cluster (an engine, or a hybrid learner). */
export class EnginePolicy implements Policy {
  version?: number;
  constructor(private engine: ActorHandle<Generator>, readonly name: string) {}

  async generate(prompt: number[], p: SamplingParams): Promise<Completion> {
    const r = await this.engine.generate(prompt, p);
    this.version = r.version;
    return { tokens: r.tokens, logprobs: r.logprobs, finish: r.finish };
  }
}

/** OpenAI-compatible servers: completions with token ids, or (`chat`) chat completions only. */
export type OpenAISpec = { kind: "openai"; urls: string[]; model: string; chat?: boolean };
export type PolicySpec = { kind: "replay" } | { kind: "engine"; name: string } | OpenAISpec;

export function parsePolicySpec(model: string): { kind: "replay" } | { kind: "native"; dir: string } | OpenAISpec {
  if (model === "replay:gold") return { kind: "replay" };
  if (model.startsWith("native:") && model.length > 7) return { kind: "native", dir: model.slice(7) };
  // The name follows the last colon: it may hold '/' (vLLM serves a model under its Hugging Face
  // id, "Qwen/Qwen3-8B"), and a URL may end in /v1; all digits there is a port without a name.
  const m = /^openai(-chat)?:(https?:\/\/.+):([^:]+)$/.exec(model);
  if (m && !/^\d+(\/.*)?$/.test(m[3])) return { kind: "openai", urls: m[2].split(","), model: m[3], ...(m[1] ? { chat: true } : {}) };
  throw new TypeError(`--model '${model}': expected replay:gold, native:CHECKPOINT_DIR, openai:URL[,URL…]:NAME (e.g. openai:http://host:8000/v1:Qwen/Qwen3-8B) or openai-chat:URL:NAME`);
}

/** The policy one trajectory uses; `session` keeps an OpenAI trajectory on one endpoint. */
export function policyFor(spec: PolicySpec, task: Task, tok: Tokenizer, engine?: ActorHandle<Generator>, openai?: OpenAIClient, session = task.id, scaffold: Scaffold = "full"): Policy {
  if (spec.kind === "replay") {
    return new ScriptedPolicy(tok, goldReplies(task, scaffold), "replay:gold");
  }
  if (spec.kind === "openai") {
    if (!openai) throw new TypeError("an openai policy needs its client");
    return spec.chat ? openai.chatSession(session, tok) : openai.session(session);
  }
  if (!engine) throw new TypeError(`policy ${spec.name} needs an engine`);
  return new EnginePolicy(engine, spec.name);
}
