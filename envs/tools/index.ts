// The agent's tools (R2E-Gym semantics, DEEPSWE.md): execute_bash, search, file_editor, finish.
// Each runs through the Sandbox interface with POSIX shell utilities only: no Python needed
// in the image.
import { SandboxBrokenError } from "../errors.js";
import { executeBash } from "./bash.js";
import { fileEditor } from "./file-editor.js";
import { finish } from "./finish.js";
import { search } from "./search.js";
import { fail, type Tool, type ToolCall, type ToolContext, type ToolResult } from "./types.js";

export type { Tool, ToolCall, ToolContext, ToolResult } from "./types.js";
export { BLOCKED_COMMANDS, exitCodeOf } from "./bash.js";
export { FILE_EDITOR_COMMANDS } from "./file-editor.js";
export { truncateMiddleLines, clip } from "./text.js";

export const TOOLS: Record<string, Tool> = {
  execute_bash: executeBash,
  search,
  file_editor: fileEditor,
  finish,
};

/** Runs one tool call; an unknown tool or a failing tool is answered, never thrown. */
export async function runTool(ctx: ToolContext, call: ToolCall): Promise<ToolResult> {
  const tool = TOOLS[call.name];
  if (!tool) return fail(`Unknown function '${call.name}'. The available functions are: ${Object.keys(TOOLS).join(", ")}.`);
  try {
    return await tool(ctx, call.params);
  } catch (e) {
    if (e instanceof SandboxBrokenError) throw e; // the sandbox is gone: not the agent's doing
    return fail(`${call.name} failed: ${(e as Error).message}`);
  }
}
