// Harbor task folders: the environment built from its Dockerfile, the verifier uploaded only at
// scoring time and its reward file read, the oracle's solve.sh as the gold, through
// validate-tasks and eval --model replay:gold.
import { expect } from "chai";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { baseImageTag, computeReward, loadTasks, TaskFormatError, type Task } from "../../envs/index.js";
import { driver, ROOT } from "../helpers.js";
import { dockerEnv } from "./helpers.js";


describe("Harbor task folders", function () {
  this.timeout(300_000);
  let dir: string;
  let folder: string;
  let task: Task;
  before(async () => {
    await dockerEnv();
    dir = mkdtempSync(join(tmpdir(), "troupe-harbor-"));
    folder = join(dir, "calc-fix");
    cpSync(join(ROOT, "test", "fixtures", "harbor", "calc-fix"), folder, { recursive: true });
    const dockerfile = join(folder, "environment", "Dockerfile");
    writeFileSync(dockerfile, readFileSync(dockerfile, "utf8").replace("troupe-base:TAG", baseImageTag()));
    const { tasks, errors } = await loadTasks(dir);
    expect(errors).to.deep.equal([]);
    task = tasks[0];
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("loads as a task: the instruction without its canary, the Dockerfile's WORKDIR, the verifier and the oracle kept out of the image", () => {
    expect(task).to.include({ id: "calc-fix", workdir: "/app", testFormat: "harbor", testTimeoutSec: 120, testPatch: "" });
    expect(task.problemStatement).to.match(/^`\/app\/calc\.py` has a function/);
    expect(task.problemStatement).not.to.match(/canary/i);
    expect(Object.keys(task.testFiles!).sort()).to.deep.equal(["/tests/test.sh", "/tests/test_calc.py"]);
    expect(Object.keys(task.solution!.files)).to.deep.equal(["/solution/solve.sh"]);
    expect(task.image).to.match(/^troupe-harbor-calc-fix:[0-9a-f]{16}$/);
  });

  it("validate-tasks builds the environment and checks the oracle scores 1 and the untouched environment 0", async () => {
    const r = await driver(["validate-tasks", "--tasks", dir]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/calc-fix\s+1\s+0\s+ok/);
  });

  it("eval --model replay:gold runs the oracle through the agent's own tools and is rewarded", async () => {
    const out = join(dir, "eval");
    const r = await driver(["eval", "--tasks", dir, "--model", "replay:gold", "--out", out]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/1 tasks, 1 trajectories \(0 errors\): pass@1 100\.0%/);
  });

  it("a wrong fix scores 0, a reward file the agent wrote itself counts for nothing, a verifier that writes none is an error", async () => {
    const { backend } = await dockerEnv();
    const s = await backend.create({ image: task.image, workdir: task.workdir });
    try {
      await s.exec("mkdir -p /logs/verifier && echo 1 > /logs/verifier/reward.txt");
      expect((await computeReward(s, task)).reward).to.equal(0);
      await s.writeFile("/app/calc.py", "def mean(values):\n    return 0.0\n");
      const wrong = await computeReward(s, task);
      expect(wrong).to.deep.include({ reward: 0, failing: { reward: "FAILED" } });
      const silent = { ...task, testFiles: { "/tests/test.sh": Buffer.from("echo nothing to say\n").toString("base64") } };
      expect((await computeReward(s, silent)).scoringError).to.match(/printed no test result/);
    } finally {
      await s.close();
    }
  });

  it("a folder without its environment's Dockerfile is one error naming it", async () => {
    const bad = join(dir, "bad", "no-env");
    cpSync(folder, bad, { recursive: true });
    rmSync(join(bad, "environment", "Dockerfile"));
    const { errors } = await loadTasks(join(dir, "bad"));
    expect(errors).to.have.length(1);
    expect(errors[0]).to.be.instanceOf(TaskFormatError);
    expect(errors[0].message).to.match(/no-env: field 'environment': environment\/Dockerfile is missing/);
    // A prebuilt image named in task.toml stands in for the Dockerfile: it is pulled, not built.
    writeFileSync(join(bad, "task.toml"), `${readFileSync(join(bad, "task.toml"), "utf8")}\ndocker_image = "ghcr.io/example/calc:1"\nworkdir = "/work"\n`);
    const { tasks } = await loadTasks(join(dir, "bad"));
    expect(tasks[0]).to.include({ image: "ghcr.io/example/calc:1", workdir: "/work", buildContext: undefined });
  });
});
