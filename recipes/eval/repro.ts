// Reproduction tests for test-time selection (DEEPSWE.md): per task, a model writes scripts
// from the issue alone that should exit 0 once it is fixed; each runs against the base state
// (a script that passes there reproduces nothing and is dropped) and then against every
// candidate's patch, in fresh sandboxes spread over the env actors. A candidate's score is how
// many of the kept scripts it passes.
import type { EnvActor } from "../../actors/index.js";
import type { Task } from "../../envs/index.js";
import { encodeChat, type ChatMessage, type Policy, type Tokenizer } from "../../llm/index.js";
import { failed, type Trajectory } from "../../rl/index.js";
import type { ActorHandle } from "../../runtime/index.js";

/** Who writes a task's reproduction scripts. */
export interface ReproWriter {
  name: string;
  write(task: Task, n: number): Promise<string[]>;
}

/** What the reproduction of one task came to. */
export interface ReproOutcome {
  /** Per rollout index: kept scripts passed (none for failed trajectories and empty patches). */
  scores: (number | undefined)[];
  written: number;
  /** Scripts that fail on the base state: those that reproduce the issue, and count. */
  reproducing: number;
}

export function reproMessages(task: Task): ChatMessage[] {
  return [
    { role: "system", content: "You write tests that reproduce bugs reported against a Python repository." },
    {
      role: "user",
      content: `<issue>\n${task.problemStatement}\n</issue>\n\nWrite one standalone Python script, run from the repository's root folder, that checks the behaviour the issue asks for: ` +
        "it must exit with status 0 once the issue is fixed and fail (an assertion, a non-zero exit) while it is present. Reply with the script in a single ```python block.",
    },
  ];
}

/** The first ```python (or bare ```) block of a reply. */
export function parseReproScript(reply: string): string | undefined {
  const m = /```(?:python|py)?[ \t]*\n([\s\S]*?)```/.exec(reply);
  return m && m[1].trim() ? `${m[1].trimEnd()}\n` : undefined;
}

/** A model as the writer: n samples at temperature 1; a reply without a script is dropped. */
export function modelWriter(name: string, policy: (key: string) => Policy, tok: Tokenizer, maxTokens = 2048): ReproWriter {
  return {
    name,
    async write(task, n) {
      const { ids } = encodeChat(tok, reproMessages(task), { addGenerationPrompt: true, enableThinking: false });
      const replies = await Promise.all(Array.from({ length: n }, (_, i) => policy(`repro-${task.id}-${i}`).generate(ids, { maxTokens, temperature: 1, seed: i })));
      return replies.map((r) => parseReproScript(tok.decode(r.tokens))).filter((x): x is string => x !== undefined);
    },
  };
}

/**
 * replay:gold as the writer: the task's own hidden FAIL_TO_PASS tests (pytest tasks) as one
 * script. It checks the mechanism against a known reproduction; a score made with it has seen
 * the hidden tests and is no honest selector.
 */
export const hiddenTestsWriter: ReproWriter = {
  name: "replay:gold",
  async write(task) {
    const ids = JSON.stringify(task.failToPass);
    return [[
      "import subprocess, sys",
      `subprocess.run(["git", "apply", "-"], input=${JSON.stringify(task.testPatch)}.encode(), check=True)`,
      `sys.exit(subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *${ids}]).returncode)`,
    ].join("\n") + "\n"];
  },
};

/**
 * Writes `n` scripts for the task, keeps those that fail on the base state, and counts for each
 * candidate the kept scripts its patch passes; every run in its own sandbox, spread over `envs`.
 */
export async function reproduce(writer: ReproWriter, envs: ActorHandle<EnvActor>[], task: Task, trs: (Trajectory | null)[], n: number, timeoutSec?: number): Promise<ReproOutcome> {
  const scripts = await writer.write(task, n);
  let turn = 0;
  const run = (patch: string | undefined, script: string) => envs[turn++ % envs.length].reproduce(task, patch, script, timeoutSec);
  const base = await Promise.all(scripts.map((s) => run(undefined, s)));
  const kept = scripts.filter((_, i) => !base[i].passed);
  const scores = await Promise.all(trs.map(async (t) => {
    if (failed(t) || !t!.patch?.trim()) return undefined;
    const results = await Promise.all(kept.map((s) => run(t!.patch, s)));
    return results.filter((r) => r.passed).length;
  }));
  return { scores, written: scripts.length, reproducing: kept.length };
}
