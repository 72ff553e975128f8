// `node driver.js eval` end to end: actors on an embedded cluster, real sandboxes, result files.
import { expect } from "chai";
import { createHash } from "node:crypto";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NativeWorker } from "../../gpu/index.js";
import { goldReplies, loadTasks, renderToolCall, validateTask, type Task } from "../../envs/index.js";
import { runEval } from "../../recipes/index.js";
import { ByteTokenizer, IM_START, Qwen3Tokenizer, ScriptedPolicy, serveOpenAI, writeTokenizerFiles } from "../../llm/index.js";
import { dockerEnv } from "../envs/helpers.js";
import { driver, jsonl, ROOT, until } from "../helpers.js";


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
    expect(r.stdout).to.match(/8 tasks, 16 trajectories \(0 errors\): pass@1 100\.0%, pass@k 100\.0%; selected: regression 100\.0%, oracle 100\.0%, random 100\.0%/);
    const rows = jsonl(join(out, "results.jsonl"));
    expect(rows).to.have.length(8);
    for (const row of rows) expect(row).to.deep.include({ k: 2, rewards: [1, 1], reward: 1, pass_at_1: 1, pass_at_k: 1 });
    const trajs = jsonl(join(out, "trajectories.jsonl"));
    expect(trajs).to.have.length(16);
    expect(new Set(trajs.map((t) => `${t.taskId}#${t.rolloutIndex}`)).size).to.equal(16);
    for (const t of trajs) expect(t.tokens.length).to.equal(t.mask.length);
    expect(readFileSync(join(out, "traces.jsonl"), "utf8").length).to.be.above(0);
    // Every trajectory keeps its final patch: the gold patch's files, changed.
    const { tasks } = await loadTasks("bundled:validation");
    for (const t of trajs) {
      const files = [...(tasks.find((x) => x.id === t.taskId)!.goldPatch!.matchAll(/^\+\+\+ b\/(\S+)/gm))].map((m) => m[1]);
      for (const f of files) expect(t.patch, `${t.taskId}: ${f}`).to.include(`+++ b/${f}`);
    }
    // SWE-bench's predictions: one line per instance, its three fields exactly, the submitted
    // (best-of-k) candidate's patch.
    const preds = jsonl(join(out, "predictions.jsonl"));
    expect(preds.map((p) => p.instance_id).sort()).to.deep.equal(tasks.map((t) => t.id).sort());
    for (const p of preds) {
      expect(Object.keys(p).sort()).to.deep.equal(["instance_id", "model_name_or_path", "model_patch"]);
      expect(p.model_name_or_path).to.equal("replay:gold");
      const best = rows.find((r) => r.task_id === p.instance_id).best_of_k.index;
      expect(p.model_patch).to.equal(trajs.find((t) => t.taskId === p.instance_id && t.rolloutIndex === best).patch);
    }
    // The harness's run report (schema_version 2) and each row's per-instance report.
    const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8"));
    expect(Object.keys(report).sort()).to.deep.equal([
      "completed_ids", "completed_instances", "empty_patch_ids", "empty_patch_instances", "error_ids", "error_instances", "incomplete_ids",
      "resolved_ids", "resolved_instances", "schema_version", "submitted_ids", "submitted_instances", "total_instances", "unresolved_ids", "unresolved_instances",
    ]);
    expect(report).to.deep.include({ schema_version: 2, total_instances: 8, submitted_instances: 8, completed_instances: 8, resolved_instances: 8, unresolved_instances: 0, empty_patch_instances: 0, error_instances: 0 });
    expect(report.resolved_ids).to.deep.equal(tasks.map((t) => t.id).sort());
    for (const row of rows) {
      const task = tasks.find((t) => t.id === row.task_id)!;
      expect(row.submitted).to.deep.equal({
        patch_is_None: false, patch_exists: true, patch_successfully_applied: true, resolved: true,
        tests_status: {
          FAIL_TO_PASS: { success: task.failToPass, failure: [] }, PASS_TO_PASS: { success: task.passToPass, failure: [] },
          FAIL_TO_FAIL: { success: [], failure: [] }, PASS_TO_FAIL: { success: [], failure: [] },
        },
      });
    }
  });

  it("kill -9 in the middle of an eval, then --resume DIR: finished tasks kept as they were, the rest run, every file whole", async () => {
    const out = join(dir, "resume");
    const child = spawn(process.execPath, ["driver.js", "eval", "--tasks", "bundled:validation", "--model", "replay:gold", "--k", "1", "--parallel", "1", "--out", out], { cwd: ROOT, stdio: "ignore" });
    const rowsFile = join(out, "results.jsonl");
    await until("three finished tasks", () => existsSync(rowsFile) && readFileSync(rowsFile, "utf8").split("\n").filter(Boolean).length >= 3, 120_000);
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const before = jsonl(rowsFile);
    expect(before.length).to.be.within(3, 7);
    const r = await driver(["eval", "--resume", out]);
    expect(r.code, r.stderr).to.equal(0);
    const after = jsonl(rowsFile);
    expect(after.slice(0, before.length)).to.deep.equal(before);
    expect(after.map((x) => x.task_id).sort()).to.deep.equal((await loadTasks("bundled:validation")).tasks.map((t) => t.id).sort());
    expect(after.every((x) => x.reward === 1)).to.equal(true);
    // One trajectory and one prediction per task: none of the killed run's unfinished ones.
    expect(jsonl(join(out, "trajectories.jsonl")).map((t) => t.taskId).sort()).to.deep.equal(after.map((x) => x.task_id).sort());
    expect(jsonl(join(out, "predictions.jsonl"))).to.have.length(8);
    expect(JSON.parse(readFileSync(join(out, "report.json"), "utf8")).resolved_instances).to.equal(8);
  });

  it("a test command that cannot start is an error with its reason, never a quiet 0 (eval, its report, validate-tasks)", async () => {
    const { tasks } = await loadTasks("bundled:validation");
    const broken = { ...tasks[0], testCommand: "no-such-test-runner -q" };
    const s = await runEval({ tasks: [broken, tasks[1]], model: "replay:gold", k: 1, parallel: 2, out: join(dir, "not-run"), progress: () => undefined });
    expect(s.errors).to.equal(1);
    const [bad, good] = s.rows;
    expect(bad).to.deep.include({ errors: 1, rewards: [null], submitted: null });
    expect(bad.error).to.match(/the test command was not found \(exit 127/);
    expect(good).to.deep.include({ errors: 0, rewards: [1] });
    // Its patch was made and submitted, its scoring failed: an error instance for the harness.
    const report = JSON.parse(readFileSync(join(dir, "not-run", "report.json"), "utf8"));
    expect(report).to.deep.include({ error_ids: [broken.id], resolved_ids: [tasks[1].id], error_instances: 1 });
    const v = await validateTask((await dockerEnv()).backend, broken);
    expect(v.ok).to.equal(false);
    expect(v.detail).to.match(/the tests did not run: the test command was not found/);
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

  it("openai:URL/v1:ORG/NAME against a local OpenAI-compatible server (a random model with Qwen3's vocabulary, served under a Hugging Face-style id)", async () => {
    const w = await NativeWorker.start();
    await w.init({ vocab_size: 151_669, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 16, max_position_embeddings: 8192, tie_word_embeddings: true }, { seed: 5 });
    const srv = await serveOpenAI(w, { model: "org/tiny" });
    try {
      const out = join(dir, "openai");
      const r = await driver(["eval", "--tasks", "bundled:validation", "--model", `openai:${srv.url}/v1:org/tiny`, "--k", "1", "--parallel", "2", "--max-steps", "2", "--max-response-tokens", "200", "--out", out]);
      expect(r.code, r.stderr).to.equal(0);
      const trajs = jsonl(join(out, "trajectories.jsonl"));
      expect(trajs).to.have.length(8);
      for (const t of trajs) {
        expect(t.termination).to.be.oneOf(["context", "max_steps"]);
        expect(t.policy).to.equal("openai:org/tiny");
      }
    } finally {
      await srv.close();
      await w.close();
    }
  });

  it("a mixed policy over k=3, a scripted verifier and the hidden tests as reproduction: pass@1, pass@k and every selector's choice as computed by hand, indices kept; a failing verifier costs its rules one task", async () => {
    // An OpenAI-compatible server (/v1/completions, token ids) that plays a known plan: for
    // each task, its n-th conversation gets the gold patch, a no-op (finish at once: an empty
    // patch, every regression test still passing) or a break (the package deleted: reward 0,
    // every test failing). The same server is the verifier (completions with echo): it gives a
    // deletion P(YES) 0.9 and any other patch 0.6 — fooled by a bold patch, as verifiers are —
    // and answers HTTP 400 for the last task.
    const { tasks } = await loadTasks("bundled:validation");
    const finish = renderToolCall({ name: "finish", params: { command: "submit" } });
    const plays: Record<string, (t: Task) => string[]> = {
      gold: (t) => goldReplies(t),
      noop: () => [finish],
      break: (t) => [renderToolCall({ name: "execute_bash", params: { cmd: `rm -rf ${t.workdir}/${t.id.split("-")[0]}` } }), finish],
    };
    const PLANS = [["gold", "gold", "gold"], ["noop", "gold", "break"], ["break", "gold", "gold"], ["break", "break", "noop"]];
    // Regression: the most regression passes among non-empty patches (the no-op's empty patch
    // passes them all, and is not eligible). Verifier: the highest P(YES), a break. Hybrid: the
    // verifier's top half (2 of 3, 1 of 2), then regression passes: plan 2's gold beats its break.
    // Repro (the hidden FAIL_TO_PASS tests, which fail on the base state): gold patches pass it.
    const expected = [
      { rewards: [1, 1, 1], pass_at_1: 1, pass_at_k: 1, selected: { oracle: [0, 1], regression: [0, 1], verifier: [0, 1], hybrid: [0, 1], repro: [0, 1] } },
      { rewards: [0, 1, 0], pass_at_1: 1 / 3, pass_at_k: 1, selected: { oracle: [1, 1], regression: [1, 1], verifier: [2, 0], hybrid: [2, 0], repro: [1, 1] } },
      { rewards: [0, 1, 1], pass_at_1: 2 / 3, pass_at_k: 1, selected: { oracle: [1, 1], regression: [1, 1], verifier: [0, 0], hybrid: [1, 1], repro: [1, 1] } },
      { rewards: [0, 0, 0], pass_at_1: 0, pass_at_k: 0, selected: { oracle: [0, 0], regression: [0, 0], verifier: [0, 0], hybrid: [0, 0], repro: [0, 0] } },
    ];
    const tok = new Qwen3Tokenizer();
    const conversations = new Map<string, number>();
    let verifications = 0;
    const srv = createServer((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", async () => {
        const b = JSON.parse(body);
        const text = tok.decode(b.prompt);
        const ti = tasks.findIndex((t) => text.includes(t.problemStatement.slice(0, 60)));
        const task = tasks[ti];
        res.setHeader("content-type", "application/json");
        if (b.echo) {
          verifications++;
          if (ti === tasks.length - 1) return void ((res.statusCode = 400), res.end(JSON.stringify({ error: { message: "verifier down for this one" } })));
          const patch = text.split("<final_patch>")[1].split("</final_patch>")[0];
          const p = /deleted file mode/.test(patch) ? 0.9 : 0.6;
          // One log-prob per prompt token (null for the first), the answer's on its last token.
          const lps: (number | null)[] = b.prompt.map((_: number, i: number) => (i === 0 ? null : 0));
          lps[lps.length - 1] = Math.log(text.endsWith("YES") ? p : 1 - p);
          return void res.end(JSON.stringify({ choices: [{ finish_reason: "length", logprobs: { tokens: [...b.prompt, 0].map((t: number) => `token_id:${t}`), token_logprobs: [...lps, -1] } }] }));
        }
        // --parallel 1: a task's conversations come one after the other; turn 0 opens the next.
        const turn = text.split(`${IM_START}assistant`).length - 2;
        if (turn === 0) conversations.set(task.id, (conversations.get(task.id) ?? -1) + 1);
        const play = PLANS[ti % PLANS.length][conversations.get(task.id)!];
        const g = await new ScriptedPolicy(tok, plays[play](task)).generate(b.prompt, { maxTokens: b.max_tokens });
        res.end(JSON.stringify({ choices: [{ finish_reason: g.finish, logprobs: { tokens: g.tokens.map((t) => `token_id:${t}`), token_logprobs: g.logprobs } }] }));
      });
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    try {
      const out = join(dir, "mixed");
      const url = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
      const r = await driver(["eval", "--tasks", "bundled:validation", "--model", `openai:${url}:plan`, "--k", "3", "--parallel", "1", "--out", out,
        "--verifier", `openai:${url}:judge`, "--repro", "replay:gold", "--repro-tests", "1"]);
      expect(r.code, r.stderr).to.equal(0);
      // Over the 8 tasks (each plan twice): pass@1 (1 + 1/3 + 2/3 + 0) / 4, pass@k 3/4,
      // hybrid 2/4, verifier 1/4, repro, regression and oracle 3/4.
      expect(r.stdout, r.stdout).to.match(/8 tasks, 24 trajectories \(0 errors\): pass@1 50\.0%, pass@k 75\.0%; selected: hybrid 50\.0%, verifier 25\.0%, repro 75\.0%, regression 75\.0%, oracle 75\.0%, random \d+\.\d%/);
      console.log(r.stdout.split("\n").filter((l) => l && !l.startsWith("results in")).map((l) => `      ${l}`).join("\n"));
      const rows = jsonl(join(out, "results.jsonl"));
      expect(rows.map((x) => x.task_id)).to.deep.equal(tasks.map((t) => t.id));
      // Every non-empty candidate of the first 7 tasks was verified, each answer scored once.
      const nonEmpty = rows.slice(0, 7).reduce((a, row) => a + row.candidates.filter((c: { empty: boolean }) => !c.empty).length, 0);
      expect(verifications).to.be.at.least(2 * nonEmpty);
      const trajs = jsonl(join(out, "trajectories.jsonl"));
      rows.forEach((row, i) => {
        const want = expected[i % expected.length];
        expect(row.rewards, row.task_id).to.deep.equal(want.rewards);
        expect(row.pass_at_1, row.task_id).to.be.closeTo(want.pass_at_1, 1e-12);
        expect(row.pass_at_k, row.task_id).to.equal(want.pass_at_k);
        // Each candidate row is its own trajectory's: the index, the patch's hash, the reward.
        row.candidates.forEach((c: Record<string, any>) => {
          const t = trajs.find((x) => x.taskId === row.task_id && x.rolloutIndex === c.index);
          expect(c.patch_sha256, `${row.task_id} #${c.index}`).to.equal(createHash("sha256").update(t.patch).digest("hex"));
          expect(c.reward).to.equal(t.reward);
          expect(c.empty).to.equal(PLANS[i % PLANS.length][c.index] === "noop");
          if (!c.empty && i < 7) expect(c.verifier).to.be.closeTo(PLANS[i % PLANS.length][c.index] === "break" ? 0.9 : 0.6, 1e-6);
          expect(c.repro).to.equal(c.empty ? undefined : PLANS[i % PLANS.length][c.index] === "gold" ? 1 : 0);
          expect(c.chosen_by).to.deep.equal(Object.keys(row.selected).filter((rule) => row.selected[rule]?.index === c.index));
        });
        expect(row.repro_tests).to.deep.equal({ written: 1, reproducing: 1 });
        const last = i === rows.length - 1;
        for (const [rule, [index, reward]] of Object.entries(want.selected)) {
          const verifierRule = rule === "verifier" || rule === "hybrid";
          expect(row.selected[rule], `${row.task_id} ${rule}`).to.deep.equal(last && verifierRule ? null : { index, reward });
        }
        const random = row.selected.random;
        expect(row.rewards[random.index]).to.equal(random.reward);
        expect(row.candidates[random.index].empty && row.candidates.some((c: { empty: boolean }) => !c.empty)).to.equal(false);
        // The verifier failed on the last task: an error on its row, and the submission falls to
        // the next rule listed that chose (repro).
        expect(row.submitted_by).to.equal(last ? "repro" : "hybrid");
        if (last) expect(row.verifier_error).to.match(/verifier openai:.*judge: .*HTTP 400.*verifier down/);
        else expect(row).to.not.have.property("verifier_error");
      });
      // Submitted: hybrid's candidate (repro's for the last task). Plans 0 and 2 submit a
      // gold patch (resolved); plans 1 and 3 a break.
      const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8"));
      const byPlan = (ps: number[]) => tasks.filter((_, i) => ps.includes(i % PLANS.length)).map((t) => t.id).sort();
      expect(report).to.deep.include({ resolved_ids: byPlan([0, 2]), unresolved_ids: byPlan([1, 3]), empty_patch_ids: [], error_ids: [] });
    } finally {
      await new Promise((r) => srv.close(r));
    }
  });

  it("score: any agent's predictions file scored as the harness does: resolved, unresolved, empty, unappliable, incomplete, unknown", async () => {
    const { tasks } = await loadTasks("bundled:validation");
    const t = tasks.slice(0, 4);
    const preds = [
      { instance_id: t[0].id, model_name_or_path: "agent-x", model_patch: t[0].goldPatch },
      { instance_id: t[1].id, model_name_or_path: "agent-x", model_patch: "" },
      { instance_id: t[2].id, model_name_or_path: "agent-x", model_patch: "diff --git a/nope.py b/nope.py\n--- a/nope.py\n+++ b/nope.py\n@@ -1 +1 @@\n-x\n+y\n" },
      // Applies, changes nothing the tests look at: the FAIL_TO_PASS tests still fail.
      { instance_id: t[3].id, model_name_or_path: "agent-x", model_patch: "diff --git a/NOTES b/NOTES\nnew file mode 100644\n--- /dev/null\n+++ b/NOTES\n@@ -0,0 +1 @@\n+looked at it\n" },
      { instance_id: "not-a-task-1", model_name_or_path: "agent-x", model_patch: "x" },
    ];
    const file = join(dir, "preds.jsonl");
    writeFileSync(file, preds.map((p) => JSON.stringify(p)).join("\n") + "\n");
    const out = join(dir, "score");
    const r = await driver(["score", "--tasks", "bundled:validation", "--predictions", file, "--out", out]);
    expect(r.code, r.stderr).to.equal(1);  // one instance could not be scored
    expect(r.stdout).to.match(new RegExp(`${t[2].id}  the patch does not apply`));
    expect(r.stderr).to.match(/skipped a prediction for not-a-task-1/);
    const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8"));
    expect(report).to.deep.include({
      total_instances: 8, submitted_instances: 5, completed_instances: 2, resolved_instances: 1, unresolved_instances: 1, empty_patch_instances: 1, error_instances: 1,
      resolved_ids: [t[0].id], unresolved_ids: [t[3].id], empty_patch_ids: [t[1].id], error_ids: [t[2].id],
      incomplete_ids: tasks.slice(4).map((x) => x.id).sort(), submitted_ids: preds.map((p) => p.instance_id).sort(),
    });
    const inst = JSON.parse(readFileSync(join(out, "instance_reports.json"), "utf8"));
    expect(Object.keys(inst).sort()).to.deep.equal([t[0].id, t[3].id].sort());
    expect(inst[t[0].id].tests_status.FAIL_TO_PASS).to.deep.equal({ success: t[0].failToPass, failure: [] });
    expect(inst[t[3].id]).to.deep.include({ resolved: false, patch_exists: true });
    expect(inst[t[3].id].tests_status.FAIL_TO_PASS).to.deep.equal({ success: [], failure: t[3].failToPass });
    expect(inst[t[3].id].tests_status.PASS_TO_PASS).to.deep.equal({ success: t[3].passToPass, failure: [] });
    // A malformed file is one line naming the file, the line and the field.
    writeFileSync(join(dir, "bad.jsonl"), `${JSON.stringify(preds[0])}\n{"model_patch": "x"}\n`);
    const bad = await driver(["score", "--tasks", "bundled:validation", "--predictions", join(dir, "bad.jsonl")]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr.trim().split("\n")).to.have.length(1);
    expect(bad.stderr).to.match(/bad\.jsonl:2: instance_id/);
  });

  it("openai with --tokenizer DIR: a model that is not Qwen3 (bytes, from a folder's tokenizer.json) gets its own ids", async () => {
    const tokDir = join(dir, "byte-tokenizer");
    writeTokenizerFiles("bytes", tokDir);
    const w = await NativeWorker.start();
    await w.init({ vocab_size: 261, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 16, max_position_embeddings: 8192, tie_word_embeddings: true }, { seed: 5 });
    const srv = await serveOpenAI(w, { model: "bytes" });
    try {
      const out = join(dir, "openai-bytes");
      const r = await driver(["eval", "--tasks", "bundled:validation", "--model", `openai:${srv.url}:bytes`, "--tokenizer", tokDir, "--k", "1", "--parallel", "2", "--max-steps", "2", "--max-response-tokens", "200", "--out", out]);
      expect(r.code, r.stderr).to.equal(0);
      const trajs = jsonl(join(out, "trajectories.jsonl"));
      expect(trajs).to.have.length(8);
      const bytes = new ByteTokenizer();
      for (const t of trajs) {
        expect(t.termination).to.be.oneOf(["context", "max_steps"]);
        expect(Math.max(...t.tokens)).to.be.below(bytes.vocabSize);
        expect(bytes.decode(t.tokens.slice(0, t.promptLength))).to.match(/^<\|im_start\|>system\n/);
      }
    } finally {
      await srv.close();
      await w.close();
    }
    const bad = await driver(["eval", "--tasks", "bundled:validation", "--model", "replay:gold", "--tokenizer", join(dir, "nowhere"), "--out", join(dir, "bad-tok")]);
    expect([bad.code, bad.stderr.trim()]).to.deep.equal([2, `troupe: eval: --tokenizer ${join(dir, "nowhere")}: not qwen3, bytes, or a model folder holding a tokenizer.json`]);
  });

  it("a bad --model is a usage error in one line", async () => {
    const r = await driver(["eval", "--tasks", "bundled:validation", "--model", "gpt:whatever", "--out", join(dir, "bad")]);
    expect(r.code).to.equal(2);
    expect(r.stderr.trim().split("\n")).to.have.length(1);
    expect(r.stderr).to.match(/replay:gold, native:CHECKPOINT_DIR, openai:URL\[,URL…\]:NAME .* or openai-chat:URL:NAME/);
  });
});
