// Evaluation at scale and under failure: 64 trajectories over 16 env actors on two local nodes
// all end with a reason and leave no container behind; a task whose sandbox cannot start is an
// error row while the others are scored.
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runEval } from "../../recipes/index.js";
import { SANDBOX_LABEL } from "../../envs/index.js";
import { dockerEnv } from "../envs/helpers.js";

/** The ids of the sandbox containers on the engine now. */
async function troupeContainers(): Promise<string[]> {
  const { backend } = await dockerEnv();
  return (await backend.docker.listContainers({ all: true, filters: { label: [SANDBOX_LABEL] } })).map((c) => c.Id);
}

describe("evaluation at scale", function () {
  this.timeout(600_000);
  let dir: string;
  before(async () => {
    await dockerEnv();
    dir = mkdtempSync(join(tmpdir(), "troupe-scale-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("64 concurrent trajectories over 16 env actors on two nodes all finish, and no container is left", async () => {
    const { tasks } = await dockerEnv();
    const before = await troupeContainers();
    const s = await runEval({ tasks: tasks.slice(0, 16), model: "replay:gold", k: 4, parallel: 16, nodes: 2, out: join(dir, "scale"), progress: () => undefined });
    expect(s.trajectories).to.equal(64);
    expect(s.errors).to.equal(0);
    expect(s.pass_at_1).to.equal(1);
    for (const r of s.rows) expect(r.terminations).to.deep.equal(["finished", "finished", "finished", "finished"]);
    // None of the containers there now is one this run made (others may come and go).
    expect((await troupeContainers()).filter((id) => !before.includes(id))).to.deep.equal([]);
  });

  it("a task whose sandbox cannot start becomes an error row; the other tasks are scored", async () => {
    const { tasks } = await dockerEnv();
    const broken = { ...tasks[0], id: "broken-image", image: "troupe-no-such-image:latest" };
    const s = await runEval({ tasks: [broken, tasks[1]], model: "replay:gold", k: 1, parallel: 2, out: join(dir, "broken"), progress: () => undefined });
    expect(s.errors).to.equal(1);
    const [bad, good] = s.rows;
    expect(bad).to.deep.include({ task_id: "broken-image", errors: 1, rewards: [null] });
    expect(good).to.deep.include({ task_id: tasks[1].id, errors: 0, rewards: [1] });
  });
});
