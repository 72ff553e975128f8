// env-scale: 8, 32 and 64 sandboxes at once, each running a loop of tool calls (execute_bash,
// file_editor view, search) for a fixed time. Per level: tool steps per second, failures, the
// step latency p50/p99, and how long the sandboxes took to start. The baseline, same run and
// same containers: a loop of plain `docker exec` calls at the same concurrency.
import type Docker from "dockerode";
import { DockerBackend, loadTasks, buildImages, runTool, type Sandbox, type ToolCall } from "../envs/index.js";
import { dockerExec } from "./env.js";
import { log, size, SMOKE } from "./util.js";

const LEVELS = (process.env.ENV_SCALE_LEVELS ?? (SMOKE ? "2" : "8,32,64")).split(",").map(Number);
const SECONDS = Number(process.env.ENV_SCALE_SECONDS ?? size(8, 1));

const CALLS: ToolCall[] = [
  { name: "execute_bash", params: { cmd: "ls -la && python3 -c 'print(1+1)'" } },
  { name: "file_editor", params: { command: "view", path: "/testbed/tests" } },
  { name: "search", params: { search_term: "def ", path: "/testbed" } },
  { name: "execute_bash", params: { cmd: "echo hi" } },
];

const pct = (xs: number[], q: number) => (xs.length ? +[...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))].toFixed(1) : NaN);

/** Runs `step` in a loop on each sandbox until the time is up; steps/s, failures, latencies. */
async function loop(sandboxes: Sandbox[], step: (sb: Sandbox, i: number) => Promise<boolean>) {
  const lat: number[] = [];
  let failures = 0;
  const end = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  await Promise.all(sandboxes.map(async (sb) => {
    for (let i = 0; performance.now() < end; i++) {
      const t = performance.now();
      const ok = await step(sb, i).catch(() => false);
      lat.push(performance.now() - t);
      if (!ok) failures++;
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  return { perSec: +(lat.length / secs).toFixed(1), failures, p50: pct(lat, 0.5), p99: pct(lat, 0.99) };
}

export async function run(): Promise<Record<string, number>> {
  const backend = await DockerBackend.connect();
  const task = (await loadTasks("bundled")).tasks[0];
  await buildImages(backend.docker, [task]);
  const out: Record<string, number> = {};
  for (const n of LEVELS) {
    const t = performance.now();
    const made = await Promise.allSettled(Array.from({ length: n }, () => backend.create({ image: task.image, workdir: task.workdir })));
    const sandboxes = made.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const startS = +((performance.now() - t) / 1000).toFixed(1);
    try {
      const history = new Map<string, string[]>();
      const ours = await loop(sandboxes, async (sb, i) => {
        const r = await runTool({ sandbox: sb, stepTimeoutSec: 90, history }, CALLS[i % CALLS.length]);
        return !r.error;
      });
      const plain = await loop(sandboxes, async (sb) => {
        await dockerExec(backend.docker, (sb as unknown as { container: Docker.Container }).container.id, "echo hi");
        return true;
      });
      log(`${n} sandboxes (${sandboxes.length} started in ${startS} s): troupe ${ours.perSec} steps/s ` +
        `(p50 ${ours.p50} ms, p99 ${ours.p99} ms, ${ours.failures} failed); docker exec ${plain.perSec}/s (p50 ${plain.p50} ms)`);
      Object.assign(out, {
        [`troupe_steps_per_s_${n}`]: ours.perSec,
        [`docker_exec_per_s_${n}`]: plain.perSec,
        [`failures_${n}`]: ours.failures + (n - sandboxes.length),
        [`step_ms_p50_${n}`]: ours.p50,
        [`step_ms_p99_${n}`]: ours.p99,
        [`start_s_${n}`]: startS,
      });
    } finally {
      await Promise.all(sandboxes.map((s) => s.close()));
    }
  }
  return out;
}
