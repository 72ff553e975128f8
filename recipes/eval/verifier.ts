// The execution-free verifier (DEEPSWE.md, test-time scaling): a model reads the issue, what
// the agent did (condensed) and its final patch, and is asked whether the patch resolves the
// issue. Its score is P(YES) = p(YES) / (p(YES) + p(NO)), the two answers' log-probs after the
// prompt read through the Scorer interface — a native checkpoint served by an EngineActor, or an
// OpenAI-compatible endpoint with `echo` log-probs — so any model the agent can be is a verifier.
import type { Task } from "../../envs/index.js";
import { encodeChat, type ChatMessage, type Scorer, type Tokenizer } from "../../llm/index.js";
import type { Trajectory } from "../../rl/index.js";

export interface Verifier {
  /** For the report: the --verifier spec. */
  name: string;
  scorer: Scorer;
  tokenizer: Tokenizer;
  /** The prompt is cut down until it fits (the verifier's context, less the answer). */
  maxPromptTokens: number;
}

/** The assistant's reply starts with this; the two continuations scored after it. */
export const VERDICT = { open: "<judgement>", yes: "YES", no: "NO" } as const;

/** Text budgets, in characters, of the prompt's three parts before any cut. */
const BUDGET = { problem: 6000, trajectory: 12000, patch: 12000 };

/** The verification conversation, ending where the model's answer starts. */
export function verificationMessages(problem: string, condensed: string, patch: string): ChatMessage[] {
  return [
    { role: "system", content: "You review a software engineer's fix for a GitHub issue. Judge whether the final patch resolves the issue, the way the repository's maintainers' tests would, without breaking existing behaviour." },
    {
      role: "user",
      content: `<issue>\n${problem}\n</issue>\n\n<what_the_engineer_did>\n${condensed}\n</what_the_engineer_did>\n\n<final_patch>\n${patch}\n</final_patch>\n\n` +
        `Does the final patch resolve the issue? Answer ${VERDICT.open}${VERDICT.yes}</judgement> or ${VERDICT.open}${VERDICT.no}</judgement>.`,
    },
  ];
}

/** `s` cut to `n` characters, keeping its start and end and saying how much went. */
function clip(s: string, n: number): string {
  if (s.length <= n) return s;
  const half = Math.max(0, Math.floor((n - 40) / 2));
  return `${s.slice(0, half)}\n[… ${s.length - 2 * half} characters cut …]\n${s.slice(s.length - half)}`;
}

/**
 * What the agent did, from its token record: every reply it wrote, each observation cut short
 * (they are the bulk, and the replies say what was learnt from them), in the agent's own
 * tokenizer; the newest steps kept when the whole is too long.
 */
export function condensedTrajectory(t: Trajectory, agentTok: Tokenizer, maxChars: number): string {
  const parts: string[] = [];
  for (let i = t.promptLength; i < t.tokens.length;) {
    let j = i;
    while (j < t.tokens.length && t.mask[j] === t.mask[i]) j++;
    const text = agentTok.decode(t.tokens.slice(i, j)).trim();
    if (text) parts.push(t.mask[i] === 1 ? `[agent]\n${clip(text, 2000)}` : `[observation]\n${clip(text, 400)}`);
    i = j;
  }
  const all = parts.join("\n");
  return all.length <= maxChars ? all : `[… earlier steps cut …]\n${all.slice(all.length - maxChars)}`;
}

/**
 * The prompt's token ids for one candidate: the budgets halve until it fits the verifier's
 * context. The prefix VERDICT.open is part of the prompt, so both answers are scored from the
 * same position.
 */
export function verificationPrompt(v: Verifier, task: Task, t: Trajectory, agentTok: Tokenizer): number[] {
  for (let scale = 1; ; scale /= 2) {
    const messages = verificationMessages(clip(task.problemStatement, BUDGET.problem * scale), condensedTrajectory(t, agentTok, BUDGET.trajectory * scale), clip(t.patch ?? "", BUDGET.patch * scale));
    const { ids } = encodeChat(v.tokenizer, messages, { addGenerationPrompt: true, enableThinking: false });
    const prompt = [...ids, ...v.tokenizer.encode(VERDICT.open)];
    if (prompt.length <= v.maxPromptTokens) return prompt;
    if (scale < 1e-3) throw new RangeError(`the verification prompt does not fit ${v.maxPromptTokens} tokens even with the issue, the trajectory and the patch cut to nothing (${prompt.length} tokens)`);
  }
}

/** P(YES) for one candidate. */
export async function pYes(v: Verifier, task: Task, t: Trajectory, agentTok: Tokenizer): Promise<number> {
  const prompt = verificationPrompt(v, task, t, agentTok);
  const [yes, no] = await v.scorer.continuationLogprobs(prompt, [v.tokenizer.encode(VERDICT.yes), v.tokenizer.encode(VERDICT.no)]);
  if (!Number.isFinite(yes) || !Number.isFinite(no)) throw new RangeError(`the verifier gave log-probs ${yes} (YES) and ${no} (NO)`);
  return 1 / (1 + Math.exp(no - yes));
}
