// The reverse of a git diff: what undoes it. SWE-smith rows carry the patch that introduces the
// bug; its reverse is the fix. Written here rather than taken from a diff library because git's
// extended headers (new/deleted file modes, mode changes, renames, index lines) must reverse
// too, or `git apply` refuses the result.
import { TaskFormatError } from "../errors.js";

const HUNK = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$/;

function range(start: string, count: string | undefined): string {
  return count === undefined ? start : `${start},${count}`;
}

export function reverseDiff(patch: string, where = "patch"): string {
  const out: string[] = [];
  const lines = patch.split("\n");
  let oldLeft = 0;
  let newLeft = 0;
  let minus: string | undefined;  // a file's "--- " line, held until its "+++ " line
  let oldMode: string | undefined;
  for (const line of lines) {
    if (oldLeft > 0 || newLeft > 0) {
      // Inside a hunk: removed lines become added ones and back; context counts on both sides.
      const c = line[0];
      if (c === " " || line === "") { oldLeft--; newLeft--; out.push(line); }
      else if (c === "-") { oldLeft--; out.push(`+${line.slice(1)}`); }
      else if (c === "+") { newLeft--; out.push(`-${line.slice(1)}`); }
      else if (c === "\\") out.push(line);
      else throw new TaskFormatError(where, "", `not a unified diff: unexpected line in a hunk: ${line.slice(0, 80)}`);
      continue;
    }
    const hunk = HUNK.exec(line);
    if (hunk) {
      oldLeft = hunk[2] === undefined ? 1 : Number(hunk[2]);
      newLeft = hunk[4] === undefined ? 1 : Number(hunk[4]);
      out.push(`@@ -${range(hunk[3], hunk[4])} +${range(hunk[1], hunk[2])} @@${hunk[5]}`);
    } else if (line.startsWith("diff --git ")) {
      const m = /^diff --git a\/(.*) b\/(.*)$/.exec(line);
      out.push(m ? `diff --git a/${m[2]} b/${m[1]}` : line);
    } else if (line.startsWith("GIT binary patch") || line.startsWith("Binary files ")) {
      throw new TaskFormatError(where, "", "a binary diff cannot be reversed");
    } else if (line.startsWith("new file mode ")) out.push(line.replace("new file", "deleted file"));
    else if (line.startsWith("deleted file mode ")) out.push(line.replace("deleted file", "new file"));
    else if (line.startsWith("old mode ")) oldMode = line.slice(9);
    else if (line.startsWith("new mode ")) out.push(`old mode ${line.slice(9)}`, `new mode ${oldMode}`);
    else if (line.startsWith("rename from ")) out.push(line.replace("rename from", "rename to"));
    else if (line.startsWith("rename to ")) out.splice(out.length - 1, 0, line.replace("rename to", "rename from"));
    else if (line.startsWith("index ")) {
      const m = /^index ([0-9a-f]+)\.\.([0-9a-f]+)(.*)$/.exec(line);
      out.push(m ? `index ${m[2]}..${m[1]}${m[3]}` : line);
    } else if (line.startsWith("--- ")) minus = line.slice(4);
    else if (line.startsWith("+++ ")) {
      const plus = line.slice(4);
      out.push(`--- ${plus.replace(/^b\//, "a/")}`, `+++ ${(minus ?? "/dev/null").replace(/^a\//, "b/")}`);
      minus = undefined;
    } else out.push(line);
  }
  return out.join("\n");
}
