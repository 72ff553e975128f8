// `npm run bench -- learner-torch`: the worker's torch backend (libtorch on the CPU here)
// against its reference backend on the same ~10M-parameter model in one run: training tokens/s
// and achieved GFLOP/s of a whole step (forward, backward, AdamW), and generation tokens/s.
// The GPU figures (Qwen3-0.6B/1.7B shapes in bf16, against transformers) come from
// scripts/gpu-check.sh, which needs no Node.js.
import { NativeWorker } from "../gpu/index.js";
import { measure } from "./learner.js";
import { size } from "./util.js";

export async function run(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  // Interleaved rounds, the median of each side: the machine is shared and noisy.
  const rounds: Record<string, Awaited<ReturnType<typeof measure>>[]> = { reference: [], torch: [] };
  for (let r = 0; r < size(3, 1); r++) {
    for (const backend of ["reference", "torch"] as const) {
      const w = await NativeWorker.start({ backend, device: "cpu" });
      try {
        rounds[backend].push(await measure(w, console.log));
      } finally {
        await w.close();
      }
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const [backend, ms] of Object.entries(rounds)) {
    out[`${backend}_train_tokens_per_s`] = Math.round(median(ms.map((m) => m.tokensPerS)));
    out[`${backend}_train_gflops`] = +median(ms.map((m) => m.gflops)).toFixed(2);
    out[`${backend}_gen_tokens_per_s`] = Math.round(median(ms.map((m) => m.genCached)));
  }
  out.torch_vs_reference_train = +(out.torch_train_tokens_per_s / out.reference_train_tokens_per_s).toFixed(2);
  out.torch_vs_reference_gen = +(out.torch_gen_tokens_per_s / out.reference_gen_tokens_per_s).toFixed(2);
  return out;
}
