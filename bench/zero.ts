// `npm run bench -- zero`: a training step of the ~10M-parameter model (bench/learner.ts) for
// ZeRO stages 0–3 on 1, 2 and 4 CPU worker processes (Gloo), the global batch split among
// them: the step's time and each rank's held bytes (parameters, gradients, AdamW state), each
// against stage 0 on the same number of processes in the same run, and the held bytes against
// the README's table (16 bytes per parameter at stage 0; 4 + 4 + 8/N at 1; 4 + 12/N at 2; 16/N
// at 3; padding to a multiple of N per layer aside).
import { NativeWorker } from "../gpu/index.js";
import { CONFIG } from "./learner.js";
import { log, round, size } from "./util.js";

const SEQ = size(512, 64);
const BATCH = 4;
const STEPS = size(2, 1);

function lcg(seed: number) {
  let x = seed >>> 0;
  return (n: number) => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) % n);
}

/** Bytes per parameter per rank, as the README's table gives them. */
export function tableBytesPerParam(stage: number, world: number): number {
  if (world === 1 || stage === 0) return 16;
  return [16, 8 + 8 / world, 4 + 12 / world, 16 / world][stage];
}

async function measure(world: number, stage: 0 | 1 | 2 | 3) {
  const threads = Math.max(1, Math.floor(2 / world));
  const ranks = await Promise.all(Array.from({ length: world }, () => NativeWorker.start({ backend: "torch", device: "cpu", threads })));
  try {
    await Promise.all(ranks.map((w) => w.init(CONFIG, { seed: 1 })));
    if (world > 1) {
      const address = [await ranks[0].collectiveListen()];
      await Promise.all(ranks.map((w, r) => w.collectiveInit(r, world, address, { zero: stage })));
    }
    const rnd = lcg(7);
    const seqs = Array.from({ length: BATCH }, () => Array.from({ length: SEQ }, () => rnd(CONFIG.vocab_size)));
    const batch = seqs.map((t, i) => ({ tokens: t, mask: t.map((_, j) => (j >= 16 ? 1 : 0)), oldLogprobs: new Array(SEQ).fill(-8), advantage: i % 2 ? 1 : -1 }));
    const step = () => Promise.all(ranks.map(async (w, r) => {
      await w.accumulate(batch.filter((_, i) => i % world === r), { batchSequences: BATCH });
      await w.step({ lr: 1e-4 });
    }));
    await step();  // warm-up, and the optimizer state exists from here on
    const t0 = performance.now();
    for (let i = 0; i < STEPS; i++) await step();
    const stepS = (performance.now() - t0) / 1000 / STEPS;
    const info = await ranks[0].info();
    const h = info.held!;
    return { stepS, held: h.params + h.grads + h.optimizer, parameters: info.parameters! };
  } finally {
    await Promise.all(ranks.map((w) => w.close()));
  }
}

export async function run(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const world of [1, 2, 4]) {
    const base = await measure(world, 0);
    for (const stage of world === 1 ? [0] : [0, 1, 2, 3] as const) {
      const m = stage === 0 ? base : await measure(world, stage as 0 | 1 | 2 | 3);
      const key = `n${world}_z${stage}`;
      out[`${key}_step_s`] = round(m.stepS, 3);
      out[`${key}_held_mb`] = round(m.held / 1e6, 2);
      out[`${key}_held_bytes_per_param`] = round(m.held / m.parameters, 3);
      out[`${key}_table_bytes_per_param`] = round(tableBytesPerParam(stage, world), 3);
      if (stage > 0) {
        out[`${key}_time_vs_z0`] = round(m.stepS / base.stepS, 2);
        out[`${key}_held_vs_z0`] = round(m.held / base.held, 3);
      }
      log(`${world} rank(s), stage ${stage}: ${m.stepS.toFixed(3)} s/step, ${(m.held / 1e6).toFixed(2)} MB held per rank (${(m.held / m.parameters).toFixed(2)} bytes/parameter; table ${tableBytesPerParam(stage, world)})`);
    }
  }
  return out;
}
