import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyPatch, computeReward, loadTasks, parsePytest, parseUnittest, SWEEnv, type DockerBackend, type Task } from "../../envs/index.js";
import { BASE_IMAGE, dockerEnv, task } from "./helpers.js";

describe("test-based reward", function () {
  this.timeout(180_000);
  let backend: DockerBackend;
  let t: Task;
  before(async () => {
    const e = await dockerEnv();
    backend = e.backend;
    t = task(e.tasks, "textkit-003");
  });

  const scoreWith = async (patch: string | undefined) => {
    const s = await backend.create({ image: t.image, workdir: t.workdir });
    try {
      if (patch !== undefined) expect(await applyPatch(s, patch)).to.equal(undefined);
      return await computeReward(s, t);
    } finally {
      await s.close();
    }
  };

  it("gold patch scores 1, with every selected test passing", async () => {
    const r = await scoreWith(t.goldPatch);
    expect(r.reward).to.equal(1);
    for (const id of [...t.failToPass, ...t.passToPass]) expect(r.statuses[id], id).to.equal("PASSED");
  });

  it("an empty patch scores 0 and names the failing FAIL_TO_PASS tests", async () => {
    const r = await scoreWith(undefined);
    expect(r.reward).to.equal(0);
    expect(Object.keys(r.failing)).to.have.members(t.failToPass);
    expect(r.outputTail).to.include("short test summary info");
  });

  it("a wrong patch that breaks other tests scores 0", async () => {
    const wrong = t.goldPatch!.replace('+        key, value = pair.split("=", 1)', '+        key, value = pair.rsplit("=", 1)');
    const r = await scoreWith(wrong);
    expect(r.reward).to.equal(0);
  });

  it("the agent cannot pass by editing the hidden tests: they are put back first", async () => {
    const env = new SWEEnv(backend);
    try {
      await env.reset(t);
      await env.step({ name: "file_editor", params: { command: "create", path: "tests/test_issue.py", file_text: "def test_value_with_equals():\n    pass\n" } });
      const r = await env.reward();
      expect(r.reward).to.equal(0);
      expect(r.statuses["tests/test_issue.py::test_base64_padding_kept"]).to.equal("FAILED");
    } finally {
      await env.close();
    }
  });

  it("a test run past its time limit scores 0", async () => {
    const slow: Task = { ...t, testCommand: "sleep 30" };
    const s = await backend.create({ image: t.image });
    try {
      const r = await computeReward(s, slow, { timeoutSec: 1 });
      expect(r).to.include({ reward: 0, timedOut: true });
    } finally {
      await s.close();
    }
  });

  it("R2E-Gym rows: every expected status and the test count must match exactly; a log without a summary is a scoring error", async () => {
    // R2E-Gym's images carry their own tests and runner; here the "runner" prints a recorded
    // log, so the row's scoring is what is tested.
    const dir = mkdtempSync(join(tmpdir(), "troupe-r2e-"));
    const expected = { "TestTable.test_basic": "PASSED", "TestTable.test_empty": "PASSED", "test_module_level": "PASSED", "TestTable.test_wide": "FAILED" };
    const row = { docker_image: BASE_IMAGE, problem_statement: "wide tables", instance_id: "r2e-fixture", test_command: "cat /tmp/log.txt", expected_output_json: JSON.stringify(expected) };
    writeFileSync(join(dir, "rows.jsonl"), `${JSON.stringify(row)}\n`);
    const { tasks: [r2e], errors } = (await loadTasks(join(dir, "rows.jsonl")));
    rmSync(dir, { recursive: true, force: true });
    expect(errors).to.deep.equal([]);
    expect(r2e.expectedStatuses).to.deep.equal(expected);
    const log = (lines: string[]) => [
      "============================= test session starts ==============================", "collected 4 items", "",
      "r2e_tests/test_1.py ..F.                                                 [100%]", "",
      "=========================== short test summary info ============================", ...lines,
      "========================= 1 failed, 3 passed in 0.12s ==========================", "",
    ].join("\n");
    const exact = [
      "PASSED r2e_tests/test_1.py::TestTable::test_basic", "PASSED r2e_tests/test_1.py::TestTable::test_empty",
      "\u001b[32mPASSED\u001b[0m r2e_tests/test_1.py::test_module_level",  // colour codes are dropped
      "FAILED r2e_tests/test_1.py::TestTable::test_wide - AssertionError: assert 3 == 4",
    ];
    const s = await backend.create({ image: BASE_IMAGE });
    try {
      const score = async (lines: string[]) => {
        await s.writeFile("/tmp/log.txt", log(lines));
        return computeReward(s, r2e);
      };
      expect((await score(exact)).reward).to.equal(1);
      // The test expected to fail passes: not the recorded behaviour.
      const fixed = await score(exact.map((l) => l.replace("FAILED r2e_tests/test_1.py::TestTable::test_wide - AssertionError: assert 3 == 4", "PASSED r2e_tests/test_1.py::TestTable::test_wide")));
      expect(fixed).to.deep.include({ reward: 0, failing: { "TestTable.test_wide": "PASSED" } });
      // One missing, one nobody expected.
      const missing = await score(exact.slice(1));
      expect(missing).to.deep.include({ reward: 0, failing: { "TestTable.test_basic": "MISSING" } });
      const extra = await score([...exact, "PASSED r2e_tests/test_1.py::test_new"]);
      expect(extra).to.deep.include({ reward: 0, failing: { test_new: "unexpected PASSED" } });
      // No summary at all: the tests did not run as R2E-Gym reads them.
      await s.writeFile("/tmp/log.txt", "ImportError: no module named pytest\n");
      const none = await computeReward(s, r2e);
      expect(none.scoringError).to.match(/printed no test result the parser recognises/);
    } finally {
      await s.close();
    }
  });

  it("parses real pytest -rA and unittest -v output", async () => {
    const s = await backend.create({ image: t.image });
    try {
      await s.writeFile("tests/test_mixed.py", [
        "import unittest, pytest",
        "class T(unittest.TestCase):",
        "    def test_ok(self): pass",
        "    def test_bad(self): self.assertEqual(1, 2)",
        "    def test_err(self): raise RuntimeError('x')",
        "    @unittest.skip('no')",
        "    def test_skip(self): pass",
        "    @unittest.expectedFailure",
        "    def test_xf(self): self.assertEqual(1, 2)",
        "",
      ].join("\n"));
      const py = await s.exec("python3 -m pytest -rA -p no:cacheprovider tests/test_mixed.py");
      expect(parsePytest(py.stdout)).to.deep.equal({
        "tests/test_mixed.py::T::test_ok": "PASSED",
        "tests/test_mixed.py::T::test_bad": "FAILED",
        "tests/test_mixed.py::T::test_err": "FAILED",
        "tests/test_mixed.py::T::test_xf": "XFAIL",
      }); // pytest lists a skip by file:line, not by test id: it cannot be told apart, and never passes
      const ut = await s.exec("python3 -m unittest -v tests.test_mixed");
      expect(parseUnittest(ut.stderr)).to.deep.equal({
        "tests.test_mixed.T.test_ok": "PASSED",
        "tests.test_mixed.T.test_bad": "FAILED",
        "tests.test_mixed.T.test_err": "ERROR",
        "tests.test_mixed.T.test_skip": "SKIPPED",
        "tests.test_mixed.T.test_xf": "XFAIL",
      });
    } finally {
      await s.close();
    }
  });
});
