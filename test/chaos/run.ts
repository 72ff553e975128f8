// `npm run chaos -- deepswe [--seed N] [--steps N] [--faults N] [--out DIR]`: the chaos harness
// (chaos.ts) on the smoke recipe. Prints each fault and what followed; its last line is one
// JSON object (seed, faults injected and survived, runs, problems). Exit 1 when a guarantee broke.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chaos } from "./chaos.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { seed: { type: "string" }, steps: { type: "string" }, faults: { type: "string" }, out: { type: "string" } },
});
if (positionals[0] !== "deepswe") {
  console.error("usage: npm run chaos -- deepswe [--seed N] [--steps N] [--faults N] [--out DIR]");
  process.exit(2);
}
const seed = values.seed ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
const out = values.out ?? join(mkdtempSync(join(tmpdir(), "troupe-chaos-")), "run");
console.error(`chaos: seed ${seed} (again with --seed ${seed}); run folder ${out}`);
const r = await chaos({ seed, steps: Number(values.steps ?? 6), faults: Number(values.faults ?? 10), out });
for (const f of r.faults) console.error(`  run ${f.run}, ${f.at} s: ${f.kind.padEnd(9)} ${f.target} → ${f.outcome}`);
for (const p of r.problems) console.error(`  PROBLEM: ${p}`);
console.log(JSON.stringify({ seed: r.seed, injected: r.injected, survived: r.survived, runs: r.runs, problems: r.problems.length }));
process.exit(r.problems.length ? 1 : 0);
