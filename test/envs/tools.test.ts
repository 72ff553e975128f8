import { expect } from "chai";
import { runTool, type Sandbox, type ToolContext } from "../../envs/index.js";
import { dockerEnv, task } from "./helpers.js";

describe("tools (R2E-Gym semantics) in a task sandbox", function () {
  this.timeout(120_000);
  let sb: Sandbox;
  let ctx: ToolContext;
  const call = (name: string, params: Record<string, string>) => runTool(ctx, { name, params });

  before(async () => {
    const { backend, tasks } = await dockerEnv();
    sb = await backend.create({ image: task(tasks, "textkit-001").image, workdir: "/testbed" });
    ctx = { sandbox: sb, stepTimeoutSec: 5, history: new Map() };
  });
  after(() => sb?.close());

  describe("execute_bash", () => {
    it("answers with the exit code and the output", async () => {
      const r = await call("execute_bash", { cmd: "echo hi; echo oops >&2; exit 4" });
      expect(r.observation).to.match(/^Exit code: 4\n\[STDOUT\]\nhi\n\[STDERR\]\noops/);
      expect(r.error).to.equal(false);
    });
    it("refuses git, ipython, jupyter and nohup as the first word", async () => {
      for (const w of ["git log", "ipython", "jupyter notebook", "nohup sleep 1", "/usr/bin/git status"]) {
        const r = await call("execute_bash", { cmd: w });
        expect(r.error, w).to.equal(true);
        expect(r.observation).to.match(/is not allowed/);
      }
    });
    it("keeps the first and last 40 lines of long output", async () => {
      const r = await call("execute_bash", { cmd: "seq 1 200" });
      const lines = r.observation.split("\n");
      expect(lines).to.include("40").and.include("161").and.include("200");
      expect(lines).to.not.include("41");
      expect(r.observation).to.include("[... 120 lines omitted ...]");
    });
    it("a command past the step limit comes back as a message", async () => {
      const r = await call("execute_bash", { cmd: "sleep 100000" });
      expect(r.error).to.equal(true);
      expect(r.observation).to.match(/took longer than 5 seconds and was killed/);
    });
    it("needs cmd", async () => {
      expect((await call("execute_bash", {})).observation).to.match(/needs the parameter 'cmd'/);
    });
  });

  describe("search", () => {
    it("counts matches per file under a folder, skipping hidden files", async () => {
      await sb.exec("mkdir -p .hidden && echo 'def slugify' > .hidden/x.py");
      const r = await call("search", { search_term: "slugify", path: "/testbed" });
      expect(r.observation).to.match(/^Found \d+ matches for "slugify" in \/testbed:/);
      expect(r.observation).to.include("./textkit/slug.py (");
      expect(r.observation).to.not.include(".hidden");
    });
    it("gives line-numbered matches in a file", async () => {
      const r = await call("search", { search_term: "def slugify", path: "textkit/slug.py" });
      expect(r.observation).to.match(/Matches for "def slugify" in \/testbed\/textkit\/slug.py:\n\d+:def slugify/);
    });
    it("asks to narrow a search that matches more than 100 files", async () => {
      await sb.exec("mkdir -p /tmp/many && for i in $(seq 1 120); do echo needle > /tmp/many/f$i; done");
      const r = await call("search", { search_term: "needle", path: "/tmp/many" });
      expect(r.observation).to.match(/More than 100 files matched.*narrow your search/);
    });
    it("reports no matches and missing paths", async () => {
      expect((await call("search", { search_term: "zzzqqq" })).observation).to.match(/No matches found/);
      expect((await call("search", { search_term: "x", path: "/nope" })).error).to.equal(true);
    });
  });

  describe("file_editor", () => {
    it("views a file with line numbers and a range", async () => {
      const r = await call("file_editor", { command: "view", path: "/testbed/textkit/kv.py", view_range: "[2, 3]" });
      expect(r.observation).to.match(/cat -n.*\n\s+2\t\n\s+3\t$/m);
      const all = await call("file_editor", { command: "view", path: "/testbed/textkit/kv.py", view_range: "[20, -1]" });
      expect(all.observation).to.include("    20\t").and.include("format_kv");
      expect((await call("file_editor", { command: "view", path: "textkit/kv.py", view_range: "[0, 3]" })).error).to.equal(true);
    });
    it("views a folder two levels deep without hidden items", async () => {
      const r = await call("file_editor", { command: "view", path: "/testbed" });
      expect(r.observation).to.include("/testbed/textkit/slug.py").and.not.include(".git");
    });
    it("str_replace needs exactly one match, answers with context, and can be undone", async () => {
      const none = await call("file_editor", { command: "str_replace", path: "textkit/kv.py", old_str: "no such text", new_str: "x" });
      expect(none.observation).to.match(/did not appear verbatim/);
      const many = await call("file_editor", { command: "str_replace", path: "textkit/kv.py", old_str: "key", new_str: "k" });
      expect(many.observation).to.match(/Multiple occurrences of old_str `key` in lines \[/);
      const before = (await sb.exec("cat textkit/kv.py")).stdout;
      const ok = await call("file_editor", { command: "str_replace", path: "textkit/kv.py", old_str: "class KVError(ValueError):", new_str: "class KVError(ValueError):  # edited" });
      expect(ok.observation).to.match(/has been edited.*\n(.*\n)*\s+4\tclass KVError\(ValueError\):  # edited/);
      const undo = await call("file_editor", { command: "undo_edit", path: "textkit/kv.py" });
      expect(undo.observation).to.match(/undone successfully/);
      expect((await sb.exec("cat textkit/kv.py")).stdout).to.equal(before);
      expect((await call("file_editor", { command: "undo_edit", path: "textkit/kv.py" })).observation).to.match(/No edit history/);
    });
    it("insert puts text after the given line and checks the range", async () => {
      await call("file_editor", { command: "create", path: "/tmp/ins.txt", file_text: "a\nb\n" });
      const r = await call("file_editor", { command: "insert", path: "/tmp/ins.txt", insert_line: "1", new_str: "X" });
      expect(r.error).to.equal(false);
      expect((await sb.exec("cat /tmp/ins.txt")).stdout).to.equal("a\nX\nb\n");
      expect((await call("file_editor", { command: "insert", path: "/tmp/ins.txt", insert_line: "9", new_str: "Y" })).observation).to.match(/within \[0, 3\]/);
    });
    it("create refuses an existing file; undo of a create removes it", async () => {
      const again = await call("file_editor", { command: "create", path: "/tmp/ins.txt", file_text: "z" });
      expect(again.observation).to.match(/already exists/);
      await call("file_editor", { command: "create", path: "/tmp/new/deep.py", file_text: "x = 1\n" });
      expect((await sb.exec("cat /tmp/new/deep.py")).stdout).to.equal("x = 1\n");
      await call("file_editor", { command: "undo_edit", path: "/tmp/new/deep.py" });
      expect((await sb.exec("test -e /tmp/new/deep.py; echo $?")).stdout).to.equal("1\n");
    });
    it("clips long answers at 10,000 characters", async () => {
      await sb.exec("seq 1 5000 > /tmp/long.txt");
      const r = await call("file_editor", { command: "view", path: "/tmp/long.txt" });
      expect(r.observation.length).to.be.lessThan(10_200);
      expect(r.observation).to.include("response clipped");
    });
    it("rejects unknown commands and missing parameters", async () => {
      expect((await call("file_editor", { command: "delete", path: "x" })).observation).to.match(/one of view, create/);
      expect((await call("file_editor", { command: "create", path: "/tmp/q" })).observation).to.match(/needs the parameter 'file_text'/);
    });
  });

  it("finish ends the trajectory; unknown tools are answered", async () => {
    expect(await call("finish", { command: "submit" })).to.include({ done: true });
    expect((await call("delete_repo", {})).observation).to.match(/Unknown function 'delete_repo'.*execute_bash/);
  });
});
