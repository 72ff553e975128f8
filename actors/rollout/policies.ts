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

export type PolicySpec = { kind: "replay" } | { kind: "engine"; name: string } | { kind: "openai"; urls: string[]; model: string };

export function parsePolicySpec(model: string): { kind: "replay" } | { kind: "native"; dir: string } | { kind: "openai"; urls: string[]; model: string } {
  if (model === "replay:gold") return { kind: "replay" };
  if (model.startsWith("native:") && model.length > 7) return { kind: "native", dir: model.slice(7) };
  // The name follows the last colon: it may hold '/' (vLLM serves a model under its Hugging Face
  // id, "Qwen/Qwen3-8B"), and a URL may end in /v1; all digits there is a port without a name.
  const m = /^openai:(https?:\/\/.+):([^:]+)$/.exec(model);
  if (m && !/^\d+(\/.*)?$/.test(m[2])) return { kind: "openai", urls: m[1].split(","), model: m[2] };
  throw new TypeError(`--model '${model}': expected replay:gold, native:CHECKPOINT_DIR or openai:URL[,URL…]:NAME (e.g. openai:http://host:8000/v1:Qwen/Qwen3-8B)`);
}

/** The policy one trajectory uses; `session` keeps an OpenAI trajectory on one endpoint. */
export function policyFor(spec: PolicySpec, task: Task, tok: Tokenizer, engine?: ActorHandle<Generator>, openai?: OpenAIClient, session = task.id, scaffold: Scaffold = "full"): Policy {
  if (spec.kind === "replay") {
    return new ScriptedPolicy(tok, goldReplies(task, scaffold), "replay:gold");
  }
  if (spec.kind === "openai") {
    if (!openai) throw new TypeError("an openai policy needs its client");
    return openai.session(session);
  }
  if (!engine) throw new TypeError(`policy ${spec.name} needs an engine`);
  return new EnginePolicy(engine, spec.name);
}
