// The native worker's CPU kernels: each backward against central finite differences of its
// forward (the C++ program gpu/build/troupe-worker-tests, built by `npm run build:worker`).
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers.js";

const BIN = join(ROOT, "gpu", "build", "troupe-worker-tests");

function run(args: string[] = []) {
  const r = spawnSync(BIN, args, { encoding: "utf8" });
  const lines = r.stdout.trim().split("\n").filter(Boolean);
  return { status: r.status, lines, results: Object.fromEntries(lines.map((l) => [l.split(" ")[1], l.split(" ")[0]])) };
}

describe("native worker: CPU kernel and model gradients, loss values", () => {
  before(function () {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run npm run build:worker (scripts/setup.sh does)`);
  });

  it("every kernel's and the whole model's backward match finite differences; the losses match hand-computed values", () => {
    const r = run();
    expect(r.results).to.include.keys(
      "linear/dx", "linear/dw", "rmsnorm/dx", "rmsnorm/dw", "swiglu/dg", "swiglu/du", "embedding/dtable", "rope/dx",
      "attention/dq", "attention/dk", "attention/dv", "attention_cached/dq", "policy_loss/dlogits",
      "loss/policy_gradient_hand_values", "loss/cross_entropy_hand_values", "loss/logits_backward_hand_values",
      "model/model.embed_tokens.weight", "model/lm_head.weight", "model_tied/model.layers.1.self_attn.q_norm.weight",
    );
    for (const [name, verdict] of Object.entries(r.results)) expect(verdict, name).to.equal("PASS");
    expect(r.status).to.equal(0);
  });

  it("the check catches a wrong gradient", () => {
    const r = run(["--corrupt"]);
    expect(r.status).to.equal(1);
    expect(Object.values(r.results).every((v) => v === "FAIL")).to.equal(true);
  });
});
