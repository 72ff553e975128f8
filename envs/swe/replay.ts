// replay:gold — a task's reference patch turned into the agent's own tool calls (file_editor
// edits, a `rm` for a deleted file, then finish), rendered as model replies. Running them
// through the whole rollout path checks everything but the model.
import type { Task } from "../tasks/index.js";
import type { ToolCall } from "../tools/index.js";
import type { Scaffold } from "./prompts.js";

interface Hunk {
  oldStart: number;
  oldLines: string[];  // context and removed lines
  newLines: string[];  // context and added lines
}

interface FileDiff {
  path: string;
  created: boolean;
  deleted: boolean;
  hunks: Hunk[];
  /** The new side ends without a newline ("\ No newline at end of file"). */
  noFinalNewline: boolean;
}

/** Parses a unified diff (git's or diff -u's). Throws on a hunk it cannot read. */
export function parseUnifiedDiff(patch: string): FileDiff[] {
  const files: FileDiff[] = [];
  const lines = patch.split("\n");
  let file: FileDiff | undefined;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l.startsWith("--- ")) {
      const from = l.slice(4).split("\t")[0];
      const to = (lines[i + 1] ?? "").startsWith("+++ ") ? lines[++i].slice(4).split("\t")[0] : "";
      const strip = (p: string) => p.replace(/^[ab]\//, "");
      file = {
        path: strip(to === "/dev/null" ? from : to), created: from === "/dev/null", deleted: to === "/dev/null", hunks: [], noFinalNewline: false,
      };
      files.push(file);
      continue;
    }
    const m = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(l);
    if (!m) continue;
    if (!file) throw new Error(`patch line ${i + 1}: a hunk before any file header`);
    const hunk: Hunk = { oldStart: Number(m[1]), oldLines: [], newLines: [] };
    let oldLeft = m[2] === undefined ? 1 : Number(m[2]);
    let newLeft = m[4] === undefined ? 1 : Number(m[4]);
    while ((oldLeft > 0 || newLeft > 0) && i + 1 < lines.length) {
      const h = lines[++i];
      const body = h.slice(1);
      if (h.startsWith(" ") || h === "") {
        hunk.oldLines.push(body);
        hunk.newLines.push(body);
        oldLeft--;
        newLeft--;
      } else if (h.startsWith("-")) {
        hunk.oldLines.push(body);
        oldLeft--;
      } else if (h.startsWith("+")) {
        hunk.newLines.push(body);
        newLeft--;
      } else if (h.startsWith("\\")) {
        continue;
      } else throw new Error(`patch line ${i + 1}: '${h.slice(0, 40)}' inside a hunk`);
    }
    if (lines[i + 1]?.startsWith("\\")) file.noFinalNewline = true;
    file.hunks.push(hunk);
  }
  return files;
}

/**
 * A hunk cut down to what changes: the context lines both sides share at its ends dropped, one
 * kept above a pure insertion to anchor it, and context put back while the old text occurs twice
 * in the hunk itself. What is left may still occur elsewhere in its file; the replay then fails
 * (a demonstration is kept only when its reward is 1).
 */
function minimalHunk(h: Hunk): Hunk {
  const shared = (i: number, j: number) => h.oldLines[i] === h.newLines[j];
  let head = 0;
  while (head < h.oldLines.length && head < h.newLines.length && shared(head, head)) head++;
  let tail = 0;
  while (tail < h.oldLines.length - head && tail < h.newLines.length - head && shared(h.oldLines.length - 1 - tail, h.newLines.length - 1 - tail)) tail++;
  const whole = h.oldLines.join("\n");
  const oldText = () => h.oldLines.slice(head, h.oldLines.length - tail).join("\n");
  const ambiguous = () => head + tail === h.oldLines.length || whole.indexOf(oldText()) !== whole.lastIndexOf(oldText());
  while (ambiguous() && head + tail > 0) {
    if (head > 0) head--;
    else tail--;
  }
  return { oldStart: h.oldStart + head, oldLines: h.oldLines.slice(head, h.oldLines.length - tail), newLines: h.newLines.slice(head, h.newLines.length - tail) };
}

/** The tool calls that apply `patch` in `workdir`, ending with finish; `minimal` cuts each hunk to what changes. */
export function patchToolCalls(patch: string, workdir: string, minimal = false): ToolCall[] {
  const calls: ToolCall[] = [];
  for (const f of parseUnifiedDiff(patch)) {
    if (minimal) f.hunks = f.hunks.map(minimalHunk);
    const path = `${workdir.replace(/\/+$/, "")}/${f.path}`;
    if (f.deleted) {
      calls.push({ name: "execute_bash", params: { cmd: `rm -f ${path}` } });
    } else if (f.created) {
      const text = f.hunks.flatMap((h) => h.newLines).join("\n");
      calls.push({ name: "file_editor", params: { command: "create", path, file_text: f.noFinalNewline ? text : `${text}\n` } });
    } else {
      for (const h of f.hunks) {
        if (h.oldLines.length === 0) {
          // Nothing to anchor on: an insertion after line oldStart.
          calls.push({ name: "file_editor", params: { command: "insert", path, insert_line: String(h.oldStart), new_str: h.newLines.join("\n") } });
        } else {
          calls.push({ name: "file_editor", params: { command: "str_replace", path, old_str: h.oldLines.join("\n"), new_str: h.newLines.join("\n") } });
        }
      }
    }
  }
  calls.push({ name: "finish", params: { command: "submit" } });
  return calls;
}

/** A call as a model reply in the action format (values on their own lines, as models write). */
export function renderToolCall(call: ToolCall, thought = ""): string {
  const params = Object.entries(call.params).map(([k, v]) => `<parameter=${k}>\n${v}\n</parameter>\n`).join("");
  return `${thought ? `${thought}\n` : ""}<function=${call.name}>\n${params}</function>`;
}

/**
 * The same call on as few bytes as the parser reads back exactly: no thought, no layout, a value
 * kept off its tags only where it starts or ends with a newline (which the parser would take for
 * layout).
 */
export function renderCompactToolCall(call: ToolCall): string {
  const params = Object.entries(call.params).map(([k, v]) => {
    const value = v.startsWith("\n") || v.endsWith("\n") ? `\n${v}\n` : v;
    return `<parameter=${k}>${value}</parameter>`;
  }).join("");
  return `<function=${call.name}>${params}</function>`;
}

/**
 * The tool calls that run a solution script (Harbor's solution/): each file written through the
 * shell (base64, so any byte survives), then the script, then finish.
 */
export function solutionToolCalls(solution: NonNullable<Task["solution"]>): ToolCall[] {
  const calls: ToolCall[] = Object.entries(solution.files).map(([path, b64]) => ({
    name: "execute_bash", params: { cmd: `mkdir -p "$(dirname ${path})" && echo ${b64} | base64 -d > ${path}` },
  }));
  calls.push({ name: "execute_bash", params: { cmd: solution.command } }, { name: "finish", params: { command: "submit" } });
  return calls;
}

/**
 * The replies of replay:gold for a task: its gold patch applied, or its solution run. The compact
 * scaffold's are the shortest that do it: each hunk cut to what changes, rendered compactly.
 */
export function goldReplies(task: Pick<Task, "id" | "goldPatch" | "solution" | "workdir">, scaffold: Scaffold = "full"): string[] {
  const compact = scaffold === "compact";
  const calls = task.goldPatch !== undefined ? patchToolCalls(task.goldPatch, task.workdir, compact)
    : task.solution ? solutionToolCalls(task.solution) : undefined;
  if (!calls) throw new TypeError(`replay:gold: task ${task.id} has no gold patch or solution`);
  return calls.map((c, i) => compact ? renderCompactToolCall(c) : renderToolCall(c, `Step ${i + 1}: applying the reference change.`));
}
