// `node driver.js eval` end to end: actors on an embedded cluster, real sandboxes, result files.
import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { NativeWorker } from "../../gpu/index.js";
import { serveOpenAI } from "../../llm/index.js";
import { dockerEnv } from "../envs/helpers.js";
import { ROOT } from "../helpers.js";

const run = promisify(execFile);
const driver = (args: string[]) => run(process.execPath, ["driver.js", ...args], { cwd: ROOT, timeout: 280_000 }).then(
  (r) => ({ code: 0, ...r }),
  (e) => ({ code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
);
const jsonl = (path: string) => readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l));

describe("eval", function () {
  this.timeout(300_000);
  let dir: string;
  before(async () => {
    await dockerEnv();  // the bundled images
    dir = mkdtempSync(join(tmpdir(), "troupe-eval-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("replay:gold on the validation split, k=2 over 2 env actors: everything solved, rows, trajectories and traces written", async () => {
    const out = join(dir, "gold");
    const r = await driver(["eval", "--tasks", "bundled:validation", "--model", "replay:gold", "--k", "2", "--parallel", "2", "--out", out]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/8 tasks, 16 trajectories \(0 errors\): pass@1 100\.0%, pass@k 100\.0%, best-of-k 100\.0%/);
    const rows = jsonl(join(out, "results.jsonl"));
    expect(rows).to.have.length(8);
    for (const row of rows) expect(row).to.deep.include({ k: 2, rewards: [1, 1], reward: 1, pass_at_1: 1, pass_at_k: 1 });
    const trajs = jsonl(join(out, "trajectories.jsonl"));
    expect(trajs).to.have.length(16);
    expect(new Set(trajs.map((t) => `${t.taskId}#${t.rolloutIndex}`)).size).to.equal(16);
    for (const t of trajs) expect(t.tokens.length).to.equal(t.mask.length);
    expect(readFileSync(join(out, "traces.jsonl"), "utf8").length).to.be.above(0);
  });

  it("native:DIR with a tiny random model: trajectories end by their limits with reward 0, not in errors", async () => {
    const ckpt = join(dir, "tiny");
    const w = await NativeWorker.start();
    await w.init({ vocab_size: 261, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 16, max_position_embeddings: 4096 }, { seed: 3 });
    await w.save(ckpt);
    await w.close();
    const out = join(dir, "native");
    const r = await driver(["eval", "--tasks", "bundled:validation", "--model", `native:${ckpt}`, "--k", "1", "--parallel", "1", "--max-steps", "2", "--max-response-tokens", "300", "--out", out]);
    expect(r.code, r.stderr).to.equal(0);
    const trajs = jsonl(join(out, "trajectories.jsonl"));
    expect(trajs).to.have.length(8);
    for (const t of trajs) {
      expect(t.termination).to.be.oneOf(["context", "max_steps"]);
      expect(t.reward).to.equal(0);
      expect(t.mask.some((m: number) => m === 1)).to.equal(true);
    }
  });

  it("openai:URL:NAME against a local OpenAI-compatible server (a random model with Qwen3's vocabulary)", async () => {
    const w = await NativeWorker.start();
    await w.init({ vocab_size: 151_669, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 16, max_position_embeddings: 8192, tie_word_embeddings: true }, { seed: 5 });
    const srv = await serveOpenAI(w, { model: "tiny" });
    try {
      const out = join(dir, "openai");
      const r = await driver(["eval", "--tasks", "bundled:validation", "--model", `openai:${srv.url}:tiny`, "--k", "1", "--parallel", "2", "--max-steps", "2", "--max-response-tokens", "200", "--out", out]);
      expect(r.code, r.stderr).to.equal(0);
      const trajs = jsonl(join(out, "trajectories.jsonl"));
      expect(trajs).to.have.length(8);
      for (const t of trajs) {
        expect(t.termination).to.be.oneOf(["context", "max_steps"]);
        expect(t.policy).to.equal("openai:tiny");
      }
    } finally {
      await srv.close();
      await w.close();
    }
  });

  it("a bad --model is a usage error in one line", async () => {
    const r = await driver(["eval", "--tasks", "bundled:validation", "--model", "gpt:whatever", "--out", join(dir, "bad")]);
    expect(r.code).to.equal(2);
    expect(r.stderr.trim().split("\n")).to.have.length(1);
    expect(r.stderr).to.match(/replay:gold, native:CHECKPOINT_DIR or openai:URL:NAME/);
  });
});
