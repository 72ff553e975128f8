// SIGINT and SIGTERM in every long command besides deepswe's own (deepswe.test.ts): one line
// that says what was kept and how to go on, exit 130 (SIGINT) or 143 (SIGTERM), no stack
// trace, nothing cut short recorded; no container or process left (the suite's leak check,
// test/leaks.ts, fails the file otherwise, and each test also looks right away).
import { expect } from "chai";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dockerEnv } from "../envs/helpers.js";
import { interruptDriver, jsonl, until } from "../helpers.js";
import { projectProcesses, sandboxContainers } from "../leftovers.js";

describe("interrupting a command", function () {
  this.timeout(300_000);
  let dir: string;
  let start: { procs: Set<number>; boxes: Set<string> };
  beforeEach(async () => {
    start = { procs: new Set(projectProcesses().keys()), boxes: new Set(await sandboxContainers()) };
  });
  before(async () => {
    await dockerEnv();
    dir = mkdtempSync(join(tmpdir(), "troupe-interrupt-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Nothing the command started is left once it has exited. */
  const clean = () => until("the command's processes and containers to be gone", async () => {
    const procs = [...projectProcesses().keys()].filter((p) => !start.procs.has(p));
    const boxes = (await sandboxContainers()).filter((b) => !start.boxes.has(b));
    return procs.length + boxes.length === 0;
  }, 15_000);

  it("eval: finished tasks are kept, the one cut short is not, and it says how to resume", async () => {
    const out = join(dir, "eval");
    const rows = () => (existsSync(join(out, "results.jsonl")) ? readFileSync(join(out, "results.jsonl"), "utf8").trim().split("\n").filter(Boolean).length : 0);
    const r = await interruptDriver(["eval", "--tasks", "bundled:validation", "--model", "replay:gold", "--k", "2", "--parallel", "2", "--out", out], () => rows() >= 1);
    expect(r.code).to.equal(130);
    expect(r.said).to.deep.equal([`troupe: interrupted (SIGINT); finished tasks are kept; resume with: node driver.js eval --resume ${out}`]);
    expect(r.stderr).not.to.match(/^\s+at /m);
    const kept = jsonl(join(out, "results.jsonl"));
    expect(kept.length).to.be.within(1, 7);
    for (const row of kept) expect(row.rewards).to.deep.equal([1, 1]);  // whole tasks only, none counted as failed
    await clean();
  });

  it("validate-tasks (SIGTERM): the tasks printed were validated, the line says so", async () => {
    const r = await interruptDriver(["validate-tasks", "--tasks", "bundled", "--parallel", "2"], (stdout) => / ok$/m.test(stdout), "SIGTERM");
    expect(r.code).to.equal(143);
    expect(r.said).to.deep.equal(["troupe: interrupted (SIGTERM); the tasks printed above were validated, the others not: run it again, or on those alone"]);
    expect(r.stderr).not.to.match(/^\s+at /m);
    expect(r.stdout).not.to.match(/FAIL/);  // the interruption failed no task
    await clean();
  });

  it("--recipe arith: whole steps only in metrics.jsonl", async () => {
    const out = join(dir, "arith");
    const r = await interruptDriver(["--recipe", "arith", "--steps", "500", "--out", out], () => existsSync(join(out, "metrics.jsonl")) && jsonl(join(out, "metrics.jsonl")).length >= 3);
    expect(r.code).to.equal(130);
    expect(r.said).to.deep.equal([`troupe: interrupted (SIGINT); the steps in ${out}/metrics.jsonl are whole; arith has no resume: run it again`]);
    expect(r.stderr).not.to.match(/^\s+at /m);
    const steps = jsonl(join(out, "metrics.jsonl")).map((x) => x.step);
    expect(steps).to.deep.equal(steps.map((_: number, i: number) => i + 1));
    await clean();
  });
});
