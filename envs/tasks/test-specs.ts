// How SWE-bench's harness tests each repository at each version, read from
// swe-bench-specs.json (data, validated here): the environment to activate, the commands run
// before the tests, the test command and its directives (the test patch's files, in the form
// the runner takes), the install step it repeats, and which log reader reads the result.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { TEST_FORMATS, type TestFormat } from "../reward/index.js";
import { shellQuote } from "../sandbox/index.js";
import { projectRoot } from "./spec.js";

// Built when first read: the reward and the task loaders import each other's folders.
const specFileSchema = () => z.object({
  activate: z.string().min(1),
  repos: z.record(z.string(), z.object({
    parser: z.enum(TEST_FORMATS),
    directives: z.enum(["files", "django-modules"]),
    specs: z.array(z.object({
      versions: z.array(z.string()).min(1),
      test: z.string().min(1),
      install: z.string().optional(),
      env: z.array(z.string()).optional(),
    }).strict()).min(1),
  }).strict()),
});
type SpecFile = z.infer<ReturnType<typeof specFileSchema>>;

/** Files the harness never passes to a runner (its NON_TEST_EXTS, "csv" without its dot included). */
const NOT_TESTS = [".json", ".png", "csv", ".txt", ".md", ".jpg", ".jpeg", ".pkl", ".yml", ".yaml", ".toml"];

export interface TestSpec {
  repo: string;
  version: string;
  format: TestFormat;
  /** The whole script the reward runs (bash), its output one log (stderr into stdout). */
  command: string;
  /** What the harness re-installs before the tests (`step`, see `installNeeded`), and the command that runs it in the testbed environment. */
  install?: { step: string; command: string };
}

let cached: SpecFile | undefined;
function specFile(): SpecFile {
  if (!cached) cached = specFileSchema().parse(JSON.parse(readFileSync(join(projectRoot(), "envs", "tasks", "swe-bench-specs.json"), "utf8")));
  return cached;
}

/** The repositories the specifications cover. */
export function specRepos(): string[] {
  return Object.keys(specFile().repos);
}

/** What a test run is made of, whichever dataset says it. */
interface RunParts {
  repo: string;
  version: string;
  format: TestFormat;
  test: string;
  install?: string;
  env?: string[];
  /** The runner's arguments (directives). */
  args: string[];
}

function assemble(p: RunParts, workdir: string): TestSpec {
  const activate = specFile().activate;
  const lines = [
    `${activate} || { echo "troupe: cannot activate the testbed environment: ${activate}"; exit 1; }`,
    `cd ${shellQuote(workdir)}`,
    ...(p.env ?? []),
    [p.test, ...p.args.map(shellQuote)].join(" "),
  ];
  const install = p.install ? { step: p.install, command: `bash -c ${shellQuote(`${activate} && cd ${workdir} && ${p.install}`)} 2>&1` } : undefined;
  return { repo: p.repo, version: p.version, format: p.format, command: `bash -c ${shellQuote(lines.join("\n"))} 2>&1`, install };
}

/**
 * The test specification of `repo` at `version` for a task whose hidden tests are `testPatch`,
 * or a sentence saying why there is none.
 */
export function testSpec(repo: string, version: string, testPatch: string, workdir = "/testbed"): TestSpec | string {
  const r = specFile().repos[repo];
  if (!r) return `no test specification for repository ${repo} (SWE-bench's are ${specRepos().join(", ")}); give the row a test_command`;
  const s = r.specs.find((x) => x.versions.includes(version));
  if (!s) return `no test specification for ${repo} version ${version} (known: ${r.specs.flatMap((x) => x.versions).join(", ")})`;
  return assemble({ repo, version, format: r.parser, test: s.test, install: s.install, env: s.env, args: testDirectives(testPatch, r.directives) }, workdir);
}

/** SWE-rebench's `install_config`: the row carries its test command, install step and reader. */
export interface InstallConfig {
  test_cmd: string | string[];
  log_parser?: string;
  install?: string;
  eval_commands?: string[];
}

/**
 * A SWE-rebench row's specification: its own command (the last, when a list), run as SWE-bench
 * runs it (activation, directives from the test patch), read by the reader it names
 * (`parse_log_pytest`, `_options`, `_v2`, or a SWE-bench repository's).
 */
export function rebenchSpec(cfg: InstallConfig, repo: string, version: string, testPatch: string, workdir = "/testbed"): TestSpec | string {
  const named: Record<string, TestFormat> = { parse_log_pytest: "pytest", parse_log_pytest_options: "pytest-options", parse_log_pytest_v2: "pytest-v2" };
  const parser = cfg.log_parser ?? "parse_log_pytest";
  const format = named[parser] ?? specFile().repos[parser]?.parser;
  if (!format) return `install_config.log_parser ${parser} is not a reader Troupe has (${[...Object.keys(named), ...specRepos()].join(", ")})`;
  const test = Array.isArray(cfg.test_cmd) ? cfg.test_cmd.at(-1)! : cfg.test_cmd;
  return assemble({ repo, version, format, test, install: cfg.install, env: cfg.eval_commands, args: testDirectives(testPatch, "files") }, workdir);
}

/** SWE-smith's default for Python repositories: pytest, verbose, on the FAIL_TO_PASS tests' files. */
export function smithSpec(repo: string, failToPass: string[], workdir = "/testbed"): TestSpec {
  const files = [...new Set(failToPass.map((id) => id.split("::")[0]))];
  return assemble({ repo, version: "", format: "pytest-verbose", test: "pytest --disable-warnings --color=no --tb=no --verbose", args: files }, workdir);
}

/**
 * The runner's arguments, from the files the test patch touches (`diff --git a/… b/<file>`),
 * data files left out: paths for pytest and sympy; for Django, module labels under tests/
 * (`tests/auth_tests/test_views.py` -> `auth_tests.test_views`).
 */
export function testDirectives(testPatch: string, style: "files" | "django-modules"): string[] {
  const files = [...testPatch.matchAll(/diff --git a\/.* b\/(.*)/g)].map((m) => m[1]).filter((f) => !NOT_TESTS.some((ext) => f.endsWith(ext)));
  if (style === "files") return files;
  return files.map((f) => (f.endsWith(".py") ? f.slice(0, -3) : f).replace(/^tests\//, "").replaceAll("/", "."));
}

/** Packaging and compiled sources: a patch touching one changes what an install produces. */
const BUILD_INPUTS = /(^|\/)(setup\.py|setup\.cfg|pyproject\.toml|MANIFEST\.in)$|\.(pyx|pxd|c|cc|cpp|h)$/;

/**
 * Whether the harness's install step must run before the tests, offline. The official images
 * hold the repository installed; an editable install (`-e`, `develop`) already runs the source
 * tree, so repeating it changes nothing unless the patch touches packaging or compiled sources.
 * Any other install copies the code, and must be repeated for the patch to be what is tested.
 */
export function installNeeded(install: string, patchedFiles: string[]): boolean {
  const editable = /\s(-e|--editable)\s|\sdevelop\b/.test(` ${install} `);
  return !editable || patchedFiles.some((f) => BUILD_INPUTS.test(f));
}
