// Advantage estimators over one task's group of rollouts (DEEPSWE.md: leave-one-out).
//   rloo:    A_i = r_i − mean_{j≠i} r_j                (the release's choice)
//   grpo:    A_i = (r_i − mean r) / (std r + eps)      (population std)
//   drgrpo:  A_i = r_i − mean r                        (Dr. GRPO: no std division)

export type AdvantageEstimator = "rloo" | "grpo" | "drgrpo";

export function advantages(rewards: number[], estimator: AdvantageEstimator = "rloo", eps = 1e-6): number[] {
  const n = rewards.length;
  if (n === 0) return [];
  const sum = rewards.reduce((a, b) => a + b, 0);
  const mean = sum / n;
  if (estimator === "rloo") return n === 1 ? [0] : rewards.map((r) => r - (sum - r) / (n - 1));
  if (estimator === "drgrpo") return rewards.map((r) => r - mean);
  const std = Math.sqrt(rewards.reduce((a, r) => a + (r - mean) ** 2, 0) / n);
  return rewards.map((r) => (r - mean) / (std + eps));
}
