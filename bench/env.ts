// Environment benchmarks against plain Docker, in the same run on the same engine.
// env-step:  execute_bash `echo hi` through the env's persistent shell vs a dockerode exec.
// env-reset: reset(task) to the first observation with a warm pool vs a cold container start.
// reward:    the reward in a fresh sandbox from the warm pool (what the reward does, so that
//            nothing but the agent's source change counts) vs the tests run in place.
import Docker from "dockerode";
import { PassThrough } from "node:stream";
import { applyPatch, buildImages, computeReward, DockerBackend, loadTasks, runTool, SWEEnv, WarmPool } from "../envs/index.js";
import { log, size } from "./util.js";

const p50 = (xs: number[]) => +[...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)].toFixed(2);

async function setup() {
  const backend = await DockerBackend.connect();
  const task = (await loadTasks("bundled")).tasks[0];
  await buildImages(backend.docker, [task]);
  return { backend, task };
}

/** A plain `docker exec sh -c CMD` with output collected: what a tool call costs without a shell. */
export async function dockerExec(docker: Docker, id: string, cmd: string): Promise<void> {
  const exec = await docker.getContainer(id).exec({ Cmd: ["sh", "-c", cmd], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  const out = new PassThrough();
  docker.modem.demuxStream(stream, out, new PassThrough());
  await new Promise((r) => stream.on("end", r));
  await exec.inspect();
}

export async function step(): Promise<Record<string, number>> {
  const { backend, task } = await setup();
  const sb = await backend.create({ image: task.image });
  try {
    const ctx = { sandbox: sb, stepTimeoutSec: 90, history: new Map() };
    // Alternating blocks, so that machine noise hits both alike without one's cleanup (the
    // engine reaps every finished exec) landing inside the other's timing.
    const ours: number[] = [];
    const plain: number[] = [];
    const id = (sb as unknown as { container: Docker.Container }).container.id;
    for (let round = 0; round < size(5, 1); round++) {
      for (let i = 0; i < size(20, 3); i++) {
        const t = performance.now();
        await runTool(ctx, { name: "execute_bash", params: { cmd: "echo hi" } });
        ours.push(performance.now() - t);
      }
      for (let i = 0; i < size(20, 3); i++) {
        const t = performance.now();
        await dockerExec(backend.docker, id, "echo hi");
        plain.push(performance.now() - t);
      }
    }
    log(`execute_bash p50 ${p50(ours)} ms, docker exec p50 ${p50(plain)} ms`);
    return { troupe_step_ms_p50: p50(ours), docker_exec_ms_p50: p50(plain), speedup: +(p50(plain) / p50(ours)).toFixed(1) };
  } finally {
    await sb.close();
  }
}

export async function reset(): Promise<Record<string, number>> {
  const { backend, task } = await setup();
  const pool = new WarmPool(backend, { size: 2 });
  const env = new SWEEnv(pool);
  const N = size(15, 2);
  const ours: number[] = [];
  const cold: number[] = [];
  try {
    pool.warm({ image: task.image, workdir: task.workdir });
    await new Promise((r) => setTimeout(r, size(3000, 500)));
    for (let i = 0; i < N; i++) {
      let t = performance.now();
      await env.reset(task);
      await env.step({ name: "execute_bash", params: { cmd: "true" } });
      ours.push(performance.now() - t);
      await env.close();
      // cold: create + start a container of the same image and run one command in it
      t = performance.now();
      const c = await backend.docker.createContainer({ Image: task.image, Cmd: ["true"], HostConfig: { NetworkMode: "none" } });
      await c.start();
      await c.wait();
      cold.push(performance.now() - t);
      await c.remove({ force: true });
      await new Promise((r) => setTimeout(r, size(1500, 300))); // let the pool refill, as between trajectories
    }
  } finally {
    await env.close();
    await pool.close();
  }
  log(`reset p50 ${p50(ours)} ms (warm pool), docker run p50 ${p50(cold)} ms`);
  return { troupe_reset_ms_p50: p50(ours), docker_run_ms_p50: p50(cold), speedup: +(p50(cold) / p50(ours)).toFixed(1) };
}

export async function reward(): Promise<Record<string, number>> {
  const { backend, task } = await setup();
  const pool = new WarmPool(backend, { size: 2 });
  const env = new SWEEnv(pool);
  const fresh: number[] = [];
  const inPlace: number[] = [];
  try {
    pool.warm({ image: task.image, workdir: task.workdir });
    await new Promise((r) => setTimeout(r, size(3000, 500)));
    for (let i = 0; i < size(10, 2); i++) {
      // Both measured on the same trajectory's sandbox, the gold patch applied: first the
      // reward (a fresh sandbox, the diff moved there), then the same tests in place.
      await env.reset(task);
      await applyPatch(env.currentSandbox!, task.goldPatch!);
      let t = performance.now();
      const r = await env.reward();
      fresh.push(performance.now() - t);
      t = performance.now();
      const own = await computeReward(env.currentSandbox!, task);
      inPlace.push(performance.now() - t);
      if (r.reward !== 1 || own.reward !== 1) throw new Error(`the gold patch scored ${r.reward} (fresh) and ${own.reward} (in place)`);
      await env.close();
      await new Promise((r) => setTimeout(r, size(1500, 300))); // the pool refills between trajectories
    }
  } finally {
    await env.close();
    await pool.close();
  }
  log(`reward p50 ${p50(fresh)} ms in a fresh sandbox, ${p50(inPlace)} ms in place`);
  return { fresh_reward_ms_p50: p50(fresh), in_place_reward_ms_p50: p50(inPlace), overhead_ms: +(p50(fresh) - p50(inPlace)).toFixed(1), ratio: +(p50(fresh) / p50(inPlace)).toFixed(2) };
}
