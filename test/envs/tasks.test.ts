import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadJsonl, loadTaskFolder, loadTasks, reverseDiff, TaskFormatError } from "../../envs/index.js";
import { parquetWriteBuffer } from "hyparquet-writer";
import { ROOT } from "../helpers.js";
import { dockerEnv } from "./helpers.js";

const swe = {
  instance_id: "astropy__astropy-12907", repo: "astropy/astropy", version: "4.3", base_commit: "d16bfe05a7", patch: "diff --git a/x b/x\n",
  test_patch: "diff --git a/t/test_a.py b/t/test_a.py\n--- a/t/test_a.py\n+++ b/t/test_a.py\n", problem_statement: "it breaks",
  FAIL_TO_PASS: JSON.stringify(["t/test_a.py::test_one"]), PASS_TO_PASS: "[]",
};
const r2e = { docker_image: "namanjain12/orange3_final:abc", problem_statement: "bug", expected_output_json: JSON.stringify({ "test_a": "PASSED", "test_b": "FAILED" }) };

describe("task loaders", () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), "troupe-tasks-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("loads SWE-bench and R2E-Gym rows; a bad row is reported by line and field, the others load", () => {
    const file = join(dir, "rows.jsonl");
    writeFileSync(file, [JSON.stringify(swe), "{not json", JSON.stringify({ ...swe, FAIL_TO_PASS: 7 }), "", JSON.stringify(r2e), JSON.stringify({ ...r2e, problem_statement: "" })].join("\n"));
    const { tasks, errors } = loadJsonl(file);
    expect(tasks.map((t) => t.id)).to.deep.equal(["astropy__astropy-12907", "namanjain12/orange3_final:abc"]);
    expect(tasks[0]).to.include({ image: "swebench/sweb.eval.x86_64.astropy_1776_astropy-12907:latest", testFormat: "pytest-v2" });
    expect(tasks[0].testCommand).to.include("pytest -rA t/test_a.py");
    expect(tasks[0].failToPass).to.deep.equal(["t/test_a.py::test_one"]);
    expect(tasks[1].passToPass).to.deep.equal(["test_a"]);
    expect(errors.map((e) => e.message)).to.deep.equal([
      `${file}:2: not JSON: ${errors[0].message.split("not JSON: ")[1]}`,
      `${file}:3: field 'FAIL_TO_PASS': ${errors[1].message.split("FAIL_TO_PASS': ")[1]}`,
      `${file}:6: field 'problem_statement': ${errors[2].message.split("problem_statement': ")[1]}`,
    ]);
    expect(errors.every((e) => e instanceof TaskFormatError)).to.equal(true);
  });

  it("reads the same rows from Parquet, as the hub stores datasets (snappy, 64-bit integers); a bad row is named by its number", async () => {
    const rows = [swe, { ...swe, instance_id: "astropy__astropy-13033", FAIL_TO_PASS: "not a list" }];
    const col = (name: keyof typeof swe) => ({ name, data: rows.map((r) => r[name]), type: "STRING" as const });
    const file = join(dir, "rows.parquet");
    writeFileSync(file, Buffer.from(parquetWriteBuffer({ columnData: [
      col("instance_id"), col("repo"), col("base_commit"), col("patch"), col("test_patch"), col("problem_statement"), col("FAIL_TO_PASS"), col("PASS_TO_PASS"),
      { name: "version", data: [BigInt(3), BigInt(4)], type: "INT64" },
    ] })));
    const { tasks, errors } = await loadTasks(file);
    expect(tasks.map((t) => t.id)).to.deep.equal(["astropy__astropy-12907"]);
    expect(tasks[0].failToPass).to.deep.equal(["t/test_a.py::test_one"]);
    expect(tasks[0].testPatch).to.equal(swe.test_patch);
    expect(errors.map((e) => e.message)).to.deep.equal([`${file}: row 2: field 'FAIL_TO_PASS': ${errors[0].message.split("FAIL_TO_PASS': ")[1]}`]);
    // A file named .parquet that is not one: one clear error naming it.
    writeFileSync(join(dir, "fake.parquet"), "instance_id,repo\n");
    const bad = await loadTasks(join(dir, "fake.parquet")).catch((e) => e);
    expect(bad).to.be.instanceOf(TaskFormatError);
    expect(bad.message).to.match(/fake\.parquet: cannot read as Parquet/);
  });

  it("a row without a test command gets its repository's: by version, as the harness picks it; none known is one clear error", () => {
    const file = join(dir, "specs.jsonl");
    const django = { ...swe, instance_id: "django__django-1", repo: "django/django", version: "3.0",
      test_patch: "diff --git a/tests/auth_tests/test_views.py b/tests/auth_tests/test_views.py\n--- a/tests/auth_tests/test_views.py\n+++ b/tests/auth_tests/test_views.py\n" +
        "diff --git a/tests/auth_tests/fixtures/data.json b/tests/auth_tests/fixtures/data.json\n" };
    writeFileSync(file, [
      django,
      { ...django, instance_id: "django__django-2", version: "1.9" },
      { ...swe, instance_id: "own-1", repo: "me/mine", test_command: "make check" },
      { ...swe, instance_id: "bad-1", repo: "me/mine" },
      { ...swe, instance_id: "bad-2", version: "9.9" },
      { ...swe, instance_id: "bad-3", version: undefined },
    ].map((r) => JSON.stringify(r)).join("\n"));
    const { tasks, errors } = loadJsonl(file);
    // Django: dotted labels under tests/, data files left out; its LANG exports (3.0); 1.9 runs without --parallel.
    expect(tasks[0].testCommand).to.include("./tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1 auth_tests.test_views'");
    expect(tasks[0].testCommand).not.to.include("data");
    expect(tasks[0].testCommand).to.include("export LC_ALL=en_US.UTF-8");
    expect(tasks[1].testCommand).to.include("./tests/runtests.py --verbosity 2 auth_tests.test_views");
    expect(tasks[0]).to.include({ testFormat: "django" });
    expect(tasks[2]).to.include({ testCommand: "make check", testFormat: "pytest" });
    expect(errors.map((e) => e.message)).to.deep.equal([
      `${file}:4: field 'repo': no test specification for repository me/mine (SWE-bench's are ${errors[0].message.split("SWE-bench's are ")[1]}`,
      `${file}:5: field 'repo': no test specification for astropy/astropy version 9.9 (known: ${errors[1].message.split("known: ")[1]}`,
      `${file}:6: field 'version': missing: SWE-bench's test command is chosen by repo and version (or give the row a test_command)`,
    ]);
  });

  it("reverses a git diff (SWE-smith's fix is its bug patch undone): edits, new, deleted and renamed files, modes, no final newline", () => {
    const repo = join(dir, "rev");
    mkdirSync(repo);
    const git = (...args: string[]) => {
      const r = spawnSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], { cwd: repo, encoding: "utf8" });
      if (r.status !== 0) throw new Error(r.stderr);
      return r.stdout;
    };
    writeFileSync(join(repo, "a.py"), "one\ntwo\nthree\n");
    writeFileSync(join(repo, "gone.py"), "bye\n");
    writeFileSync(join(repo, "old.py"), "moved\nand kept\n");
    writeFileSync(join(repo, "run.sh"), "echo hi");
    git("init", "-q");
    git("add", "-A");
    git("commit", "-qm", "base");
    writeFileSync(join(repo, "a.py"), "one\n-- two\nthree\nfour");
    writeFileSync(join(repo, "new.py"), "hello\n");
    rmSync(join(repo, "gone.py"));
    git("mv", "old.py", "renamed.py");
    spawnSync("chmod", ["+x", join(repo, "run.sh")]);
    git("add", "-A");
    const forward = git("diff", "--cached", "-M");
    expect(forward).to.include("rename from old.py");
    git("commit", "-qm", "changed");
    const back = reverseDiff(forward);
    expect(reverseDiff(back)).to.equal(forward);
    writeFileSync(join(dir, "back.patch"), back);
    git("apply", "--index", join(dir, "back.patch"));
    git("commit", "-qm", "undone");
    expect(git("diff", "HEAD~2", "HEAD")).to.equal("");
    expect(() => reverseDiff("diff --git a/x b/x\nGIT binary patch\n", "row 3: patch")).to.throw(TaskFormatError, /row 3: patch: a binary diff cannot be reversed/);
  });

  it("names SWE-bench images from a template", () => {
    const file = join(dir, "one.jsonl");
    writeFileSync(file, JSON.stringify(swe));
    expect(loadJsonl(file, { imageTemplate: "reg/{instance_id}" }).tasks[0].image).to.equal("reg/astropy__astropy-12907");
  });

  it("a task folder with a bad field says which file and field", () => {
    const t = join(dir, "bad-task");
    mkdirSync(join(t, "repo"), { recursive: true });
    writeFileSync(join(t, "task.json"), JSON.stringify({ id: "bad", FAIL_TO_PASS: [], PASS_TO_PASS: [], test_command: "true" }));
    expect(() => loadTaskFolder(t)).to.throw(TaskFormatError, /task.json: field 'FAIL_TO_PASS'/);
  });

  it("the bundled set: at least 24 tasks over at least 4 repositories, split into train and validation", async () => {
    const all = await loadTasks("bundled");
    expect(all.errors).to.deep.equal([]);
    const train = (await loadTasks("bundled:train")).tasks;
    const val = (await loadTasks("bundled:validation")).tasks;
    expect(train.length + val.length).to.equal(all.tasks.length);
    expect(all.tasks.length).to.be.at.least(24);
    expect(new Set(all.tasks.map((t) => t.folder?.repoDir)).size).to.be.at.least(4);
    expect(train.length).to.be.greaterThan(val.length);
    expect(val.length).to.be.greaterThan(0);
    expect(await loadTasks("bundled:test").catch((e) => e)).to.be.instanceOf(TaskFormatError);
  });

  it("validate-tasks: gold scores 1 and the base 0 for every bundled task", async function () {
    this.timeout(300_000);
    await dockerEnv();
    const r = spawnSync(process.execPath, ["driver.js", "validate-tasks", "--tasks", "bundled"], { cwd: ROOT, encoding: "utf8" });
    expect(r.status, r.stderr).to.equal(0);
    const n = (await loadTasks("bundled")).tasks.length;
    expect(r.stdout).to.include(`${n}/${n} tasks valid`);
  });

  it("validate-tasks exits non-zero when a task's gold patch does not fix it", async function () {
    this.timeout(300_000);
    await dockerEnv();
    const src = (await loadTasks("bundled")).tasks[0].folder!;
    const t = join(dir, "broken-task");
    mkdirSync(t, { recursive: true });
    const base = join(src.dir, "..", "repo");
    writeFileSync(join(t, "task.json"), JSON.stringify({ id: "broken-task", repo: base, base_patch: "base.patch", FAIL_TO_PASS: ["tests/test_issue.py::nope"], PASS_TO_PASS: [], test_command: "python3 -m pytest -rA -p no:cacheprovider tests" }));
    for (const f of ["base.patch", "gold.patch", "test.patch", "problem.md"]) writeFileSync(join(t, f), spawnSync("cat", [join(src.dir, f)]).stdout);
    const r = spawnSync(process.execPath, ["driver.js", "validate-tasks", "--tasks", t], { cwd: ROOT, encoding: "utf8" });
    expect(r.status).to.equal(1);
    expect(r.stdout).to.match(/broken-task\s+0\s+0\s+FAIL gold: tests\/test_issue.py::nope=MISSING/);
  });

  it("a bad --tasks spec is a usage error (exit 2) with one line", () => {
    const r = spawnSync(process.execPath, ["driver.js", "validate-tasks", "--tasks", "/no/such/file.jsonl"], { cwd: ROOT, encoding: "utf8" });
    expect(r.status).to.equal(2);
    expect(r.stderr.trim().split("\n")).to.have.length(1);
    expect(r.stderr).to.match(/\/no\/such\/file.jsonl: no such file or folder/);
  });
});
