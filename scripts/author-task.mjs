#!/usr/bin/env node
// Authoring aid for bundled tasks: from a spec that injects one bug into a shared repository,
// writes a task folder (task.json, problem.md, base.patch = correct -> buggy, gold.patch = the
// fix, test.patch = the hidden tests). Run `node driver.js validate-tasks` on the result.
// usage: node scripts/author-task.mjs SPEC.json   (see the fields read below)
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));
const repoRoot = resolve(spec.repoDir); // the correct repository
const dir = resolve(spec.taskDir);
mkdirSync(dir, { recursive: true });

function udiff(path, before, after) {
  const t = mkdtempSync(join(tmpdir(), "author-"));
  writeFileSync(join(t, "a"), before);
  writeFileSync(join(t, "b"), after);
  try {
    execFileSync("diff", ["-u", "--label", before === null ? "/dev/null" : `a/${path}`, "--label", `b/${path}`, join(t, "a"), join(t, "b")]);
    throw new Error(`no change in ${path}`);
  } catch (e) {
    if (e.status !== 1) throw e;
    return `diff --git a/${path} b/${path}\n${e.stdout.toString()}`;
  }
}

let bug = "";
let gold = "";
for (const edit of spec.bug) {
  const correct = readFileSync(join(repoRoot, edit.file), "utf8");
  if (correct.split(edit.find).length !== 2) throw new Error(`'${edit.find}' must occur once in ${edit.file}`);
  const buggy = correct.replace(edit.find, edit.replace);
  bug += udiff(edit.file, correct, buggy);
  gold += udiff(edit.file, buggy, correct);
}
const testFile = spec.testFile ?? "tests/test_issue.py";
const test = udiff(testFile, "", spec.tests).replace(`--- a/${testFile}`, "--- /dev/null").replace(/^diff --git .*\n/, `diff --git a/${testFile} b/${testFile}\nnew file mode 100644\n`);
writeFileSync(join(dir, "base.patch"), bug);
writeFileSync(join(dir, "gold.patch"), gold);
writeFileSync(join(dir, "test.patch"), test);
writeFileSync(join(dir, "problem.md"), spec.problem.trim() + "\n");
writeFileSync(join(dir, "task.json"), JSON.stringify({
  id: spec.id,
  split: spec.split,
  repo: "../repo",
  base_patch: "base.patch",
  FAIL_TO_PASS: spec.failToPass,
  PASS_TO_PASS: spec.passToPass,
  test_command: spec.testCommand ?? "python3 -m pytest -rA -p no:cacheprovider tests",
}, null, 2) + "\n");
console.log(`wrote ${dir}`);
