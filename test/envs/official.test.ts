// SWE-bench rows scored as the official harness scores them, end to end through the CLI, on
// images in the official layout (test/fixtures/official.ts): a django-style, a sympy-style and
// a pytest project, each with the real repository's test specification.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { computeReward, rowToTask, SWEEnv, testSpec, type Task } from "../../envs/index.js";
import { FAMILIES, officialFixture, type OfficialFixture } from "../fixtures/official.js";
import { driver, jsonl } from "../helpers.js";
import { dockerEnv } from "./helpers.js";


describe("SWE-bench, SWE-rebench, SWE-smith, SWE-bench Pro and R2E-Gym rows on images in their layouts (django, sympy, pytest)", function () {
  this.timeout(300_000);
  let dir: string;
  let fx: OfficialFixture;
  let rowsFile: string;
  let tasks: Task[];
  before(async () => {
    const { backend } = await dockerEnv();
    fx = await officialFixture(backend.docker);
    dir = mkdtempSync(join(tmpdir(), "troupe-official-"));
    rowsFile = join(dir, "rows.jsonl");
    const rows = [...FAMILIES.map((f) => fx.rows[f]), fx.rebench, fx.smith, fx.pro, fx.r2e];
    writeFileSync(rowsFile, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
    cpSync(fx.proScripts, join(dir, "run_scripts"), { recursive: true });
    tasks = rows.map((r, i) => rowToTask(r, `row ${i + 1}`, { rowsDir: dir }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("each row runs its repository's own runner, in the testbed environment, on the test patch's files in the runner's form", () => {
    const [django, sympy, flask, rebench, smith, pro] = tasks;
    expect(django.testFormat).to.equal("django");
    expect(django.testCommand).to.include("source /opt/miniconda3/bin/activate && conda activate testbed");
    expect(django.testCommand).to.include("./tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1 utils_tests.test_text");
    expect(sympy.testFormat).to.equal("sympy");
    expect(sympy.testCommand).to.include("PYTHONWARNINGS=");
    expect(sympy.testCommand).to.include("bin/test -C --verbose sympy/core/tests/test_numbers.py");
    expect(flask.testFormat).to.equal("pytest");
    expect(flask.testCommand).to.include("pytest -rA tests/test_helpers.py");
    // The harness's install step is kept; an editable one is not repeated offline (see below).
    expect(django.install?.step).to.equal("python -m pip install -e .");
    // SWE-rebench: the row's own command and reader, SWE-bench's directives.
    expect(rebench.testCommand).to.include("pytest -rA tests/test_helpers.py");
    expect(rebench).to.include({ testFormat: "pytest", image: fx.rebench.docker_image });
    // SWE-smith: the bug is set up in each sandbox, the fix is its reverse, pytest verbose on the FAIL_TO_PASS files.
    expect(smith).to.include({ setupPatch: fx.smith.patch, testFormat: "pytest-verbose", testPatch: "" });
    expect(smith.testCommand).to.include("pytest --disable-warnings --color=no --tb=no --verbose tests/test_helpers.py");
    // SWE-bench Pro: /app, its scripts written at scoring time, the tests restored by the row's last set-up line.
    expect(pro).to.include({ workdir: "/app", testFormat: "swe-bench-pro", passRule: "passed-only", testPatch: "" });
    expect(Object.keys(pro.testFiles!)).to.deep.equal(["/workspace/run_script.sh", "/workspace/parser.py"]);
    expect(pro.testCommand).to.include("bash /workspace/run_script.sh tests/test_helpers.py > /workspace/stdout.log");
    expect(pro.problemStatement).to.match(/Requirements:\nget_debug_flag must compare case-insensitively\.\n\nNew interfaces introduced:\n/);
    // Without its run_scripts/ folder, a Pro row cannot be scored: one error naming the file.
    expect(() => rowToTask(fx.pro, "pro.jsonl:1", { rowsDir: "/nowhere" })).to.throw(/pro\.jsonl:1: field 'instance_id': .*\/nowhere\/run_scripts\/instance_pallets__flask-90003\/run_script\.sh/);
  });

  it("validate-tasks: every gold patch scores 1 and every untouched repository 0, with the lists right", async () => {
    const r = await driver(["validate-tasks", "--tasks", rowsFile, "--parallel", "3"]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    for (const t of tasks) expect(r.stdout).to.match(new RegExp(`${t.id}\\s+1\\s+0\\s+ok`));
    expect(r.stdout).to.match(/7\/7 tasks valid/);
  });

  it("score: gold resolves, each wrong fix does not, with the harness's per-test lists", async () => {
    const preds = [
      { instance_id: fx.rows.django.instance_id, model_name_or_path: "agent-x", model_patch: fx.rows.django.patch },
      { instance_id: fx.rows.sympy.instance_id, model_name_or_path: "agent-x", model_patch: fx.wrong.sympy },
      { instance_id: fx.rows.flask.instance_id, model_name_or_path: "agent-x", model_patch: fx.wrong.flask },
      { instance_id: fx.rebench.instance_id, model_name_or_path: "agent-x", model_patch: fx.wrong.flask },
      { instance_id: fx.smith.instance_id, model_name_or_path: "agent-x", model_patch: fx.wrong.flask },
      { instance_id: fx.pro.instance_id, model_name_or_path: "agent-x", model_patch: fx.wrong.flask },
      { instance_id: fx.r2e.instance_id, model_name_or_path: "agent-x", model_patch: fx.wrong.flask },
    ];
    const file = join(dir, "preds.jsonl");
    writeFileSync(file, preds.map((p) => JSON.stringify(p)).join("\n") + "\n");
    const out = join(dir, "score");
    const r = await driver(["score", "--tasks", rowsFile, "--predictions", file, "--out", out]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8"));
    expect(report).to.deep.include({
      total_instances: 7, completed_instances: 7, resolved_instances: 1, unresolved_instances: 6, error_instances: 0,
      resolved_ids: [fx.rows.django.instance_id], unresolved_ids: tasks.slice(1).map((t) => t.id).sort(),
    });
    const inst = JSON.parse(readFileSync(join(out, "instance_reports.json"), "utf8"));
    expect(inst[fx.rows.django.instance_id].tests_status.PASS_TO_PASS).to.deep.equal({ success: fx.rows.django.PASS_TO_PASS, failure: [] });
    // sympy: the wrong fix truncates a float root: the new test passes, an old one breaks.
    expect(inst[fx.rows.sympy.instance_id].tests_status).to.deep.include({
      FAIL_TO_PASS: { success: ["test_integer_nthroot_floor"], failure: [] },
      PASS_TO_PASS: { success: ["test_igcd", "test_integer_nthroot_negative"], failure: ["test_integer_nthroot_exact"] },
    });
    // flask, however the row is written: one of the two new parametrized cases still fails.
    for (const t of tasks.slice(2, 6)) {
      expect(inst[t.id].tests_status.FAIL_TO_PASS, t.id).to.deep.equal({
        success: ["tests/test_helpers.py::test_get_debug_flag[False-False]"], failure: ["tests/test_helpers.py::test_get_debug_flag[NO-False]"],
      });
    }
  });

  it("eval --model replay:gold: every row resolved, predictions and report in the harness's files", async () => {
    const out = join(dir, "eval");
    const r = await driver(["eval", "--tasks", rowsFile, "--model", "replay:gold", "--out", out]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/7 tasks, 7 trajectories \(0 errors\): pass@1 100\.0%/);
    const preds = jsonl(join(out, "predictions.jsonl"));
    expect(preds.map((p) => p.instance_id).sort()).to.deep.equal(tasks.map((t) => t.id).sort());
    // SWE-smith: the prediction is the fix alone (the bug is the base state), as SWE-smith's harness applies it.
    expect(preds.find((p) => p.instance_id === fx.smith.instance_id).model_patch).to.include('+    return value.lower() not in ("0", "false", "no")');
    const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8"));
    expect(report).to.deep.include({ resolved_instances: 7, error_instances: 0, schema_version: 2 });
  });

  it("R2E-Gym: the hidden tests and their runner are out of the agent's sandbox until the tests run, and never in its diff", async () => {
    const { backend } = await dockerEnv();
    const r2e = tasks[6];
    const env = new SWEEnv(backend, { stepTimeoutSec: 30 });
    try {
      await env.reset(r2e);
      const look = await env.step({ name: "execute_bash", params: { cmd: "ls /r2e_tests /testbed/run_tests.sh; find / -name test_1.py -not -path '/proc/*' 2>/dev/null | wc -l" } });
      expect(look.observation).to.match(/No such file or directory/);
      expect(look.observation).to.match(/\[STDOUT\]\n0\n/);  // no test_1.py anywhere
      await env.step({ name: "file_editor", params: { command: "str_replace", path: "/testbed/flask/helpers.py", old_str: "return value not in", new_str: "return value.lower() not in" } });
      const r = await env.reward();
      expect(r).to.deep.include({ reward: 1, failing: {} });
      expect(r.patch).to.match(/^diff --git a\/flask\/helpers\.py/);
      expect(r.patch).not.to.match(/r2e_tests|run_tests|\.venv/);
    } finally {
      await env.close();
    }
  });

  it("score --network NAME: the scoring sandboxes join that Docker network; without it they have none", async () => {
    const net = "troupe-test-score-net";
    spawnSync("docker", ["network", "create", "--internal", net], { stdio: "ignore" });
    try {
      const probe = {
        instance_id: "net-probe-1", repo: "me/probe", base_commit: fx.rows.flask.base_commit, patch: "", problem_statement: "probe",
        test_patch: "diff --git a/probe.txt b/probe.txt\nnew file mode 100644\n--- /dev/null\n+++ b/probe.txt\n@@ -0,0 +1 @@\n+probe\n",
        FAIL_TO_PASS: ["net::eth0"], PASS_TO_PASS: [], image_name: tasks[2].image,
        test_command: "if grep -q eth0 /proc/net/dev; then echo 'PASSED net::eth0'; else echo 'FAILED net::eth0'; exit 1; fi",
      };
      const rows = join(dir, "probe.jsonl");
      writeFileSync(rows, JSON.stringify(probe) + "\n");
      const preds = join(dir, "probe-preds.jsonl");
      writeFileSync(preds, JSON.stringify({ instance_id: "net-probe-1", model_name_or_path: "x", model_patch: "diff --git a/NOTES b/NOTES\nnew file mode 100644\n--- /dev/null\n+++ b/NOTES\n@@ -0,0 +1 @@\n+n\n" }) + "\n");
      const offline = await driver(["score", "--tasks", rows, "--predictions", preds, "--out", join(dir, "net-off")]);
      expect(offline.stdout, offline.stderr).to.match(/0 resolved, 1 unresolved/);
      const online = await driver(["score", "--tasks", rows, "--predictions", preds, "--out", join(dir, "net-on"), "--network", net]);
      expect(online.stdout, online.stderr).to.match(/1 resolved, 0 unresolved/);
    } finally {
      spawnSync("docker", ["network", "rm", net], { stdio: "ignore" });
    }
  });

  it("an image without the testbed environment is a scoring error that says so, never a quiet 0", async () => {
    const { backend, tasks: bundled } = await dockerEnv();
    const t = bundled[0];
    const spec = testSpec("pallets/flask", "2.0", "");
    if (typeof spec === "string") throw new Error(spec);
    const s = await backend.create({ image: t.image });
    try {
      const r = await computeReward(s, { ...t, testPatch: "", testCommand: spec.command, testFormat: spec.format });
      expect(r.reward).to.equal(0);
      expect(r.scoringError).to.match(/cannot activate the testbed environment/);
    } finally {
      await s.close();
    }
  });

  it("a log that claims success from a run that failed is an error: code under test can print summary lines", async () => {
    const { backend, tasks: bundled } = await dockerEnv();
    const t = bundled[0];
    const s = await backend.create({ image: t.image });
    try {
      const spoof = { ...t, testPatch: "", failToPass: ["tests/x.py::test_a"], passToPass: [], testFormat: "pytest" as const };
      const r = await computeReward(s, { ...spoof, testCommand: "echo 'PASSED tests/x.py::test_a'; exit 1" });
      expect(r.reward).to.equal(0);
      expect(r.error).to.match(/exited 1 but its log reports no failure/);
      expect(r.scoringError).to.equal(undefined);  // the code under test did it: a plain 0
      // The same log from a run that exited 0 is a pass.
      expect((await computeReward(s, { ...spoof, testCommand: "echo 'PASSED tests/x.py::test_a'" })).reward).to.equal(1);
    } finally {
      await s.close();
    }
  });

  it("a patch that touches packaging repeats the harness's install step; offline it cannot, and says so", async () => {
    const { backend } = await dockerEnv();
    const [django] = tasks;
    const s = await backend.create({ image: django.image });
    try {
      await s.writeFile("setup.py", "from setuptools import setup\nsetup(name='django')\n");
      const r = await computeReward(s, django);
      expect(r.reward).to.equal(0);
      expect(r.scoringError).to.match(/the install step `python -m pip install -e \.` failed .*cannot run offline \(score and validate-tasks take --network NAME\)/);
    } finally {
      await s.close();
    }
  });
});
