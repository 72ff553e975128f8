// `node driver.js eval` end to end: actors on an embedded cluster, real sandboxes, result files.
import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { NativeWorker } from "../../gpu/index.js";
import { goldReplies, loadTasks, renderToolCall, type Task } from "../../envs/index.js";
import { IM_START, Qwen3Tokenizer, ScriptedPolicy, serveOpenAI } from "../../llm/index.js";
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

  it("a mixed policy over k=3: pass@1, pass@k and best-of-k each come out as computed by hand, best-of-k's index included", async () => {
    // An OpenAI-compatible server (/v1/completions, token ids) that plays a known plan: for
    // each task, its n-th conversation gets the gold patch, a no-op (finish at once: reward 0,
    // every regression test still passing) or a break (the package deleted: reward 0, every
    // test failing). Best-of-k picks the most regression tests passed, ties to the lowest
    // index, so a no-op ahead of the gold patch wins over it.
    const { tasks } = loadTasks("bundled:validation");
    const finish = renderToolCall({ name: "finish", params: { command: "submit" } });
    const plays: Record<string, (t: Task) => string[]> = {
      gold: (t) => goldReplies(t.goldPatch!, t.workdir),
      noop: () => [finish],
      break: (t) => [renderToolCall({ name: "execute_bash", params: { cmd: `rm -rf ${t.workdir}/${t.id.split("-")[0]}` } }), finish],
    };
    const PLANS = [["gold", "gold", "gold"], ["noop", "gold", "break"], ["break", "gold", "noop"], ["break", "break", "noop"]];
    const expected = [
      { rewards: [1, 1, 1], pass_at_1: 1, pass_at_k: 1, best_of_k: { index: 0, reward: 1 } },
      { rewards: [0, 1, 0], pass_at_1: 1 / 3, pass_at_k: 1, best_of_k: { index: 0, reward: 0 } },
      { rewards: [0, 1, 0], pass_at_1: 1 / 3, pass_at_k: 1, best_of_k: { index: 1, reward: 1 } },
      { rewards: [0, 0, 0], pass_at_1: 0, pass_at_k: 0, best_of_k: { index: 2, reward: 0 } },
    ];
    const tok = new Qwen3Tokenizer();
    const conversations = new Map<string, number>();
    const srv = createServer((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", async () => {
        const b = JSON.parse(body);
        const text = tok.decode(b.prompt);
        const ti = tasks.findIndex((t) => text.includes(t.problemStatement.slice(0, 60)));
        const task = tasks[ti];
        // --parallel 1: a task's conversations come one after the other; turn 0 opens the next.
        const turn = text.split(`${IM_START}assistant`).length - 2;
        if (turn === 0) conversations.set(task.id, (conversations.get(task.id) ?? -1) + 1);
        const play = PLANS[ti % PLANS.length][conversations.get(task.id)!];
        const g = await new ScriptedPolicy(tok, plays[play](task)).generate(b.prompt, { maxTokens: b.max_tokens });
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ choices: [{ finish_reason: g.finish, logprobs: { tokens: g.tokens.map((t) => `token_id:${t}`), token_logprobs: g.logprobs } }] }));
      });
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    try {
      const out = join(dir, "mixed");
      const url = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
      const r = await driver(["eval", "--tasks", "bundled:validation", "--model", `openai:${url}:plan`, "--k", "3", "--parallel", "1", "--out", out]);
      expect(r.code, r.stderr).to.equal(0);
      // Over the 8 tasks (each plan twice): pass@1 (1 + 1/3 + 1/3 + 0) / 4, pass@k 3/4, best-of-k 2/4.
      expect(r.stdout).to.match(/8 tasks, 24 trajectories \(0 errors\): pass@1 41\.7%, pass@k 75\.0%, best-of-k 50\.0%/);
      const rows = jsonl(join(out, "results.jsonl"));
      expect(rows.map((x) => x.task_id)).to.deep.equal(tasks.map((t) => t.id));
      rows.forEach((row, i) => {
        const want = expected[i % expected.length];
        expect(row.rewards, row.task_id).to.deep.equal(want.rewards);
        expect(row.pass_at_1, row.task_id).to.be.closeTo(want.pass_at_1, 1e-12);
        expect(row.pass_at_k, row.task_id).to.equal(want.pass_at_k);
        expect(row.best_of_k, row.task_id).to.deep.equal(want.best_of_k);
      });
    } finally {
      await new Promise((r) => srv.close(r));
    }
  });

  it("a bad --model is a usage error in one line", async () => {
    const r = await driver(["eval", "--tasks", "bundled:validation", "--model", "gpt:whatever", "--out", join(dir, "bad")]);
    expect(r.code).to.equal(2);
    expect(r.stderr.trim().split("\n")).to.have.length(1);
    expect(r.stderr).to.match(/replay:gold, native:CHECKPOINT_DIR or openai:URL:NAME/);
  });
});
