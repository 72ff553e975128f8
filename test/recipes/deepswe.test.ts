// The main job, `node driver.js --recipe deepswe`, on the smoke profile (the laptop pipeline, tiny):
// steps that really train (one rollout per group replays the gold patch, so every group has a
// success and a failure to learn from), resume after kill -9 from the checkpoint it names (a
// corrupt one skipped with a message), and configs refused before anything starts.
import { expect } from "chai";
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { weightsDigest } from "../../actors/index.js";
import { NativeWorker } from "../../gpu/index.js";
import { PROFILES } from "../../recipes/index.js";
import { ByteTokenizer, HFTokenizer, modelTokenizer, serveOpenAI } from "../../llm/index.js";
import { dockerEnv } from "../envs/helpers.js";
import { driver as runDriver, interruptDriver, readEvents, ROOT, until } from "../helpers.js";
import { descendants } from "../leftovers.js";

const run = promisify(execFile);
const driver = (args: string[]) => runDriver(args, { timeoutMs: 400_000 });
// The smoke profile: a tiny model, two tasks of two rollouts per step, a one-epoch starter.
const TINY = ["--profile", "smoke"];
// One gold replay per group of two: a reward of 1 beside the tiny model's 0, so the step has
// non-zero advantages, a loss and a gradient.
const GUIDED = ["--set", "rollout.goldPerGroup=1"];
/** Pids of the actor hosts under `root` that run a native worker, oldest first. */
function workerHosts(root: number): number[] {
  const workers = [...descendants(root).values()].filter((p) => /troupe-worker/.test(p.args));
  // In the order they started: /proc's start time (pids wrap around on a busy machine), then pid.
  const started = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")[19]);
  return [...new Set(workers.map((p) => p.ppid))].sort((a, b) => started(a) - started(b) || a - b);
}

const rows = (dir: string) => readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
const trajectories = (dir: string) => readFileSync(join(dir, "trajectories.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));

/** The policy-gradient step happened: a loss, a gradient, weights that moved. */
function expectTrained(row: Record<string, any>) {
  expect(row.terminations.finished, JSON.stringify(row)).to.be.at.least(1);
  expect(row.loss).to.not.equal(0);
  expect(row.grad_norm).to.be.greaterThan(0);
  expect(row.weights.after).to.match(/^[0-9a-f]{16}$/);
  expect(row.weights.after).to.not.equal(row.weights.before);
}

describe("recipe deepswe (smoke profile)", function () {
  this.timeout(600_000);
  let dir: string;
  before(async () => {
    await dockerEnv();
    dir = mkdtempSync(join(tmpdir(), "troupe-deepswe-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("runs one full step with two learners that trains: starter, rollouts, rewards, loss, all-reduce, identical replicas, validation, checkpoint, metrics, plot", async () => {
    const out = join(dir, "one");
    // Two data-parallel learners, both started from the starter: the step goes through their all-reduce.
    const r = await driver(["--recipe", "deepswe", ...TINY, ...GUIDED, "--set", "schedule.steps=1", "--set", "learners=2", "--out", out]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/starter: (\d+ gold demonstrations|cached in)/);
    const [row] = rows(out);
    expect(row).to.include.keys("step", "reward_mean", "solve_all", "solve_none", "solve_partial", "terminations", "tokens", "rollout_s", "train_s", "sync_s", "val_reward");
    expect(row.step).to.equal(1);
    expect(Object.values(row.terminations as Record<string, number>).reduce((a, b) => a + b, 0)).to.equal(4);  // 2 tasks × 2 rollouts
    // Both groups hold a gold success and a failure of the model's: partly solved, reward 1/2.
    expect(row.solve_partial).to.equal(2);
    expect(row.reward_mean).to.equal(0.5);
    expectTrained(row);
    expect(row.weights.replicas).to.equal(1);  // learner 1 checked to hold learner 0's bits
    // The trajectories the model sampled came from the starter's weights (version 0: no RL step yet).
    const trajs = trajectories(out);
    expect(trajs).to.have.length(4);
    expect(trajs.filter((t) => t.policy === "learner").map((t) => t.policyVersion)).to.deep.equal([0, 0]);
    expect(trajs.filter((t) => t.policy === "replay:gold").map((t) => t.reward)).to.deep.equal([1, 1]);
    expect(existsSync(join(out, "checkpoints", "step-1", "model.safetensors"))).to.equal(true);
    // The checkpoint carries its tokenizer: the byte model's, as a tokenizer.json that any
    // tokenizers library reads into the same ids, with the chat template it was trained on.
    const ck = join(out, "checkpoints", "step-1");
    expect(modelTokenizer(ck)).to.equal(ck);
    const text = "<|im_start|>user\nfix ünïcode<|im_end|>\n";
    expect(new HFTokenizer(ck).encode(text)).to.deep.equal(new ByteTokenizer().encode(text));
    expect(new HFTokenizer(ck).hasChatTemplate).to.equal(true);
    expect(readFileSync(join(out, "plot.html"), "utf8")).to.match(/<svg/);
    expect(JSON.parse(readFileSync(join(out, "config.json"), "utf8")).profile).to.equal("smoke");
    // The same step for TensorBoard, under verl's and rLLM's names.
    const events = await readEvents(join(out, readdirSync(out).find((f) => f.startsWith("events.out.tfevents."))!));
    expect(events.map((e) => e.step)).to.deep.equal([0, 1]);
    expect(events[0].file_version).to.equal("brain.Event:2");
    expect(events[1].scalars).to.deep.include({ "critic/score/mean": 0.5, "batch/solve_partial": 2, "troupe/errors": 0 });
    expect(events[1].scalars["actor/pg_loss"]).to.be.closeTo(row.loss, 1e-6 * Math.max(1, Math.abs(row.loss)));
  });

  it("two torch learners at ZeRO-3 train a step: identical replicas, and a checkpoint whose optimizer state is in two rank shards and an index", async () => {
    const out = join(dir, "zero3");
    const r = await driver(["--recipe", "deepswe", ...TINY, ...GUIDED, "--set", "schedule.steps=1", "--set", "learners=2", "--set", "learner.backend=torch", "--set", "learner.zero=3", "--out", out]);
    expect(r.code, r.stderr).to.equal(0);
    const [row] = rows(out);
    expectTrained(row);
    expect(row.weights.replicas).to.equal(1);
    const ck = join(out, "checkpoints", "step-1");
    for (const f of ["model.safetensors", "optimizer-shards.json", "optimizer-rank-00000-of-00002.safetensors", "optimizer-rank-00001-of-00002.safetensors"]) {
      expect(existsSync(join(ck, f)), f).to.equal(true);
    }
    expect(existsSync(join(ck, "optimizer.safetensors"))).to.equal(false);
    // The run's weights: one process loading the checkpoint holds the bits the step recorded.
    const w = await NativeWorker.start({ backend: "torch" });
    try {
      await w.load(ck, { optimizer: true });
      expect((await w.info()).step).to.equal(1);
      expect((await weightsDigest(w)).slice(0, 16)).to.equal(row.weights.after);
    } finally {
      await w.close();
    }
  });

  it("a learner rank killed mid-run (torch, ZeRO-2): the run stops with one line naming that rank and how to resume; --resume finishes the run", async () => {
    const out = join(dir, "rank-killed");
    const args = ["--recipe", "deepswe", ...TINY, ...GUIDED, "--set", "warmup.epochs=0", "--set", "schedule.steps=3", "--set", "learners=2", "--set", "learner.backend=torch", "--set", "learner.zero=2", "--out", out];
    const child = spawn(process.execPath, ["driver.js", ...args], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    await until("the first checkpoint", () => existsSync(join(out, "checkpoints", "step-1", "optimizer-shards.json")), 300_000);
    // Rank 1 started after rank 0: the newest host running a native worker.
    const hosts = workerHosts(child.pid!);
    expect(hosts).to.have.length(2);
    process.kill(hosts[1], "SIGKILL");
    const code = await new Promise((r) => child.once("exit", r));
    expect(code, stderr).to.equal(1);
    const last = stderr.trim().split("\n").pop()!;
    expect(last).to.match(/^troupe: LearnerGroupError: learner rank 1 of 2 died during the training step \(.*\); the step is not recorded, the checkpoints are whole: resume with node driver\.js --recipe deepswe --resume /);
    expect(stderr).to.not.match(/\n\s+at /);  // no stack trace
    const r = await driver(["--recipe", "deepswe", "--resume", out]);
    expect(r.code, r.stderr).to.equal(0);
    expect(rows(out).map((x) => x.step)).to.deep.equal([1, 2, 3]);
    for (const x of rows(out)) expect(x.weights.replicas).to.equal(1);
  });

  it("--resume with no loadable checkpoint starts from the beginning, from the starter", async () => {
    const out = join(dir, "one");  // the first test's run: its only checkpoint removed
    rmSync(join(out, "checkpoints"), { recursive: true, force: true });
    mkdirSync(join(out, "checkpoints"));
    const r = await driver(["--recipe", "deepswe", "--resume", out]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/resume: no loadable checkpoint; starting from the beginning/);
    expect(r.stderr).to.match(/starter: (\d+ gold demonstrations|cached in)/);
    expect(rows(out).map((x) => x.step)).to.deep.equal([1]);
  });

  it("--init CHECKPOINT_DIR starts from that checkpoint's weights instead of the starter; a folder that is not one is refused", async () => {
    // A checkpoint of this test's own: the laptop model from a seed the recipe does not use.
    const from = join(dir, "init-from");
    const w = await NativeWorker.start();
    let digest: string;
    try {
      await w.init(PROFILES.smoke.model.config as never, { seed: 77 });
      await w.save(from);
      digest = (await weightsDigest(w)).slice(0, 16);
    } finally {
      await w.close();
    }
    const out = join(dir, "init");
    // The budgets come from a --config file this time; --set still applies over it.
    const file = join(dir, "init.json");
    writeFileSync(file, JSON.stringify({ rollout: { maxResponseTokens: 256, maxTurnTokens: 64 }, schedule: { validationTasks: 1, steps: 5 } }));
    const r = await driver(["--recipe", "deepswe", ...TINY, "--config", file, "--init", from, "--set", "schedule.steps=1", "--out", out]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.not.match(/starter/);
    const cfg = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
    expect(cfg.model.init).to.equal(from);
    expect(cfg.model.tokenizer).to.equal("bytes");
    expect(cfg.rollout).to.include({ maxResponseTokens: 256, maxTurnTokens: 64 });
    expect(cfg.schedule).to.include({ validationTasks: 1, steps: 1 });
    const [row] = rows(out);
    expect(row.weights.before).to.equal(digest);
    // A checkpoint with Qwen3's vocabulary takes Qwen3's tokenizer (the laptop model's sizes).
    const qwen = join(dir, "init-qwen3");
    const q = await NativeWorker.start();
    try {
      await q.init({ ...(PROFILES.smoke.model.config as object), vocab_size: 151_669 } as never, { seed: 5 });
      await q.save(qwen);
    } finally {
      await q.close();
    }
    const rq = await driver(["--recipe", "deepswe", ...TINY, "--config", file, "--init", qwen, "--set", "schedule.steps=1", "--out", join(dir, "init-q")]);
    expect(rq.code, rq.stderr).to.equal(0);
    expect(JSON.parse(readFileSync(join(dir, "init-q", "config.json"), "utf8")).model.tokenizer).to.equal("qwen3");
    // What the model wrote is in Qwen3's ids, far past the 261 of the byte tokenizer.
    const generated = trajectories(join(dir, "init-q")).flatMap((t) => t.tokens.filter((_: number, i: number) => t.mask[i] === 1));
    expect(Math.max(...generated)).to.be.above(261);
    const bad = await driver(["--recipe", "deepswe", "--init", join(dir, "nowhere")]);
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr).to.match(/--init .*nowhere: not a checkpoint folder/);
  });

  it("disaggregated mode on the torch backend: two engines get the initial weights and then the step's by a versioned broadcast from a ZeRO-3 group of two learners, and hold the learner's bits", async () => {
    const out = join(dir, "disaggregated");
    // The learner and both engines run libtorch (learner.backend=torch), so the step and the
    // weight files of the broadcast go through that backend. No starter: a cross-entropy step
    // over every demonstration takes over a minute on libtorch's CPU path (the loss itself is
    // checked against the reference by the parity program).
    // Two learners at ZeRO-3: rank 0 sends the whole weights its group gathers after each step.
    const torch = existsSync(join(ROOT, "gpu", "build", "troupe-torch-parity")) ? ["--set", "learner.backend=torch", "--set", "learners=2", "--set", "learner.zero=3"] : [];
    const r = await driver(["--recipe", "deepswe", ...TINY, ...GUIDED, ...torch, "--set", "warmup.epochs=0", "--set", "schedule.steps=1", "--set", "mode=disaggregated", "--set", "engines=2", "--set", "sync.bucketMB=0.05", "--out", out]);
    expect(r.code, r.stderr).to.equal(0);
    // The learner's initial weights are version 0, sent to both engines (in several 50 KB
    // buckets) before the rollouts; the policy-gradient step is version 1, sent after it.
    expect(r.stderr).to.match(/weight sync: version 0 to 2 engine\(s\), 0\.\d MB/);
    expect(r.stderr).to.match(/weight sync: version 1 to 2 engine\(s\), 0\.\d MB/);
    if (torch.length) expect(JSON.parse(readFileSync(join(out, "config.json"), "utf8")).learner.backend).to.equal("torch");
    const [row] = rows(out);
    expectTrained(row);
    expect(row.sync_bytes).to.be.greaterThan(0);
    expect(row.weights.replicas).to.equal(torch.length ? 3 : 2);  // both engines (and learner 1) hold version 1's bits
    expect(row.policy_versions).to.deep.equal([0]);
    expect(trajectories(out).filter((t) => t.policy === "learner").map((t) => t.policyVersion)).to.deep.equal([0, 0]);
  });

  it("async, disaggregated: rollouts run on during training, no trained token older than maxStaleness, every token's version recorded", async () => {
    const out = join(dir, "async");
    // DeepSWE's full prompts: each model call then takes long enough (a 2,300-token prefill) that
    // the next step's rollouts are still sampling when the train step ends, even on a loaded machine.
    const full = ["--set", "rollout.scaffold=full", "--set", "rollout.maxPromptTokens=4096"];
    const r = await driver(["--recipe", "deepswe", ...TINY, ...GUIDED, ...full, "--set", "warmup.epochs=0", "--set", "schedule.steps=3", "--set", "mode=disaggregated",
      "--set", "async.enabled=true", "--set", "async.maxStaleness=1", "--out", out]);
    expect(r.code, r.stderr).to.equal(0);
    const all = rows(out);
    expect(all.map((x) => x.step)).to.deep.equal([1, 2, 3]);
    for (const row of all) {
      expectTrained(row);
      expect(Object.keys(row.staleness).map(Number).every((s) => s <= 1), JSON.stringify(row.staleness)).to.equal(true);
      expect(Object.values(row.staleness as Record<string, number>).reduce((a, b) => a + b, 0)).to.equal(4);
      for (const k of ["partial_rollouts", "groups_stale", "generator_idle_s", "trainer_idle_s"]) expect(row[k], k).to.be.a("number");
    }
    // The engine generated the next step's groups while the learner trained: after the first
    // step, the model's trajectories were sampled one version before the weights they updated.
    expect(all.slice(1).some((row) => (row.staleness["1"] ?? 0) > 0), `staleness by step: ${JSON.stringify(all.map((x) => x.staleness))}`).to.equal(true);
    const model = trajectories(out).filter((t) => t.policy === "learner");
    for (const t of model) {
      expect(t.tokenVersions).to.have.length(t.tokens.length);
      t.tokenVersions.forEach((v: number, i: number) => expect(v >= 0, `token ${i} of ${t.taskId}#${t.rolloutIndex}: version ${v}, mask ${t.mask[i]}`).to.equal(t.mask[i] === 1));
      expect(t.step - 1 - Math.min(...t.tokenVersions.filter((v: number) => v >= 0))).to.be.at.most(1);
    }
  });

  it("async with an external engine: Troupe's OpenAI-compatible server generates and loads each version from disk", async () => {
    const out = join(dir, "external");
    // The server starts with weights of its own (another seed): the first sync replaces them.
    const w = await NativeWorker.start({ threads: 1 });
    await w.init(PROFILES.smoke.model.config as never, { seed: 99 });
    const server = await serveOpenAI(w, { model: "tiny" });
    try {
      const r = await driver(["--recipe", "deepswe", ...TINY, ...GUIDED, "--set", "warmup.epochs=0", "--set", "schedule.steps=2", "--set", "mode=external",
        "--set", `external.urls=${JSON.stringify([server.url])}`, "--set", "external.model=tiny", "--set", "async.enabled=true", "--out", out]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stderr).to.match(new RegExp(`weight sync: version 0 to 1 server\\(s\\) from ${join(out, "weights")}`));
      expect(r.stderr).to.match(/weight sync: version 1 to 1 server\(s\)/);
      const all = rows(out);
      expect(all.map((x) => x.step)).to.deep.equal([1, 2]);
      for (const row of all) expectTrained(row);
      // The server's replies carried the version it had loaded: every generated token has one.
      const model = trajectories(out).filter((t) => t.policy === "openai:tiny");
      expect(model.length).to.be.above(0);
      for (const t of model) t.tokenVersions.forEach((v: number, i: number) => expect(v >= 0).to.equal(t.mask[i] === 1));
      // It holds the learner's last version now: what the last sync wrote is what it serves.
      expect(await weightsDigest(w)).to.equal(await (async () => {
        const q = await NativeWorker.start({ threads: 1 });
        try {
          await q.load(join(out, "weights", "v2"), { optimizer: false });
          return weightsDigest(q);
        } finally {
          await q.close();
        }
      })());
    } finally {
      await server.close();
      await w.close();
    }
  });

  it("async: kill -9 of the engine mid-run: the engine restarts in a new process and the run goes on", async () => {
    const out = join(dir, "async-engine-killed");
    const child = spawn(process.execPath, ["driver.js", "--recipe", "deepswe", ...TINY, ...GUIDED, "--set", "warmup.epochs=0", "--set", "schedule.steps=4", "--set", "mode=disaggregated",
      "--set", "async.enabled=true", "--out", out], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
    await until("the first step", () => existsSync(join(out, "metrics.jsonl")) && readFileSync(join(out, "metrics.jsonl"), "utf8").length > 0, 300_000);
    // The learner's and the engine's hosts are the dedicated ones (each with a worker), the
    // learner's started first.
    const hosts = workerHosts(child.pid!);
    expect(hosts).to.have.length(2);
    // Killed while it generates (its worker burning CPU), so that requests are in flight: a
    // kill between two bursts could cost nothing on a slow machine.
    const engineWorker = [...descendants(child.pid!).entries()].find(([, p]) => p.ppid === hosts[1] && /troupe-worker/.test(p.args))![0];
    const cpuTicks = () => readFileSync(`/proc/${engineWorker}/stat`, "utf8").split(") ")[1].split(" ").slice(11, 13).reduce((a, t) => a + Number(t), 0);
    let last = cpuTicks();
    await until("the engine generating", async () => {
      await new Promise((r) => setTimeout(r, 200));
      const now = cpuTicks();
      const busy = now - last >= 10;  // ≥ 100 ms of CPU in 200 ms
      last = now;
      return busy;
    }, 120_000);
    const killedAt = rows(out).length;
    process.kill(hosts[1], "SIGKILL");
    // It comes back in a new host (engines restart without limit) while the run goes on.
    const restarted = await until("the engine back, or the run over", () => (child.exitCode !== null ? "ended" : workerHosts(child.pid!).some((h) => !hosts.includes(h)) && "restarted"), 120_000);
    expect(await exited, stderr).to.equal(0);
    const all = rows(out);
    expect(all.map((x) => x.step)).to.deep.equal([1, 2, 3, 4]);
    if (killedAt < 3) expect(restarted, "the run had two steps left to go when the engine was killed").to.equal("restarted");
    // The calls it was serving fail as infrastructure failures (not trained on), and so do those
    // the restarted engine refuses until a sync or repair gives it the weights; a kill between
    // two calls, with no call in that window, costs nothing (seen in CI): how many failed depends
    // on where the kill lands. Either way no trajectory was trained on weights more than one
    // version old.
    for (const row of all) expect(Object.keys(row.staleness).map(Number).every((s) => s <= 1)).to.equal(true);
  });

  it("kill -9 mid-run, then --resume with two learners: both continue from the newest loadable checkpoint's weights, nothing before it lost", async () => {
    const out = join(dir, "resume");
    const child = spawn(process.execPath, ["driver.js", "--recipe", "deepswe", ...TINY, ...GUIDED, "--set", "warmup.epochs=0", "--set", "schedule.steps=4", "--set", "learners=2", "--out", out], { cwd: ROOT, stdio: "ignore" });
    await until("two checkpoints", () => existsSync(join(out, "checkpoints", "step-2", "model.safetensors")), 300_000);
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const [first] = rows(out);
    // The newest checkpoint is damaged: resume must say so and use the one before.
    truncateSync(join(out, "checkpoints", "step-2", "model.safetensors"), 100);
    const r = await driver(["--recipe", "deepswe", "--resume", out]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/checkpoint step-2 is corrupt or partial .*; set aside as .*\.step-2\.unloadable/);
    // Set aside, so that no later resume starts from it after its steps were dropped.
    expect(statSync(join(out, "checkpoints", ".step-2.unloadable", "model.safetensors")).size).to.equal(100);
    const after = rows(out);
    expect(after.map((x) => x.step)).to.deep.equal([1, 2, 3, 4]);
    expect(after[0]).to.deep.equal(first);  // step 1 kept as it was
    // Step 2 was redone from step-1's weights and optimizer step count: a run that loaded
    // nothing would start from random weights at version 0.
    expect(after[1].weights.before).to.equal(first.weights.after);
    expect(after[1].policy_versions).to.deep.equal([1]);
    for (const x of after) expect(x.weights.replicas).to.equal(1);  // learner 1 loaded it too
    for (const x of after) expectTrained(x);
    expect(after[3].policy_versions).to.deep.equal([3]);
    expect(existsSync(join(out, "checkpoints", "step-4", "model.safetensors"))).to.equal(true);
    // One event file, written again from the rows kept: each step once, as in metrics.jsonl.
    const files = readdirSync(out).filter((f) => f.startsWith("events.out.tfevents."));
    expect(files).to.have.length(1);
    const events = (await readEvents(join(out, files[0]))).filter((e) => e.step > 0);
    expect(events.map((e) => e.step)).to.deep.equal([1, 2, 3, 4]);
    events.forEach((e, i) => expect(e.scalars["critic/score/mean"]).to.equal(Math.fround(after[i].reward_mean)));
  });

  it("kill -9 of the env and rollout actors' host during the rollout phase: the step still completes", async () => {
    const out = join(dir, "crash");
    // Replies of up to 1,024 tokens (a random byte model closes one after ~260 on average):
    // when the first of four rollouts is done, the slot that finished it has already started
    // the third, and the kill, a fraction of a second later, lands inside it.
    const child = spawn(process.execPath, ["driver.js", "--recipe", "deepswe", ...TINY, "--set", "warmup.epochs=0", "--set", "schedule.steps=1", "--set", "rollout.maxSteps=8", "--set", "rollout.maxResponseTokens=1024", "--set", "rollout.maxTurnTokens=1024", "--out", out], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stderr!.on("data", (d) => (err += d));
    const exited = new Promise<number>((r) => child.once("exit", (code) => r(code ?? -1)));
    await until("the first trajectory of the rollout phase", () => /\] 1\/\d+ rollouts of step 1/.test(err), 300_000);
    // The shared host (env + rollout actors) is the host process without a native worker below it.
    const { stdout } = await run("ps", ["-eo", "pid,ppid,args"]);
    const procs = stdout.trim().split("\n").slice(1).map((l) => l.trim().split(/\s+/)).map(([pid, ppid, ...a]) => ({ pid: Number(pid), ppid: Number(ppid), args: a.join(" ") }));
    const descendants = (root: number): number[] => procs.filter((p) => p.ppid === root).flatMap((p) => [p.pid, ...descendants(p.pid)]);
    const hosts = procs.filter((p) => p.args.includes("host-main") && descendants(child.pid!).includes(p.pid));
    const shared = hosts.filter((h) => !procs.some((p) => p.ppid === h.pid && p.args.includes("troupe-worker")));
    expect(shared.length).to.be.at.least(1);
    process.kill(shared[0].pid, "SIGKILL");
    expect(await exited, err).to.equal(0);
    const [row] = rows(out);
    // Every rollout of the step is accounted for; those the kill cut short are errors.
    expect(Object.values(row.terminations as Record<string, number>).reduce((a, b) => a + b, 0)).to.equal(4);
    expect(row.errors).to.be.at.least(1);
    expect(existsSync(join(out, "checkpoints", "step-1", "model.safetensors"))).to.equal(true);
  });

  it("SIGINT during the run: one line saying how to resume, exit 130, no stack trace, no sandbox or process left, no row for the step cut short", async () => {
    const out = join(dir, "interrupted");
    // Into the step after the first recorded one.
    let since = 0;
    const r = await interruptDriver(["--recipe", "deepswe", ...TINY, "--set", "schedule.steps=40", "--out", out], () => {
      const one = existsSync(join(out, "metrics.jsonl")) && readFileSync(join(out, "metrics.jsonl"), "utf8").length > 0;
      if (one) since ||= Date.now();
      return one && Date.now() - since > 1500;
    });
    expect(r.code).to.equal(130);
    expect(r.said).to.deep.equal([`troupe: interrupted (SIGINT); the step in progress is not recorded; resume with: node driver.js --recipe deepswe --resume ${out}`]);
    expect(r.stderr).not.to.match(/^\s+at /m);
    const steps = rows(out).map((x) => x.step);
    expect(steps).to.deep.equal(steps.map((_, i) => i + 1));  // whole steps only, each once
    // No container or process is left: the suite's leak check (test/leaks.ts) fails this test otherwise.
  });

  it("refuses a bad config before anything starts, naming the field", async () => {
    writeFileSync(join(dir, "k3.json"), JSON.stringify({ rollout: { k: 3 } }));
    writeFileSync(join(dir, "broken.json"), "{ rollout: ");
    // A folder with a config.json passes for a checkpoint until a worker loads it.
    mkdirSync(join(dir, "ck"), { recursive: true });
    writeFileSync(join(dir, "ck", "config.json"), "{}");
    const local = ["--set", `model.init=${join(dir, "ck")}`, "--set", "learner.device=cpu"];
    // A worker built without CUDA cannot serve a cuda learner (on a GPU machine it can).
    const cuda = existsSync("/dev/nvidiactl") ? [] : [[["--set", "learner.backend=torch", "--set", "learner.device=cuda"], /learner \(backend torch, device cuda\): device cuda: .*no CUDA/]] as const;
    for (const [args, why] of [
      ...cuda,
      [["--config", join(dir, "k3.json"), "--set", "rollout.k=1"], /rollout\.k/],
      [["--config", join(dir, "broken.json")], /--config .*broken\.json: .*JSON/],
      [["--config", join(dir, "nowhere.json")], /--config .*nowhere\.json: ENOENT/],
      // The release's profile: its task files and its 32B checkpoint are not on this machine.
      [["--profile", "cluster"], /model\.init \/models\/Qwen3-32B: not a checkpoint folder/],
      [["--profile", "cluster", ...local], /r2e-gym-subset\.jsonl: no such file or folder/],
      [["--set", "rollout.k=1"], /rollout\.k/],
      [["--set", "optim.lr=-1"], /optim\.lr/],
      [["--set", "rollout.bogus=3"], /rollout/],
      [["--set", "rollout.goldPerGroup=8"], /rollout\.goldPerGroup: 8 of 8 rollouts per group leaves the model none/],
      [["--profile", "desktop"], /laptop, cluster, smoke/],
      [["--set", "learner.zero=2"], /learner\.zero: stage 2 needs learner\.backend=torch/],
      [["--set", "learner.zero=4"], /learner\.zero/],
      [["--set", `model.tokenizer=${join(dir, "ck")}`], /model\.tokenizer: must be bytes, qwen3, or a folder holding a tokenizer\.json/],
      [["--set", "learner.backend=torch", "--set", "learner.zero=3", "--set", "learners=2", "--set", "async.enabled=true"], /stage 3 with async\.enabled in hybrid mode/],
    ] as const) {
      const r = await driver(["--recipe", "deepswe", ...args, "--out", join(dir, "bad")]);
      expect(r.code, String(args)).to.equal(2);
      expect(r.stderr.trim().split("\n"), String(args)).to.have.length(1);
      expect(r.stderr).to.match(why);
    }
    expect(existsSync(join(dir, "bad"))).to.equal(false);
  });
});
