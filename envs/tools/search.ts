// search: literal search for a term under a folder (hidden files and folders skipped), matches
// counted per file; in a file, line-numbered matches. Uses find and grep from the image.
import { shellQuote } from "../sandbox/index.js";
import { fail, ok, pathKind, resolvePath, type Tool } from "./types.js";
import { clip } from "./text.js";

const MAX_FILES = 100;

export const search: Tool = async (ctx, params) => {
  const term = params.search_term;
  if (!term) return fail("search needs the parameter 'search_term'.");
  const path = resolvePath(ctx, params.path ?? ".");
  const q = shellQuote(path);
  const t = shellQuote(term);
  const what = await pathKind(ctx, path);
  if (what === "none") return fail(`The path '${path}' does not exist.`);
  if (what === "file") {
    const r = await ctx.sandbox.exec(`grep -n -F -e ${t} -- ${q}`, { timeoutSec: ctx.stepTimeoutSec });
    if (r.exitCode === 1) return ok(`No matches found for "${term}" in ${path}`);
    if (r.exitCode !== 0) return fail(`search failed: ${r.stderr.trim()}`);
    return ok(clip(`Matches for "${term}" in ${path}:\n${r.stdout}`));
  }
  const r = await ctx.sandbox.exec(
    `find ${q} -mindepth 1 -name '.*' -prune -o -type f -exec grep -H -c -I -F -e ${t} -- {} + 2>/dev/null`,
    { timeoutSec: ctx.stepTimeoutSec, maxOutputBytes: 16 * 1024 * 1024 },
  );
  if (r.timedOut) return fail(`search timed out after ${ctx.stepTimeoutSec} s; search a smaller folder.`);
  const hits = r.stdout.split("\n").map((l) => {
    const i = l.lastIndexOf(":");
    return { file: l.slice(0, i), n: Number(l.slice(i + 1)) };
  }).filter((h) => h.n > 0);
  if (hits.length === 0) return ok(`No matches found for "${term}" in ${path}`);
  if (hits.length > MAX_FILES) {
    return ok(`More than ${MAX_FILES} files matched for "${term}" in ${path}. Please narrow your search.`);
  }
  const total = hits.reduce((a, h) => a + h.n, 0);
  const rel = (f: string) => (f.startsWith(`${path}/`) ? `./${f.slice(path.length + 1)}` : f);
  const lines = hits.map((h) => `${rel(h.file)} (${h.n} matches)`).sort();
  return ok(`Found ${total} matches for "${term}" in ${path}:\n${lines.join("\n")}\nEnd of matches for "${term}" in ${path}`);
};
