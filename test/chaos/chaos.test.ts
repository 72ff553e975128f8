// The chaos harness's short version (chaos.ts): the smoke recipe, 40 steps (about a second each), one fault of each
// kind, resumed until done. CI uses a fixed seed so that a red run is reproducible as it is;
// `npm run chaos -- deepswe` draws a new one each time for longer runs.
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chaos, FAULTS } from "./chaos.js";

describe("chaos: the smoke recipe under faults", function () {
  this.timeout(900_000);
  const dir = mkdtempSync(join(tmpdir(), "troupe-chaos-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("a host, the node, nats-server, the worker and a container killed: every step once with all its trajectories, nothing left", async () => {
    const seed = 7;
    const lines: string[] = [];
    const r = await chaos({ seed, steps: 40, faults: FAULTS.length, out: join(dir, "run"), delayMs: [2000, 7000], log: (l) => lines.push(l) });
    const summary = r.faults.map((f) => `run ${f.run}, ${f.at} s: ${f.kind} ${f.target} → ${f.outcome}`).join("\n");
    expect(r.problems, `seed ${seed}\n${summary}\n${lines.join("\n")}`).to.deep.equal([]);
    expect(r.faults.map((f) => f.kind).sort()).to.deep.equal([...FAULTS].sort());
    console.log(`      chaos seed ${seed}: ${r.injected} faults injected, ${r.survived} survived, ${r.runs} runs\n${summary.replace(/^/gm, "        ")}`);
  });
});
