// `npm run bench -- deepswe-learning`: the default laptop run (`node driver.js --recipe deepswe`'s
// config), its starter from the cache or built first, and the run's fixed evaluation: train
// pass@1 before RL (the baseline) and after it, the minutes RL took (the evaluations included)
// and the minutes the starter's build took (when it was built, in this run or an earlier one).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveConfig, runDeepSWE } from "../recipes/index.js";
import { log, round, SMOKE } from "./util.js";

export async function run(): Promise<Record<string, number>> {
  const out = mkdtempSync(join(tmpdir(), "troupe-bench-learning-"));
  try {
    const config = SMOKE ? resolveConfig("smoke", undefined, ["schedule.steps=1", "schedule.evalSamples=1"]) : resolveConfig("laptop", undefined, []);
    const t0 = performance.now();
    await runDeepSWE({ config, out, log: (l) => log(l), progress: () => undefined });
    const seconds = (performance.now() - t0) / 1000;
    const ev = JSON.parse(readFileSync(join(out, "eval.json"), "utf8"));
    const built = ev.starter && !ev.starter.cached ? ev.starter.buildSeconds : 0;
    return {
      pass1_before: round(ev.before.pass1), pass1_after: round(ev.after.pass1), gain: round(ev.after.pass1 - ev.before.pass1),
      rl_minutes: round((seconds - built) / 60), starter_minutes: round((ev.starter?.buildSeconds ?? 0) / 60), steps: config.schedule.steps,
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
