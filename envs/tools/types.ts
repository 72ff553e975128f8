// What a tool call is and what it answers, and what every tool can use.
import { shellQuote, type Sandbox } from "../sandbox/index.js";

/** One parsed tool call: `<function=name><parameter=k>v</parameter>…</function>`. */
export interface ToolCall {
  name: string;
  params: Record<string, string>;
}

export interface ToolResult {
  observation: string;
  /** The trajectory ends (finish). */
  done: boolean;
  /** The call was refused or failed (bad arguments, blocked command); the agent is told why. */
  error: boolean;
}

export interface ToolContext {
  sandbox: Sandbox;
  /** Per-call time limit (DeepSWE: 90 s). */
  stepTimeoutSec: number;
  /** file_editor undo history, per path; lives as long as the trajectory. */
  history: Map<string, string[]>;
}

export type Tool = (ctx: ToolContext, params: Record<string, string>) => Promise<ToolResult>;

export const ok = (observation: string, done = false): ToolResult => ({ observation, done, error: false });
export const fail = (observation: string): ToolResult => ({ observation, done: false, error: true });

export type PathKind = "file" | "dir" | "none";

/** Whether a path in the sandbox is a folder, some other existing file, or absent. */
export async function pathKind(ctx: ToolContext, path: string): Promise<PathKind> {
  const q = shellQuote(path);
  const r = await ctx.sandbox.exec(`if [ -d ${q} ]; then echo dir; elif [ -e ${q} ]; then echo file; else echo none; fi`);
  return r.stdout.trim() as PathKind;
}

/** Resolves a tool path argument against the workdir (absolute paths are kept). */
export function resolvePath(ctx: ToolContext, path: string): string {
  const p = path.trim();
  if (p.startsWith("/")) return p.replace(/\/+$/, "") || "/";
  const base = ctx.sandbox.workdir.replace(/\/+$/, "");
  return p === "." || p === "" ? base : `${base}/${p.replace(/^\.\//, "").replace(/\/+$/, "")}`;
}
