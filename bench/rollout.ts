// `npm run bench -- rollout`: trajectories per minute with the replay policy (env-bound: every
// step a real tool call in a real sandbox, then the tests) at 1, 4 and 16 env actors, and the
// scaling efficiency against 1 actor, measured in the same run. Actor start-up is excluded.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildImages, DockerBackend, loadTasks } from "../envs/index.js";
import { runEval } from "../recipes/index.js";
import { SMOKE } from "./util.js";

export async function run(): Promise<Record<string, number>> {
  const { tasks } = await loadTasks("bundled");
  await buildImages((await DockerBackend.connect()).docker, tasks);
  const dir = mkdtempSync(join(tmpdir(), "troupe-bench-rollout-"));
  const out: Record<string, number> = {};
  try {
    for (const n of SMOKE ? [1, 4] : [1, 4, 16]) {
      const k = Math.max(1, Math.ceil((4 * n) / tasks.length));  // at least 4 trajectories per actor
      const s = await runEval({ tasks: SMOKE ? tasks.slice(0, n) : tasks, model: "replay:gold", k, parallel: n, nodes: n >= 16 ? 2 : 1, out: join(dir, `n${n}`), progress: () => undefined });
      const perMin = (s.trajectories * 60_000) / s.rolloutMs;
      console.error(`${n} env actors: ${s.trajectories} trajectories in ${(s.rolloutMs / 1000).toFixed(1)} s = ${perMin.toFixed(1)}/min (${s.errors} errors, pass@1 ${s.pass_at_1})`);
      out[`traj_per_min_${n}`] = +perMin.toFixed(1);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  out.efficiency_4 = +(out.traj_per_min_4 / (4 * out.traj_per_min_1)).toFixed(2);
  if (out.traj_per_min_16) out.efficiency_16 = +(out.traj_per_min_16 / (16 * out.traj_per_min_1)).toFixed(2);
  return out;
}
