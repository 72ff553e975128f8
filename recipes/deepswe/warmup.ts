// A fresh laptop run's supervised warm-up: the train tasks' gold demonstrations, recorded token
// for token by a replay rollout, and a few cross-entropy steps on every learner, so that the
// tiny model has seen what a solution looks like before RL starts.
import { EnvActorClass, RolloutActorClass, type LearnerActor } from "../../actors/index.js";
import type { Task } from "../../envs/index.js";
import type { ActorHandle, Cluster } from "../../runtime/index.js";
import type { DeepSWEConfig } from "./config.js";
import { runJobs } from "../rollouts.js";

export async function warmup(cluster: Cluster, c: DeepSWEConfig, train: Task[], learners: ActorHandle<LearnerActor>[], log: (l: string) => void): Promise<void> {
  const env = await cluster.actor(EnvActorClass, [{ backend: c.backend, maxSteps: 30 }]);
  const demo = await cluster.actor(RolloutActorClass, [{ env, policy: { kind: "replay" }, tokenizer: c.model.tokenizer, limits: { maxPromptTokens: c.rollout.maxPromptTokens, maxResponseTokens: 1 << 20 } }]);
  const demos = (await runJobs([demo], train.map((task) => ({ task, rolloutIndex: 0 })), "replay")).filter((t) => t.reward === 1);
  log(`warm-up: ${demos.length} gold demonstrations of ${train.length} train tasks`);
  for (let s = 1; s <= c.warmup.sftSteps; s++) {
    const seqs = demos.map((t) => ({ tokens: t.tokens, mask: t.mask }));
    const batchTokens = seqs.reduce((a, q) => a + q.mask.reduce((x, y) => x + y, 0), 0);
    const rs = await Promise.all(learners.map((l, r) => l.train(seqs.filter((_, i) => i % learners.length === r), { mode: "ce", batchTokens },
      { lr: c.warmup.lr, weightDecay: 0, maxGradNorm: c.optim.maxGradNorm })));
    log(`warm-up step ${s}/${c.warmup.sftSteps}: cross-entropy ${rs.reduce((a, r) => a + r.loss, 0).toFixed(3)}`);
  }
  await cluster.kill(demo);
  await cluster.kill(env);
}
