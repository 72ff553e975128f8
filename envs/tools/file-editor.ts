// file_editor: view, create, str_replace, insert, undo_edit (R2E-Gym / SWE-agent semantics).
// Edits answer with a few numbered lines of context; every answer is clipped at 10,000
// characters; the undo history (per path) lives in the ToolContext, across calls.
import { shellQuote } from "../sandbox/index.js";
import { fail, ok, pathKind, resolvePath, type PathKind, type Tool, type ToolContext, type ToolResult } from "./types.js";
import { clip, numberLines } from "./text.js";

const CONTEXT_LINES = 4;
/** History marker: the file did not exist before the edit (undo removes it). */
const ABSENT = "\u0000absent";

export const FILE_EDITOR_COMMANDS = ["view", "create", "str_replace", "insert", "undo_edit"];

export const fileEditor: Tool = async (ctx, params) => {
  const command = params.command;
  if (!command || !FILE_EDITOR_COMMANDS.includes(command)) {
    return fail(`file_editor needs --command, one of ${FILE_EDITOR_COMMANDS.join(", ")}${command ? ` (got '${command}')` : ""}.`);
  }
  if (!params.path) return fail(`file_editor ${command} needs the parameter 'path'.`);
  const path = resolvePath(ctx, params.path);
  const kind = await pathKind(ctx, path);
  switch (command) {
    case "view":
      return view(ctx, path, kind, params.view_range);
    case "create":
      if (params.file_text === undefined) return fail("file_editor create needs the parameter 'file_text'.");
      if (kind !== "none") return fail(`File already exists at: ${path}. Cannot overwrite files using command \`create\`.`);
      await ctx.sandbox.writeFile(path, params.file_text);
      remember(ctx, path, ABSENT);
      return ok(`File created successfully at: ${path}`);
    case "str_replace":
      if (kind !== "file") return notAFile(path, kind);
      if (params.old_str === undefined) return fail("file_editor str_replace needs the parameter 'old_str'.");
      return strReplace(ctx, path, params.old_str, params.new_str ?? "");
    case "insert":
      if (kind !== "file") return notAFile(path, kind);
      if (params.new_str === undefined) return fail("file_editor insert needs the parameter 'new_str'.");
      return insert(ctx, path, params.insert_line, params.new_str);
    default:
      return undo(ctx, path);
  }
};

function notAFile(path: string, kind: PathKind): ToolResult {
  return fail(kind === "dir" ? `${path} is a directory; this command needs a file.` : `The path ${path} does not exist.`);
}

async function read(ctx: ToolContext, path: string): Promise<string> {
  return Buffer.from(await ctx.sandbox.readFile(path)).toString("utf8");
}

function remember(ctx: ToolContext, path: string, before: string): void {
  const h = ctx.history.get(path) ?? [];
  h.push(before);
  ctx.history.set(path, h);
}

async function view(ctx: ToolContext, path: string, kind: PathKind, range: string | undefined): Promise<ToolResult> {
  if (kind === "none") return fail(`The path ${path} does not exist.`);
  if (kind === "dir") {
    if (range) return fail("view_range applies to files, not directories.");
    const q = shellQuote(path);
    const r = await ctx.sandbox.exec(`find ${q} -maxdepth 2 -mindepth 1 -not -path '*/.*' | sort`, { timeoutSec: ctx.stepTimeoutSec });
    return ok(clip(`Here's the files and directories up to 2 levels deep in ${path}, excluding hidden items:\n${path}\n${r.stdout}`));
  }
  const text = await read(ctx, path);
  const lines = text.split("\n");
  if (text.endsWith("\n")) lines.pop();
  let first = 1;
  let last = lines.length;
  if (range) {
    const nums = range.replace(/[[\]\s]/g, "").split(",").map(Number);
    if (nums.length !== 2 || !nums.every(Number.isInteger)) return fail(`view_range must be two integers like [10, 20], got ${range}.`);
    [first, last] = nums;
    if (first < 1 || first > Math.max(1, lines.length)) return fail(`Invalid view_range ${range}: the first line must be within [1, ${lines.length}].`);
    if (last === -1) last = lines.length;
    else if (last < first || last > lines.length) return fail(`Invalid view_range ${range}: the last line must be -1 or within [${first}, ${lines.length}].`);
  }
  return ok(clip(`Here's the result of running \`cat -n\` on ${path}:\n${numberLines(lines.slice(first - 1, last), first)}\n`));
}

async function strReplace(ctx: ToolContext, path: string, oldStr: string, newStr: string): Promise<ToolResult> {
  const text = await read(ctx, path);
  if (oldStr === "") return fail("old_str must not be empty.");
  const at: number[] = [];
  for (let i = text.indexOf(oldStr); i >= 0; i = text.indexOf(oldStr, i + 1)) at.push(i);
  if (at.length === 0) return fail(`No replacement was performed, old_str \`${oldStr}\` did not appear verbatim in ${path}.`);
  if (at.length > 1) {
    const lines = at.map((i) => lineOf(text, i));
    return fail(`No replacement was performed. Multiple occurrences of old_str \`${oldStr}\` in lines ${JSON.stringify(lines)}. Please ensure it is unique.`);
  }
  const updated = text.slice(0, at[0]) + newStr + text.slice(at[0] + oldStr.length);
  await ctx.sandbox.writeFile(path, updated);
  remember(ctx, path, text);
  const start = lineOf(text, at[0]);
  return ok(clip(edited(path, updated, start, start + newStr.split("\n").length - 1)));
}

async function insert(ctx: ToolContext, path: string, lineArg: string | undefined, newStr: string): Promise<ToolResult> {
  const text = await read(ctx, path);
  const lines = text.split("\n");
  if (text.endsWith("\n")) lines.pop();
  const n = Number(lineArg);
  if (lineArg === undefined || !Number.isInteger(n) || n < 0 || n > lines.length) {
    return fail(`insert_line must be an integer within [0, ${lines.length}], got ${lineArg ?? "nothing"}.`);
  }
  const added = newStr.replace(/\n$/, "").split("\n");
  const out = [...lines.slice(0, n), ...added, ...lines.slice(n)];
  const updated = out.join("\n") + (text.endsWith("\n") || text === "" ? "\n" : "");
  await ctx.sandbox.writeFile(path, updated);
  remember(ctx, path, text);
  return ok(clip(edited(path, updated, n + 1, n + added.length)));
}

async function undo(ctx: ToolContext, path: string): Promise<ToolResult> {
  const h = ctx.history.get(path);
  const before = h?.pop();
  if (before === undefined) return fail(`No edit history found for ${path}.`);
  if (before === ABSENT) await ctx.sandbox.exec(`rm -f -- ${shellQuote(path)}`);
  else await ctx.sandbox.writeFile(path, before);
  return ok(`Last edit to ${path} undone successfully.`);
}

function lineOf(text: string, index: number): number {
  let n = 1;
  for (let i = text.indexOf("\n"); i >= 0 && i < index; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

function edited(path: string, text: string, from: number, to: number): string {
  const lines = text.split("\n");
  const a = Math.max(1, from - CONTEXT_LINES);
  const b = Math.min(lines.length, to + CONTEXT_LINES);
  return `The file ${path} has been edited. Here's the result of running \`cat -n\` on a snippet of ${path}:\n` +
    `${numberLines(lines.slice(a - 1, b), a)}\nReview the changes and make sure they are as expected. Edit the file again if necessary.`;
}
