// unittest-style logs: plain `unittest -v`, Django's `runtests.py --verbosity 2` as SWE-bench's
// harness reads it, and sympy's `bin/test` as the harness reads it.
import { splitWords, type StatusMap } from "./statuses.js";

const UNITTEST_LINE = /^(\w+) \(([\w.]+)\)(?:\n.*?)? \.\.\. (ok|FAIL|ERROR|skipped.*|expected failure|unexpected success)$/;

/**
 * unittest with `-v`: `test_name (module.Class[.test_name]) ... ok|FAIL|ERROR|skipped …`.
 * Ids are `module.Class.test_name` whichever Python wrote the line.
 */
export function parseUnittest(log: string): StatusMap {
  const out: StatusMap = {};
  for (const raw of log.split("\n")) {
    const m = UNITTEST_LINE.exec(raw.trimEnd());
    if (!m) continue;
    const [, name, where, word] = m;
    const id = where.endsWith(`.${name}`) ? where : `${where}.${name}`;
    out[id] = word === "ok" ? "PASSED" : word === "FAIL" ? "FAILED" : word === "ERROR" ? "ERROR"
      : word === "expected failure" ? "XFAIL" : word === "unexpected success" ? "XPASS" : "SKIPPED";
  }
  return out;
}

const DJANGO_PASS = [" ... ok", " ... OK", " ...  OK"];

/**
 * Django's runner at verbosity 2, read line by line as the harness reads it. The id is the
 * whole text before " ... ": `test_x (module.Class)` or `test_x (module.Class.test_x)` (newer
 * Pythons), or the first line of the test's docstring, which unittest prints on a line of its
 * own under the name. A result that some print pushed onto a later line (`ok` alone) belongs
 * to the last test named. `FAIL: name (…)` headers record the bare name, as the harness does.
 */
export function parseDjango(log: string): StatusMap {
  const out: StatusMap = {};
  let prev: string | undefined;
  for (const raw of log.split("\n")) {
    let line = raw.trim();
    if (line.includes("--version is equivalent to version")) out["--version is equivalent to version"] = "PASSED";
    if (line.includes(" ... ")) prev = line.split(" ... ")[0];
    const pass = DJANGO_PASS.find((s) => line.endsWith(s));
    if (pass) {
      // One instance (django__django-7188) prints a migration's progress before the name.
      if (line.startsWith("Applying sites.0002_alter_domain_unique...test_no_migrations")) line = line.slice(line.indexOf("...") + 3).trim();
      out[line.slice(0, line.lastIndexOf(pass))] = "PASSED";
    }
    if (line.includes(" ... skipped")) out[line.split(" ... skipped")[0]] = "SKIPPED";
    if (line.endsWith(" ... FAIL")) out[line.split(" ... FAIL")[0]] = "FAILED";
    if (line.startsWith("FAIL:")) out[splitWords(line)[1]] = "FAILED";
    if (line.endsWith(" ... ERROR")) out[line.split(" ... ERROR")[0]] = "ERROR";
    if (line.startsWith("ERROR:")) out[splitWords(line)[1]] = "ERROR";
    if (line.startsWith("ok") && prev !== undefined) out[prev] = "PASSED";
  }
  // Output that a test printed between its name and its result, in the three forms seen.
  const interrupted = [
    /^(.*?)\s\.\.\.\sTesting against Django installed in ([\s\S]*?) silenced\)\.\nok$/gm,
    /^(.*?)\s\.\.\.\sInternal Server Error: \/(.*)\/\nok$/gm,
    /^(.*?)\s\.\.\.\sSystem check identified no issues \(0 silenced\)\nok$/gm,
  ];
  for (const re of interrupted) for (const m of log.matchAll(re)) out[m[1]] = "PASSED";
  return out;
}

/**
 * sympy's `bin/test -C --verbose`: `test_name ok|F|E` per test, and a `____ file.py:test_name ____`
 * header per failure (recorded as `file.py:test_name`, as the harness does).
 */
export function parseSympy(log: string): StatusMap {
  const out: StatusMap = {};
  for (const m of log.matchAll(/(_*) (.*)\.py:(.*) (_*)/g)) out[`${m[2]}.py:${m[3]}`] = "FAILED";
  for (const raw of log.split("\n")) {
    const line = raw.trim();
    if (!line.startsWith("test_")) continue;
    const name = splitWords(line)[0];
    if (line.endsWith(" E")) out[name] = "ERROR";
    if (line.endsWith(" F")) out[name] = "FAILED";
    if (line.endsWith(" ok")) out[name] = "PASSED";
  }
  return out;
}
