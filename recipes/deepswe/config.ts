// The deepswe recipe's configuration: DEEPSWE.md's values in three profiles, validated by zod
// before anything starts (an error names the field). `cluster` is the release's
// hyperparameters and budgets; `laptop` is the embedded default that runs on 2 CPU cores: a
// small byte-level model, the bundled tasks, the compact scaffold, small budgets, and a starter
// supervised on gold demonstrations (a model from scratch never finds a reward on SWE tasks);
// `smoke` is the laptop's pipeline in a minute (a tiny model that learns nothing, two tasks of two
// rollouts per step): what the tests and benches run when they check a mechanism, not learning.
import { z } from "zod";
import { isTokenizerName } from "../../llm/index.js";
import { ConfigError } from "../../runtime/index.js";

const Model = z.strictObject({
  /** A checkpoint folder to start from (a real Qwen3 folder included); else `config`, random. */
  init: z.string().optional(),
  config: z.record(z.string(), z.unknown()).optional(),
  /** "bytes", "qwen3", or a model folder whose tokenizer.json (and chat template) to use. */
  tokenizer: z.string().refine(isTokenizerName, { message: "must be bytes, qwen3, or a folder holding a tokenizer.json" }),
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
  /**
   * ZeRO stage of a group of learners (torch backend): 0 every rank holds everything; 1 the
   * AdamW state is sharded; 2 the gradients too; 3 the parameters too (each layer gathered as it
   * runs, the whole weights gathered again between steps for generation and weight syncs).
   */
  zero: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]).default(0),
});

export const DeepSWEConfigSchema = z.strictObject({
  profile: z.enum(["laptop", "cluster", "smoke"]),
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
    /** What the agent is told (envs/swe/prompts.ts): DeepSWE's prompts, or the laptop's compact ones. */
    scaffold: z.enum(["full", "compact"]).default("full"),
    /** Answer a patch scored before from its verdict (deterministic tests only; SWEEnvOptions). */
    memoizeRewards: z.boolean().default(false),
    /**
     * Time limit of the hidden tests, for tasks that set none (DeepSWE: 300 s). A patch that makes
     * the code under test loop forever costs this much: the laptop's tests take a second.
     */
    testTimeoutSec: z.number().positive().default(300),
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
  /**
   * The starter (starter.ts): cross-entropy epochs on the train tasks' gold demonstrations,
   * `batch` per optimizer step, until the demonstrations' probability reaches `stopAt`; built
   * once and cached. 0 epochs: RL starts from the model as given (the cluster's Qwen3).
   */
  warmup: z.strictObject({
    epochs: z.number().int().min(0),
    batch: z.number().int().positive().default(4),
    lr: z.number().positive(),
    stopAt: z.number().gt(0).max(1).default(1),
  }),
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
    /**
     * pass@1 on the train tasks before RL and after it, the same evaluation both times: every
     * train task × this many samples at temperature 1 from fixed seeds (0: none).
     */
    evalSamples: z.number().int().min(0).default(0),
  }),
});

export type DeepSWEConfig = z.infer<typeof DeepSWEConfigSchema>;

/**
 * The laptop's model: a byte-level Qwen3 of 0.8 M parameters. Measured on 2 cores: big enough to
 * learn the 16 train tasks' compact demonstrations in about 100 epochs (4 minutes); a 64-wide,
 * 2-layer one was still at a cross-entropy of 3.5 after 30 epochs of the full scaffold.
 */
const LAPTOP_MODEL = {
  vocab_size: 261, hidden_size: 128, intermediate_size: 384, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2,
  head_dim: 32, max_position_embeddings: 4096, rope_theta: 10000, tie_word_embeddings: true,
};

/** A byte-level Qwen3 of 0.1 M parameters: fast, and too small to learn the tasks. */
const SMOKE_MODEL = {
  vocab_size: 261, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  head_dim: 16, max_position_embeddings: 16384, rope_theta: 10000, tie_word_embeddings: true,
};

export type ProfileName = "laptop" | "cluster" | "smoke";

const RELEASE_AND_LAPTOP: Record<"laptop" | "cluster", DeepSWEConfig> = {
  laptop: {
    profile: "laptop",
    tasks: { train: "bundled:train", validation: "bundled:validation" },
    model: { config: LAPTOP_MODEL, tokenizer: "bytes", seed: 1 },
    learner: { backend: "reference", device: "cpu", precision: "auto", activationCheckpointing: true, zero: 0 },
    backend: "auto",
    learners: 1,
    mode: "hybrid",
    engines: 1,
    // Measured (bench step, 116 MB model): 8 MB buckets with 64 MB in flight keep the read,
    // the transfer and the load overlapped.
    sync: { bucketMB: 8, windowMB: 64 },
    // 8 tasks × 8 rollouts per step, as DeepSWE; budgets sized to the compact scaffold (a solved
    // task takes about 950 tokens, 340 of them generated).
    rollout: {
      tasksPerStep: 8, k: 8, envActors: 4, maxSteps: 4, maxPromptTokens: 1024, maxResponseTokens: 768, maxTurnTokens: 384,
      timeoutSec: 600, stepTimeoutSec: 60, temperature: 1, topP: 1, goldPerGroup: 0, diskBudgetGiB: 2, scaffold: "compact", memoizeRewards: true, testTimeoutSec: 30,
    },
    algorithm: { advantage: "rloo", epsLow: 0.2, epsHigh: 0.28, lossScale: 1024, compactFilter: true },
    optim: { lr: 3e-4, weightDecay: 0.01, maxGradNorm: 1, microBatchTokens: 8192 },
    warmup: { epochs: 300, batch: 4, lr: 3e-3, stopAt: 0.12 },
    async: { enabled: false, maxStaleness: 1, importanceCap: 5 },
    schedule: { steps: 20, checkpointEvery: 10, validateEvery: 10, validationTasks: 8, checkWeights: true, evalSamples: 8 },
  },
  // The release (DEEPSWE.md): Qwen3-32B, 8 tasks × 8 rollouts per step, 32K responses, 50 steps,
  // 5,400 s per trajectory, lr 1e-6, clip [0.8, 1.28], C = 32,768, no warm-up.
  cluster: {
    profile: "cluster",
    tasks: { train: "r2e-gym-subset.jsonl", validation: "swe-bench-verified.jsonl" },
    model: { init: "/models/Qwen3-32B", tokenizer: "qwen3", seed: 1 },
    // Qwen3-32B's weights, gradients and AdamW state (~512 GB) fit 8 GPUs only sharded (README).
    learner: { backend: "torch", device: "cuda", precision: "bf16", activationCheckpointing: true, zero: 3 },
    backend: "docker",
    learners: 8,
    mode: "hybrid",
    engines: 8,
    sync: { bucketMB: 256, windowMB: 1024 },
    rollout: {
      tasksPerStep: 8, k: 8, envActors: 64, maxSteps: 50, maxPromptTokens: 4096, maxResponseTokens: 32768, maxTurnTokens: 32768,
      timeoutSec: 5400, stepTimeoutSec: 90, temperature: 1, topP: 1, goldPerGroup: 0, diskBudgetGiB: 2, scaffold: "full", memoizeRewards: false, testTimeoutSec: 300,
    },
    algorithm: { advantage: "rloo", epsLow: 0.2, epsHigh: 0.28, lossScale: 32768, compactFilter: true },
    optim: { lr: 1e-6, weightDecay: 0.01, maxGradNorm: 1, microBatchTokens: 32768 },
    warmup: { epochs: 0, batch: 4, lr: 1e-5, stopAt: 1 },
    async: { enabled: false, maxStaleness: 1, importanceCap: 5 },
    schedule: { steps: 200, checkpointEvery: 10, validateEvery: 10, validationTasks: 500, checkWeights: false, evalSamples: 0 },
  },
};

export const PROFILES: Record<ProfileName, DeepSWEConfig> = { ...RELEASE_AND_LAPTOP, smoke: smokeProfile(RELEASE_AND_LAPTOP.laptop) };

function smokeProfile(laptop: DeepSWEConfig): DeepSWEConfig {
  return {
    ...laptop,
    profile: "smoke",
    model: { config: SMOKE_MODEL, tokenizer: "bytes", seed: 1 },
    rollout: { ...laptop.rollout, tasksPerStep: 2, k: 2, envActors: 2, maxResponseTokens: 256, maxTurnTokens: 64 },
    // One optimizer step on every demonstration: the starter path runs, and takes seconds.
    warmup: { epochs: 1, batch: 16, lr: 1e-3, stopAt: 1 },
    schedule: { steps: 3, checkpointEvery: 1, validateEvery: 3, validationTasks: 1, checkWeights: true, evalSamples: 0 },
  };
}

/** The profile, then a config file, then `--set a.b=value` overrides; validated as a whole. */
export function resolveConfig(profile: string, file: Record<string, unknown> | undefined, sets: string[]): DeepSWEConfig {
  if (!Object.hasOwn(PROFILES, profile)) throw new ConfigError(`--profile must be one of ${Object.keys(PROFILES).join(", ")}, not '${profile}'`);
  const merged = structuredClone(PROFILES[profile as ProfileName]) as Record<string, unknown>;
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
  if (r.data.learner.zero > 0 && r.data.learner.backend !== "torch") throw new ConfigError(`deepswe config: learner.zero: stage ${r.data.learner.zero} needs learner.backend=torch (the reference backend has stage 0 only)`);
  if (r.data.learner.zero === 3 && r.data.async.enabled && r.data.mode === "hybrid" && r.data.learners > 1) {
    // A hybrid learner generates between its training calls in async mode, and at stage 3 the
    // whole weights generation needs exist only between steps.
    throw new ConfigError("deepswe config: learner.zero: stage 3 with async.enabled in hybrid mode would generate during training steps, when the weights are sharded; use mode=disaggregated, or zero ≤ 2");
  }
  if (r.data.mode === "external" && !r.data.external) throw new ConfigError("deepswe config: external: mode external needs external.urls and external.model");
  if (r.data.rollout.goldPerGroup >= r.data.rollout.k) {
    throw new ConfigError(`deepswe config: rollout.goldPerGroup: ${r.data.rollout.goldPerGroup} of ${r.data.rollout.k} rollouts per group leaves the model none`);
  }
  return r.data;
}

/**
 * Keys a config saved by an earlier version (a run to resume) spells differently: durations are
 * seconds spelled `…Sec` (`…Ms` only in the runtime's call options), and the warm-up counts
 * epochs (`sftSteps` were epochs of one optimizer step each).
 */
const RENAMED: Record<string, Record<string, string>> = { rollout: { timeoutS: "timeoutSec", stepTimeoutS: "stepTimeoutSec" }, warmup: { sftSteps: "epochs" } };

function renamedKeys(file: Record<string, unknown>): Record<string, unknown> {
  const out = { ...file };
  for (const [section, names] of Object.entries(RENAMED)) {
    const part = file[section];
    if (!part || typeof part !== "object") continue;
    out[section] = Object.fromEntries(Object.entries(part).map(([k, v]) => [names[k] ?? k, v]));
  }
  return out;
}

function deepMerge(into: Record<string, unknown>, from: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(from)) {
    if (v && typeof v === "object" && !Array.isArray(v) && into[k] && typeof into[k] === "object") deepMerge(into[k] as Record<string, unknown>, v as Record<string, unknown>);
    else into[k] = v;
  }
}
