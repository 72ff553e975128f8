// Who caused a failure. What the agent does to its own sandbox — killing its shell, destroying
// its file system, writing past its disk budget — is told to it or ends its trajectory as its
// own doing (reward 0, kept in its group); only what fails around it is an infrastructure
// failure, masked out of training (a container killed from outside among them).
import { expect } from "chai";
import { runTrajectory } from "../../actors/index.js";
import { execFileSync } from "node:child_process";
import { renderToolCall, SandboxDestroyedError, SWEEnv, WarmPool, type DockerSandbox, type Task } from "../../envs/index.js";
import { Qwen3Tokenizer, ScriptedPolicy } from "../../llm/index.js";
import { compactFilter, failed, type Trajectory } from "../../rl/index.js";
import { dockerEnv, task } from "./helpers.js";

const until = async (ok: () => boolean) => {
  while (!ok()) await new Promise((r) => setTimeout(r, 50));
};
const bash = (cmd: string) => renderToolCall({ name: "execute_bash", params: { cmd } });

describe("faults the agent causes (docker)", function () {
  this.timeout(300_000);
  const tok = new Qwen3Tokenizer();
  let pool: WarmPool;
  let t: Task;
  before(async () => {
    const d = await dockerEnv();
    t = task(d.tasks, "textkit-001");
    pool = new WarmPool(d.backend, { size: 1 });
  });
  after(() => pool?.close());

  it("kill -9 -1 kills the agent's shell: it is told, a new shell answers in the same sandbox, files kept", async () => {
    const env = new SWEEnv(pool);
    try {
      await env.reset(t);
      await env.step({ name: "execute_bash", params: { cmd: "echo kept > /testbed/note.txt" } });
      const killed = await env.step({ name: "execute_bash", params: { cmd: "kill -9 -1" } });
      expect(killed.observation).to.match(/^Exit code: 137\n/);
      expect(killed.observation).to.match(/killed the sandbox's shell; a new shell was started in the same sandbox/);
      const after = await env.step({ name: "execute_bash", params: { cmd: "cat /testbed/note.txt" } });
      expect(after.observation).to.match(/^Exit code: 0\n\[STDOUT\]\nkept\n/);
    } finally {
      await env.close();
    }
  });

  it("rm -rf / leaves a sandbox that runs nothing: the step says so with SandboxDestroyedError", async () => {
    const env = new SWEEnv(pool);
    try {
      await env.reset(t);
      const err = await env.step({ name: "execute_bash", params: { cmd: "rm -rf / --no-preserve-root 2>/dev/null" } }).catch((e) => e);
      expect(err).to.be.instanceOf(SandboxDestroyedError);
    } finally {
      await env.close();
    }
  });

  it("writing past the disk budget stops the command and ends the step with the budget's notice", async () => {
    const env = new SWEEnv(pool, { diskBudgetBytes: 64 * 1024 ** 2 });
    try {
      await env.reset(t);
      // 20 files of 16 MiB, slowly: the budget is passed at the fourth or fifth, the watch stops the rest.
      const r = await env.step({ name: "execute_bash", params: { cmd: "for i in $(seq 20); do dd if=/dev/zero of=/tmp/f$i bs=1M count=16 2>/dev/null; sleep 0.3; done" } });
      expect(r).to.deep.include({ end: "disk_budget", done: true });
      expect(r.observation).to.match(/wrote more than its disk budget \(0\.06 GiB\): the trajectory ends here/);
      const written = Number((await env.currentSandbox!.exec("ls /tmp/f* | wc -l")).stdout.trim());
      expect(written).to.be.within(4, 12);
    } finally {
      await env.close();
    }
  });

  it("in a trajectory: a destroyed sandbox and a passed budget end it as the agent's doing (reward 0, kept in its group); a container killed from outside is an infrastructure error and leaves the group", async () => {
    const run = async (cmd: string, opts = {}) => {
      const env = new SWEEnv(pool, opts);
      try {
        return await runTrajectory({ env, task: t, tokenizer: tok, policy: new ScriptedPolicy(tok, [bash(cmd), bash("ls")]) });
      } finally {
        await env.close();
      }
    };
    const destroyed = await run("rm -rf / --no-preserve-root 2>/dev/null");
    expect(destroyed).to.deep.include({ termination: "sandbox_destroyed", fault: "agent", reward: 0 });
    const disk = await run("dd if=/dev/zero of=/tmp/big bs=1M count=80 2>/dev/null", { diskBudgetBytes: 32 * 1024 ** 2 });
    expect(disk).to.deep.include({ termination: "disk_budget", fault: "agent", reward: 0 });
    // The container killed from outside while the agent's command runs: not the agent's doing.
    const env = new SWEEnv(pool);
    const infra = await (async () => {
      try {
        const policy = new ScriptedPolicy(tok, [bash("sleep 30"), bash("ls")]);
        const running = runTrajectory({ env, task: t, tokenizer: tok, policy });
        await until(() => env.currentSandbox !== undefined);
        await new Promise((r) => setTimeout(r, 1000));
        execFileSync("docker", ["kill", (env.currentSandbox as DockerSandbox).container.id]);
        return await running;
      } finally {
        await env.close();
      }
    })();
    expect(infra).to.deep.include({ termination: "error", fault: "infrastructure", reward: 0 });
    expect(infra.error).to.match(/its container stopped from outside \(exit code 137\)/);
    expect([destroyed, disk].map(failed)).to.deep.equal([false, false]);
    expect(failed(infra)).to.equal(true);
    const kept = compactFilter([destroyed, disk, infra]);
    expect(kept.map((p) => p.trajectory.termination)).to.deep.equal(["sandbox_destroyed", "disk_budget"]);
    expect(kept.every((p) => p.reward === 0 && p.mask.some((m) => m === 1))).to.equal(true);  // trained on, as failures
  });
});
