// The chaos harness: runs the smoke deepswe recipe while killing, at random moments drawn from
// a printed seed, one of the things a run is made of — an actor host, the node (in the laptop
// profile the driver's own process holds the node and the head), the nats-server, the native
// worker, a sandbox's container — then resumes the run until it is done, and checks what a
// run must guarantee whatever happened: every step recorded exactly once, every step with all
// of its trajectories (failures counted by kind), nothing left running.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, until } from "../helpers.js";
import { descendants, projectProcesses, sandboxContainers } from "../leftovers.js";
import { seededRandom } from "../../rl/index.js";

export const FAULTS = ["host", "node", "nats", "worker", "container"] as const;
export type FaultKind = (typeof FAULTS)[number];

export interface ChaosOptions {
  seed: number;
  /** Steps of the run (the smoke profile: two tasks of two rollouts per step). */
  steps: number;
  /** How many faults to inject: every kind in turn, in an order drawn from the seed. */
  faults: number;
  out: string;
  /** Runs (the first and its resumes) before giving up. */
  maxRuns?: number;
  /** Draws each fault's moment in [min, max] ms after the previous one (or the run's start). */
  delayMs?: [number, number];
  log?: (line: string) => void;
}

export interface Fault {
  kind: FaultKind;
  run: number;
  /** Seconds into its run. */
  at: number;
  target: string;
  /** What followed: the run went on, or it ended (how) and was resumed. */
  outcome?: string;
}

export interface ChaosReport {
  seed: number;
  faults: Fault[];
  runs: number;
  /** What the run folder and the machine show that they should not; empty when all held. */
  problems: string[];
  /** The numbers to print: injected, and survived (the run still met every guarantee). */
  injected: number;
  survived: number;
}

/** Picks a victim of `kind` in the run whose driver is `driver`, and kills it. */
async function inject(kind: FaultKind, driver: ChildProcess, pick: () => number): Promise<string | undefined> {
  const procs = [...descendants(driver.pid!)].map(([pid, p]) => [pid, p.args] as const);
  const choose = <T>(xs: T[]): T | undefined => xs[Math.floor(pick() * xs.length)];
  const kill = (pattern: RegExp, name: string) => {
    const victim = choose(procs.filter(([, args]) => pattern.test(args)));
    if (!victim) return undefined;
    process.kill(victim[0], "SIGKILL");
    return `${name} pid ${victim[0]}`;
  };
  switch (kind) {
    case "host":
      return kill(/host-main\.js/, "actor host");
    case "worker":
      return kill(/troupe-worker/, "native worker");
    case "nats":
      return kill(/(^|\/)nats-server /, "nats-server");
    case "node":
      driver.kill("SIGKILL");
      return `the driver's process (node and head) pid ${driver.pid}`;
    case "container": {
      const running = await sandboxContainers({ running: true });
      const id = choose(running);
      if (!id) return undefined;
      try {
        execFileSync("docker", ["kill", id], { stdio: "ignore" });
      } catch {
        return undefined;  // it ended on its own meanwhile
      }
      return `container ${id}`;
    }
  }
}

export async function chaos(o: ChaosOptions): Promise<ChaosReport> {
  const log = o.log ?? ((l: string) => console.error(l));
  const pick = seededRandom(o.seed);
  const [lo, hi] = o.delayMs ?? [3000, 9000];
  // Every kind in turn (an order drawn from the seed), so a short run still meets each.
  const order = [...FAULTS].sort(() => pick() - 0.5);
  const queue: FaultKind[] = Array.from({ length: o.faults }, (_, i) => order[i % order.length]);
  const faults: Fault[] = [];
  const before = { procs: new Set(projectProcesses().keys()), boxes: new Set(await sandboxContainers()) };
  const fresh = ["driver.js", "--recipe", "deepswe", "--profile", "smoke", "--out", o.out, "--set", `schedule.steps=${o.steps}`, "--set", "schedule.checkpointEvery=2"];
  let runs = 0;
  let finished = false;
  while (!finished && runs < (o.maxRuns ?? o.faults + 3)) {
    runs++;
    // A run killed before it wrote its config cannot be resumed: it starts again.
    const args = existsSync(join(o.out, "config.json")) ? ["driver.js", "--recipe", "deepswe", "--resume", o.out] : fresh;
    const started = Date.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    child.stdout!.resume();
    const exited = new Promise<number | string>((r) => child.once("exit", (code, sig) => r(code ?? sig ?? "?")));
    let running = true;
    void exited.then(() => (running = false));
    const inRun: Fault[] = [];
    while (running && queue.length) {
      const wait = lo + pick() * (hi - lo);
      await Promise.race([exited, new Promise((r) => setTimeout(r, wait))]);
      if (!running) break;
      const kind = queue[0];
      const target = await inject(kind, child, pick).catch(() => undefined);
      if (!target) continue;  // nothing of that kind right now (a phase without containers): later
      queue.shift();
      const f: Fault = { kind, run: runs, at: Math.round((Date.now() - started) / 100) / 10, target };
      faults.push(f);
      inRun.push(f);
      log(`chaos: run ${runs}, ${f.at} s: killed ${target}`);
    }
    const code = await exited;
    // Its own last word, when it had one (a process killed by a signal had none).
    const last = typeof code === "number" ? stderr.trim().split("\n").filter((l) => l.startsWith("troupe:")).pop() : undefined;
    finished = code === 0;
    for (const f of inRun.slice(0, -1)) f.outcome = "ridden out: the run went on";
    if (inRun.length) inRun[inRun.length - 1].outcome = finished ? "ridden out: the run went on" : `the run ended (${code}${last ? `: ${last}` : ""}); resumed`;
    log(`chaos: run ${runs} exited ${code}${finished ? "" : last ? ` — ${last}` : ""}`);
  }

  const problems = await check(o, finished, before);
  return { seed: o.seed, faults, runs, problems, injected: faults.length, survived: problems.length ? 0 : faults.length };
}

/** The guarantees, checked on the run folder and the machine. */
async function check(o: ChaosOptions, finished: boolean, before: { procs: Set<number>; boxes: Set<string> }): Promise<string[]> {
  const problems: string[] = [];
  if (!finished) problems.push("the run never finished");
  const config = JSON.parse(readFileSync(join(o.out, "config.json"), "utf8")) as { rollout: { tasksPerStep: number; k: number } };
  const perStep = config.rollout.tasksPerStep * config.rollout.k;
  const rows = lines(join(o.out, "metrics.jsonl")) as { step: number; terminations: Record<string, number> }[];
  const steps = rows.map((r) => r.step);
  const want = Array.from({ length: o.steps }, (_, i) => i + 1);
  if (JSON.stringify(steps) !== JSON.stringify(want)) problems.push(`metrics.jsonl has steps [${steps}], not [${want}]`);
  for (const r of rows) {
    const n = Object.values(r.terminations).reduce((a, b) => a + b, 0);
    if (n !== perStep) problems.push(`step ${r.step}: ${n} trajectories counted (${JSON.stringify(r.terminations)}), not ${perStep}`);
  }
  const trajs = lines(join(o.out, "trajectories.jsonl")) as { step: number }[];
  for (const s of want) {
    const n = trajs.filter((t) => t.step === s).length;
    if (n !== perStep) problems.push(`trajectories.jsonl: step ${s} has ${n} trajectories, not ${perStep}`);
  }
  const extra = trajs.filter((t) => !want.includes(t.step)).length;
  if (extra) problems.push(`trajectories.jsonl: ${extra} trajectories of steps outside 1..${o.steps}`);
  // Teardown is asynchronous (a container's removal): the machine gets a moment to be clean.
  const left = async () => ({
    procs: [...projectProcesses()].filter(([pid]) => !before.procs.has(pid)),
    boxes: (await sandboxContainers()).filter((id) => !before.boxes.has(id)),
  });
  await until("the run's processes and containers to end", async () => {
    const l = await left();
    return l.procs.length + l.boxes.length === 0;
  }, 30_000).catch(() => undefined);
  const l = await left();
  for (const [pid, args] of l.procs) problems.push(`process left: ${pid} ${args.slice(0, 120)}`);
  for (const id of l.boxes) problems.push(`container left: ${id}`);
  return problems;
}

function lines(file: string): unknown[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
}
