// The main job, `node driver.js --recipe deepswe`, on the laptop profile with tiny budgets:
// one full step end to end, resume after kill -9 (a corrupt checkpoint skipped with a
// message), and configs refused before anything starts.
import { expect } from "chai";
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { dockerEnv } from "../envs/helpers.js";
import { ROOT, until } from "../helpers.js";

const run = promisify(execFile);
const driver = (args: string[]) => run(process.execPath, ["driver.js", ...args], { cwd: ROOT, timeout: 400_000 }).then(
  (r) => ({ code: 0, ...r }),
  (e) => ({ code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
);
const TINY = ["--set", "warmup.sftSteps=1", "--set", "rollout.maxResponseTokens=256", "--set", "rollout.maxTurnTokens=64", "--set", "schedule.validationTasks=1"];
const rows = (dir: string) => readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));

describe("recipe deepswe (laptop profile, tiny budgets)", function () {
  this.timeout(600_000);
  let dir: string;
  before(async () => {
    await dockerEnv();
    dir = mkdtempSync(join(tmpdir(), "troupe-deepswe-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("runs one full step with two learners: warm-up, rollouts, rewards, train, validation, checkpoint, metrics, plot", async () => {
    const out = join(dir, "one");
    // Two data-parallel learners: the warm-up and the step go through their all-reduce.
    const r = await driver(["--recipe", "deepswe", ...TINY, "--set", "schedule.steps=1", "--set", "learners=2", "--out", out]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/warm-up: \d+ gold demonstrations/);
    const [row] = rows(out);
    expect(row).to.include.keys("step", "reward_mean", "solve_all", "solve_none", "solve_partial", "terminations", "tokens", "rollout_s", "train_s", "sync_s", "val_reward");
    expect(row.step).to.equal(1);
    expect(Object.values(row.terminations as Record<string, number>).reduce((a, b) => a + b, 0)).to.equal(4);  // 2 tasks × 2 rollouts
    expect(existsSync(join(out, "checkpoints", "step-1", "model.safetensors"))).to.equal(true);
    expect(readFileSync(join(out, "plot.html"), "utf8")).to.match(/<svg/);
    expect(JSON.parse(readFileSync(join(out, "config.json"), "utf8")).profile).to.equal("laptop");
    expect(readFileSync(join(out, "trajectories.jsonl"), "utf8").trim().split("\n")).to.have.length(4);
  });

  it("--init CHECKPOINT_DIR starts from a checkpoint instead of the warm-up; a folder that is not one is refused", async () => {
    const from = join(dir, "one", "checkpoints", "step-1");  // left by the first test
    const out = join(dir, "init");
    const r = await driver(["--recipe", "deepswe", ...TINY.slice(2), "--init", from, "--set", "schedule.steps=1", "--out", out]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.not.match(/warm-up/);
    const cfg = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
    expect(cfg.model.init).to.equal(from);
    expect(cfg.model.tokenizer).to.equal("bytes");
    expect(rows(out)).to.have.length(1);
    const bad = await driver(["--recipe", "deepswe", "--init", join(dir, "nowhere")]);
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr).to.match(/--init .*nowhere: not a checkpoint folder/);
  });

  it("disaggregated mode on the torch backend: two engines generate, fed the warm-up's weights by a versioned broadcast; trajectories record the version", async () => {
    const out = join(dir, "disaggregated");
    // The learner and both engines run libtorch (learner.backend=torch), so the warm-up, the
    // step and the weight files of the broadcast all go through that backend.
    const torch = existsSync(join(ROOT, "gpu", "build", "troupe-torch-parity")) ? ["--set", "learner.backend=torch"] : [];
    const r = await driver(["--recipe", "deepswe", ...TINY, ...torch, "--set", "schedule.steps=1", "--set", "mode=disaggregated", "--set", "engines=2", "--set", "sync.bucketMB=0.05", "--out", out]);
    expect(r.code, r.stderr).to.equal(0);
    // One warm-up step: version 1 goes to both engines (in several 50 KB buckets), and every
    // trajectory of the step was sampled from it.
    expect(r.stderr).to.match(/weight sync: version 1 to 2 engine\(s\), 0\.\d MB/);
    if (torch.length) expect(JSON.parse(readFileSync(join(out, "config.json"), "utf8")).learner.backend).to.equal("torch");
    const [row] = rows(out);
    expect(row.policy_versions).to.deep.equal([1]);
    const trajs = readFileSync(join(out, "trajectories.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(trajs.map((t) => t.policyVersion)).to.deep.equal([1, 1, 1, 1]);
  });

  it("kill -9 mid-run, then --resume: continues after the newest loadable checkpoint, nothing before it lost", async () => {
    const out = join(dir, "resume");
    const child = spawn(process.execPath, ["driver.js", "--recipe", "deepswe", ...TINY, "--set", "warmup.sftSteps=0", "--set", "schedule.steps=4", "--out", out], { cwd: ROOT, stdio: "ignore" });
    await until("two checkpoints", () => existsSync(join(out, "checkpoints", "step-2", "model.safetensors")), 300_000);
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    // The newest checkpoint is damaged: resume must say so and use the one before.
    truncateSync(join(out, "checkpoints", "step-2", "model.safetensors"), 100);
    const r = await driver(["--recipe", "deepswe", "--resume", out]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/checkpoint step-2 is corrupt or partial/);
    const steps = rows(out).map((x) => x.step);
    expect(steps).to.deep.equal([1, 2, 3, 4]);
    expect(existsSync(join(out, "checkpoints", "step-4", "model.safetensors"))).to.equal(true);
  });

  it("kill -9 of the env and rollout actors' host during the rollout phase: the step still completes", async () => {
    const out = join(dir, "crash");
    const child = spawn(process.execPath, ["driver.js", "--recipe", "deepswe", ...TINY, "--set", "warmup.sftSteps=0", "--set", "schedule.steps=1", "--set", "rollout.maxSteps=8", "--out", out], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
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

  it("refuses a bad config before anything starts, naming the field", async () => {
    for (const [args, why] of [
      [["--set", "rollout.k=1"], /rollout\.k/],
      [["--set", "optim.lr=-1"], /optim\.lr/],
      [["--set", "rollout.bogus=3"], /rollout/],
      [["--profile", "desktop"], /laptop or cluster/],
    ] as const) {
      const r = await driver(["--recipe", "deepswe", ...args, "--out", join(dir, "bad")]);
      expect(r.code, String(args)).to.equal(2);
      expect(r.stderr.trim().split("\n"), String(args)).to.have.length(1);
      expect(r.stderr).to.match(why);
    }
    expect(existsSync(join(dir, "bad"))).to.equal(false);
  });
});
