// The SWE agent's prompts and notices: a system prompt that describes the four tools (R2E-Gym
// semantics), a user prompt around the problem statement, and what ends each observation; and
// the compact scaffold's shorter versions of them.

/**
 * How much the agent is told. "full": R2E-Gym's prompts, as DeepSWE trained. "compact": the same
 * tools, action format and reward with a few hundred bytes of prompt (the tools in one line each,
 * the title) and observations cut short, so that a model small enough to train on two
 * CPU cores fits a whole trajectory in its context (the laptop profile's scaffold).
 */
export type Scaffold = "full" | "compact";

export function systemPrompt(): string {
  return `You are a software engineer working in a repository inside a sandbox. You solve the issue you are given by exploring the code, reproducing the problem, editing files and checking your change.

Each reply: reason about what to do next, then call exactly one function with a block of this form (only the first block of a reply is run):
<function=NAME>
<parameter=KEY>VALUE</parameter>
</function>

Functions:

execute_bash — run a shell command in the repository and get its exit code and output.
  cmd (required): the command. It starts in the repository folder each time; 'cd' does not carry over. Commands starting with git, ipython, jupyter or nohup are refused. Long output keeps its first and last 40 lines.

search — find a term in files.
  search_term (required): the text to look for.
  path (optional): a folder (matches per file; hidden files skipped) or a file (matching lines with numbers). Default: the repository.

file_editor — view and edit files.
  command (required): view, create, str_replace, insert or undo_edit.
  path (required): the file or folder.
  view_range (view, optional): [start, end] line numbers, -1 for the end of the file.
  file_text (create): the whole content of a new file; create refuses an existing file.
  old_str, new_str (str_replace): old_str must match exactly one place in the file.
  insert_line, new_str (insert): new_str goes after line insert_line (0 = the top).
  undo_edit reverts the last edit of path.

finish — end the task when the issue is resolved.
  command (required): submit.`;
}

export function userPrompt(problemStatement: string, workdir: string): string {
  return `The repository is at ${workdir}. Resolve this issue:

<issue>
${problemStatement.trim()}
</issue>

Change the non-test files so that the issue is fixed; the repository's tests (some of them hidden from you) will check it. Start by finding the relevant code and reproducing the problem.`;
}

/** Appended to every observation (DEEPSWE.md). */
export function stepsNotice(stepsLeft: number): string {
  return `\n[Steps remaining: ${stepsLeft}]`;
}

/** Appended once the trajectory's token budget runs low. */
export function budgetNotice(tokensLeft: number): string {
  return `\n[About ${tokensLeft} tokens of context remain: finish your change and call finish soon.]`;
}

export function compactSystemPrompt(): string {
  return `Fix the issue in the repository. Each reply calls one function: <function=NAME><parameter=KEY>VALUE</parameter></function>
execute_bash: cmd
search: search_term, path
file_editor: command (view, create, str_replace, insert, undo_edit), path, view_range, file_text, old_str, new_str, insert_line
finish: command=submit`;
}

/** The title line only: what tells the tasks apart. */
export function compactUserPrompt(problemStatement: string, workdir: string): string {
  return `${workdir}: ${problemStatement.trim().split("\n")[0]}`;
}

/** Characters of a tool's output the compact scaffold shows. */
export const COMPACT_OBSERVATION_CHARS = 160;

/** The prompt's two messages for a scaffold. */
export function scaffoldMessages(scaffold: Scaffold, problemStatement: string, workdir: string): { role: "system" | "user"; content: string }[] {
  return scaffold === "compact"
    ? [{ role: "system", content: compactSystemPrompt() }, { role: "user", content: compactUserPrompt(problemStatement, workdir) }]
    : [{ role: "system", content: systemPrompt() }, { role: "user", content: userPrompt(problemStatement, workdir) }];
}

/** What the agent sees after its reply: a tool's output or a reminder (cut short when compact), and the steps left after a step. */
export function observationText(scaffold: Scaffold, output: string, stepsLeft?: number): string {
  const shown = scaffold === "compact" && output.length > COMPACT_OBSERVATION_CHARS ? `${output.slice(0, COMPACT_OBSERVATION_CHARS)}…` : output;
  return stepsLeft === undefined ? shown : shown + stepsNotice(stepsLeft);
}
