// The deepswe recipe's configuration: DEEPSWE.md's values in two profiles, validated by zod
// before anything starts (an error names the field). `cluster` is the release's
// hyperparameters and budgets; `laptop` is the embedded default that runs on 2 CPU cores: a
// tiny byte-level model, the bundled tasks, few rollouts, small budgets, and a supervised
// warm-up on gold demonstrations (a model from scratch never finds a reward on SWE tasks).
import { z } from "zod";
import { ConfigError } from "../../runtime/index.js";

const Model = z.strictObject({
  /** A checkpoint folder to start from (a real Qwen3 folder included); else `config`, random. */
  init: z.string().optional(),
  config: z.record(z.string(), z.unknown()).optional(),
  tokenizer: z.enum(["qwen3", "bytes"]),
  seed: z.number().int().default(1),
});

/**
 * The native worker every learner (and, in disaggregated mode, every engine) runs: the
 * reference CPU kernels, or the model in libtorch on the CPU or a GPU.
 */
const Learner = z.strictObject({
  backend: z.enum(["reference", "torch"]),
  device: z.enum(["cpu", "cuda", "auto"]),
  precision: z.enum(["auto", "fp32", "bf16"]).default("auto"),
  activationCheckpointing: z.boolean().default(true),
  /** CPU threads of each worker (default: every core); 1 gives each worker a core of its own. */
  threads: z.number().int().positive().optional(),
});

export const DeepSWEConfigSchema = z.strictObject({
  profile: z.enum(["laptop", "cluster"]),
  tasks: z.strictObject({ train: z.string(), validation: z.string() }),
  model: Model,
  learner: Learner,
  backend: z.enum(["auto", "docker", "local"]).default("auto"),
  /** Data-parallel learners (gradients all-reduced); in hybrid mode each also generates. */
  learners: z.number().int().positive().default(1),
  /**
   * hybrid (DeepSWE's): the learners' workers also generate, so no weights move between
   * phases. disaggregated: `engines` EngineActors generate and get each new version of the
   * weights by a bucketed broadcast after every train phase. external: OpenAI-compatible
   * servers (`external`: SGLang, Troupe's own) generate, and load each new version from a
   * checkpoint folder the learner writes where they can read it.
   */
  mode: z.enum(["hybrid", "disaggregated", "external"]).default("hybrid"),
  engines: z.number().int().positive().default(1),
  external: z.strictObject({
    /** Base URLs of the servers (each must serve /v1/completions and /update_weights_from_disk). */
    urls: z.array(z.string().url()).min(1),
    model: z.string().min(1),
    /** Where the learner writes each version for the servers to load (default: RUN_DIR/weights). */
    weightsDir: z.string().optional(),
  }).optional(),
  sync: z.strictObject({ bucketMB: z.number().positive(), windowMB: z.number().positive() }).default({ bucketMB: 8, windowMB: 64 }),
  rollout: z.strictObject({
    tasksPerStep: z.number().int().positive(),
    k: z.number().int().min(2),  // leave-one-out needs a group
    envActors: z.number().int().positive(),
    maxSteps: z.number().int().positive(),
    maxPromptTokens: z.number().int().positive(),
    maxResponseTokens: z.number().int().positive(),
    maxTurnTokens: z.number().int().positive(),
    timeoutSec: z.number().positive(),
    stepTimeoutSec: z.number().positive(),
    temperature: z.number().min(0),
    topP: z.number().gt(0).max(1),
    /**
     * Off-policy guidance: the first n rollouts of every group replay the task's gold patch
     * (a known success among the model's tries, as LUFFY mixes demonstrations into GRPO
     * groups). 0 in both profiles, as DeepSWE trains; tests use 1 so that a tiny model's step
     * has a reward to learn from.
     */
    goldPerGroup: z.number().int().min(0).default(0),
    /** What a sandbox may write before its trajectory ends as `disk_budget` (the agent's doing). */
    diskBudgetGiB: z.number().positive().default(2),
  }),
  algorithm: z.strictObject({
    advantage: z.enum(["rloo", "grpo", "drgrpo"]),
    epsLow: z.number().min(0).max(1),
    epsHigh: z.number().min(0),
    /** The constant a trajectory's token sum is divided by (the maximum response length). */
    lossScale: z.number().positive(),
    compactFilter: z.boolean(),
  }),
  optim: z.strictObject({
    lr: z.number().positive(),
    weightDecay: z.number().min(0),
    maxGradNorm: z.number().min(0),
    microBatchTokens: z.number().int().positive(),
  }),
  warmup: z.strictObject({ sftSteps: z.number().int().min(0), lr: z.number().positive() }),
  /**
   * Asynchronous training (off by default, as DeepSWE trained): rollouts run on while the
   * learner trains on complete groups (recipes/deepswe/async.ts), in either mode — hybrid
   * time-slices the learners' workers between generating and training (the overlap is then the
   * sandboxes' time: tools and tests), disaggregated overlaps generation itself.
   */
  async: z.strictObject({
    enabled: z.boolean(),
    /** No token trained on was sampled more than this many versions before the weights it updates. */
    maxStaleness: z.number().int().min(0),
    /** Decoupled PPO's truncation of the behaviour importance weight (rl/off-policy.ts). */
    importanceCap: z.number().positive(),
  }).default({ enabled: false, maxStaleness: 1, importanceCap: 5 }),
  schedule: z.strictObject({
    steps: z.number().int().positive(),
    checkpointEvery: z.number().int().positive(),
    validateEvery: z.number().int().positive(),
    validationTasks: z.number().int().positive(),
    /**
     * After every step, digest rank 0's weights before and after and check that every other
     * learner and every engine holds the same bits (a replica that diverged stops the run).
     * On for the laptop; off for the cluster, where a digest reads every weight to the host.
     */
    checkWeights: z.boolean().default(false),
  }),
});

export type DeepSWEConfig = z.infer<typeof DeepSWEConfigSchema>;

const TINY_BYTES_MODEL = {
  vocab_size: 261, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  head_dim: 16, max_position_embeddings: 16384, rope_theta: 10000, tie_word_embeddings: true,
};

export const PROFILES: Record<"laptop" | "cluster", DeepSWEConfig> = {
  laptop: {
    profile: "laptop",
    tasks: { train: "bundled:train", validation: "bundled:validation" },
    model: { config: TINY_BYTES_MODEL, tokenizer: "bytes", seed: 1 },
    learner: { backend: "reference", device: "cpu", precision: "auto", activationCheckpointing: true },
    backend: "auto",
    learners: 1,
    mode: "hybrid",
    engines: 1,
    // Measured (bench step, 116 MB model): 8 MB buckets with 64 MB in flight keep the read,
    // the transfer and the load overlapped.
    sync: { bucketMB: 8, windowMB: 64 },
    rollout: {
      tasksPerStep: 2, k: 2, envActors: 2, maxSteps: 4, maxPromptTokens: 8192, maxResponseTokens: 1024, maxTurnTokens: 128,
      timeoutSec: 600, stepTimeoutSec: 60, temperature: 1, topP: 1, goldPerGroup: 0, diskBudgetGiB: 2,
    },
    algorithm: { advantage: "rloo", epsLow: 0.2, epsHigh: 0.28, lossScale: 1024, compactFilter: true },
    optim: { lr: 1e-4, weightDecay: 0.01, maxGradNorm: 1, microBatchTokens: 8192 },
    warmup: { sftSteps: 2, lr: 1e-3 },
    async: { enabled: false, maxStaleness: 1, importanceCap: 5 },
    schedule: { steps: 3, checkpointEvery: 1, validateEvery: 3, validationTasks: 2, checkWeights: true },
  },
  // The release (DEEPSWE.md): Qwen3-32B, 8 tasks × 8 rollouts per step, 32K responses, 50 steps,
  // 5,400 s per trajectory, lr 1e-6, clip [0.8, 1.28], C = 32,768, no warm-up.
  cluster: {
    profile: "cluster",
    tasks: { train: "r2e-gym-subset.jsonl", validation: "swe-bench-verified.jsonl" },
    model: { init: "/models/Qwen3-32B", tokenizer: "qwen3", seed: 1 },
    learner: { backend: "torch", device: "cuda", precision: "bf16", activationCheckpointing: true },
    backend: "docker",
    learners: 8,
    mode: "hybrid",
    engines: 8,
    sync: { bucketMB: 256, windowMB: 1024 },
    rollout: {
      tasksPerStep: 8, k: 8, envActors: 64, maxSteps: 50, maxPromptTokens: 4096, maxResponseTokens: 32768, maxTurnTokens: 32768,
      timeoutSec: 5400, stepTimeoutSec: 90, temperature: 1, topP: 1, goldPerGroup: 0, diskBudgetGiB: 2,
    },
    algorithm: { advantage: "rloo", epsLow: 0.2, epsHigh: 0.28, lossScale: 32768, compactFilter: true },
    optim: { lr: 1e-6, weightDecay: 0.01, maxGradNorm: 1, microBatchTokens: 32768 },
    warmup: { sftSteps: 0, lr: 1e-5 },
    async: { enabled: false, maxStaleness: 1, importanceCap: 5 },
    schedule: { steps: 200, checkpointEvery: 10, validateEvery: 10, validationTasks: 500, checkWeights: false },
  },
};

/** The profile, then a config file, then `--set a.b=value` overrides; validated as a whole. */
export function resolveConfig(profile: string, file: Record<string, unknown> | undefined, sets: string[]): DeepSWEConfig {
  if (profile !== "laptop" && profile !== "cluster") throw new ConfigError(`--profile must be laptop or cluster, not '${profile}'`);
  const merged = structuredClone(PROFILES[profile]) as Record<string, unknown>;
  if (file) deepMerge(merged, renamedKeys(file));
  for (const s of sets) {
    const eq = s.indexOf("=");
    if (eq < 1) throw new ConfigError(`--set '${s}': expected key.path=value`);
    const path = s.slice(0, eq).split(".");
    let v: unknown = s.slice(eq + 1);
    try {
      v = JSON.parse(v as string);
    } catch {
      /* a bare string */
    }
    let at = merged;
    for (const k of path.slice(0, -1)) {
      if (typeof at[k] !== "object" || at[k] === null) at[k] = {};
      at = at[k] as Record<string, unknown>;
    }
    at[path[path.length - 1]] = v;
  }
  const r = DeepSWEConfigSchema.safeParse(merged);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new ConfigError(`deepswe config: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  if (!r.data.model.init && !r.data.model.config) throw new ConfigError("deepswe config: model: give init (a checkpoint folder) or config");
  if (r.data.mode === "external" && !r.data.external) throw new ConfigError("deepswe config: external: mode external needs external.urls and external.model");
  if (r.data.rollout.goldPerGroup >= r.data.rollout.k) {
    throw new ConfigError(`deepswe config: rollout.goldPerGroup: ${r.data.rollout.goldPerGroup} of ${r.data.rollout.k} rollouts per group leaves the model none`);
  }
  return r.data;
}

/**
 * Durations are seconds spelled `…Sec` in configs and env options (`…Ms` only in the runtime's
 * call options): a config saved before that spelling (a run to resume) is read under the new one.
 */
function renamedKeys(file: Record<string, unknown>): Record<string, unknown> {
  const rollout = file.rollout as Record<string, unknown> | undefined;
  if (!rollout || typeof rollout !== "object") return file;
  const renamed: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rollout)) renamed[k === "timeoutS" ? "timeoutSec" : k === "stepTimeoutS" ? "stepTimeoutSec" : k] = v;
  return { ...file, rollout: renamed };
}

function deepMerge(into: Record<string, unknown>, from: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(from)) {
    if (v && typeof v === "object" && !Array.isArray(v) && into[k] && typeof into[k] === "object") deepMerge(into[k] as Record<string, unknown>, v as Record<string, unknown>);
    else into[k] = v;
  }
}
