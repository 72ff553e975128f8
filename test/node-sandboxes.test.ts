// A node that stops removes the sandboxes of the actors it hosted, whatever their actors did
// about it: an EnvActor holding a sandbox on a `node driver.js node` process, the node stopped
// with SIGTERM, no container left.
import { expect } from "chai";
import Docker from "dockerode";
import { EnvActorClass } from "../actors/index.js";
import { SANDBOX_LABEL } from "../envs/index.js";
import { init, type Cluster } from "../runtime/index.js";
import { dockerEnv, task } from "./envs/helpers.js";
import { startNodeProcess, stopProcess } from "./helpers.js";

describe("a node's sandboxes", function () {
  this.timeout(180_000);
  let cluster: Cluster;
  before(async () => {
    await dockerEnv();
    cluster = await init();
  });
  after(() => cluster?.shutdown());

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
