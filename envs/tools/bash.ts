// execute_bash: runs a command in the sandbox (DeepSWE / R2E-Gym semantics).
// Commands whose first word is git, ipython, jupyter or nohup are refused: git would let the
// agent look at or rewrite history, the others hang or escape the step time limit.
import { fail, ok, type Tool } from "./types.js";
import { truncateMiddleLines } from "./text.js";

export const BLOCKED_COMMANDS = ["git", "ipython", "jupyter", "nohup"];
const OUTPUT_CAP_BYTES = 1024 * 1024;

export const executeBash: Tool = async (ctx, params) => {
  const cmd = params.cmd ?? params.command;
  if (cmd === undefined || cmd.trim() === "") return fail("execute_bash needs the parameter 'cmd' (the command to run).");
  const first = cmd.trim().split(/\s+/)[0].replace(/^.*\//, "");
  if (BLOCKED_COMMANDS.includes(first)) {
    return fail(`Bash command '${first}' is not allowed. Please use a different command or tool.`);
  }
  const r = await ctx.sandbox.exec(cmd, { timeoutSec: ctx.stepTimeoutSec, maxOutputBytes: OUTPUT_CAP_BYTES });
  if (r.timedOut) {
    return fail(`The command took longer than ${ctx.stepTimeoutSec} seconds and was killed. ` +
      "Run long commands with a smaller input, or in parts.\n" + section(r.stdout, r.stderr));
  }
  let out = `Exit code: ${r.exitCode}\n${section(r.stdout, r.stderr)}`;
  if (r.truncated) out += `\n[output cut at ${OUTPUT_CAP_BYTES} bytes per stream]`;
  return ok(out);
};

/** The exit code an execute_bash observation starts with (`Exit code: N`), if it is one. */
export function exitCodeOf(observation: string): number | undefined {
  const m = /^Exit code: (-?\d+)/.exec(observation);
  return m ? Number(m[1]) : undefined;
}

function section(stdout: string, stderr: string): string {
  let s = `[STDOUT]\n${truncateMiddleLines(stdout)}`;
  if (stderr) s += `${s.endsWith("\n") ? "" : "\n"}[STDERR]\n${truncateMiddleLines(stderr)}`;
  return s;
}
