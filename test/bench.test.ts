// Every benchmark still runs and keeps its contract: `npm run bench -- NAME` prints one JSON
// object of numbers on its last line. Run at token sizes (TROUPE_BENCH_SMOKE=1); no figure is
// asserted: speed is measured in bench/, not tested.
import { expect } from "chai";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { dockerEnv } from "./envs/helpers.js";
import { ROOT } from "./helpers.js";

const run = promisify(execFile);
const bench = (args: string[]) => run(process.execPath, ["dist/bench/run.js", ...args], { cwd: ROOT, timeout: 240_000, env: { ...process.env, TROUPE_BENCH_SMOKE: "1" } }).then(
  (r) => ({ code: 0, ...r }),
  (e) => ({ code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
);

describe("benchmarks (smoke sizes)", function () {
  this.timeout(300_000);
  // The names, as the runner lists them when given none.
  let names: string[] = [];
  before(async () => {
    await dockerEnv();
    const usage = await bench([]);
    expect(usage.code).to.equal(2);
    names = /NAME: ([^)]*)\)/.exec(usage.stderr)![1].split(", ");
  });

  const ALL = ["calls", "actors", "env-step", "env-reset", "env-scale", "reward", "learner", "learner-torch", "rollout", "step", "async", "deepswe-learning", "zero"];

  it("lists thirteen benchmarks", () => {
    expect(names).to.have.members(ALL);
  });

  for (const name of ALL) {
    it(`${name}: exits 0 with a JSON object of numbers on its last line`, async () => {
      const r = await bench([name]);
      expect(r.code, r.stderr.slice(-2000)).to.equal(0);
      const last = r.stdout.trim().split("\n").pop()!;
      const result = JSON.parse(last);
      expect(result).to.be.an("object");
      expect(Object.keys(result).length).to.be.above(0);
      for (const [k, v] of Object.entries(result)) expect(Number.isFinite(v), `${k}: ${v}`).to.equal(true);
    });
  }
});
