// The RL actors on a local cluster: a RolloutActor streams trajectories back as they finish;
// a node that stops removes its actors' sandboxes, whatever their actors did about it.
import { expect } from "chai";
import Docker from "dockerode";
import { EnvActorClass, RolloutActorClass } from "../../actors/index.js";
import { SANDBOX_LABEL } from "../../envs/index.js";
import type { Trajectory } from "../../rl/index.js";
import { init, type Cluster } from "../../runtime/index.js";
import { dockerEnv, task } from "../envs/helpers.js";
import { startNodeProcess, stopProcess } from "../helpers.js";


describe("RL actors", function () {
  this.timeout(180_000);
  let cluster: Cluster;
  before(async () => {
    await dockerEnv();
    cluster = await init();
  });
  after(() => cluster?.shutdown());

  it("RolloutActor.runAll streams each trajectory back as it finishes, in order", async () => {
    const { tasks } = await dockerEnv();
    const env = await cluster.actor(EnvActorClass, [{ maxSteps: 20 }]);
    const rollout = await cluster.actor(RolloutActorClass, [{ env, policy: { kind: "replay" } }]);
    const jobs = [task(tasks, "textkit-005"), task(tasks, "ledger-005")].map((t, i) => ({ task: t, rolloutIndex: i }));
    const seen: Trajectory[] = [];
    for await (const tr of await rollout.runAll(jobs)) seen.push(tr);
    expect(seen.map((t) => [t.taskId, t.rolloutIndex, t.reward, t.termination])).to.deep.equal([
      ["textkit-005", 0, 1, "finished"], ["ledger-005", 1, 1, "finished"],
    ]);
    // That each record travels as soon as it is yielded is the runtime's stream, shown with a
    // gate in actors.test.ts ("streams each item as it is yielded").
  });

  it("a node stopped with SIGTERM leaves none of its actors' sandboxes behind", async () => {
    const { tasks } = await dockerEnv();
    const docker = new Docker();
    const count = async () => (await docker.listContainers({ all: true, filters: { label: [SANDBOX_LABEL] } })).length;
    const before = await count();
    const { child, nodeId } = await startNodeProcess(cluster);
    const env = await cluster.actor(EnvActorClass, [{ backend: "docker", warm: 2 }], { affinity: { nodeId } });
    await env.reset(task(tasks, "textkit-001"));
    expect(await count()).to.be.above(before);  // the trajectory's sandbox and the warm spares
    await stopProcess(child, "SIGTERM");
    expect(await count()).to.equal(before);
  });
});
