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
  /** What the harness re-installs before the tests (see `installNeeded`). */
  install?: string;
  /** The same activation, for running the install step on its own. */
  activate: string;
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

/**
 * The test specification of `repo` at `version` for a task whose hidden tests are `testPatch`,
 * or a sentence saying why there is none.
 */
export function testSpec(repo: string, version: string, testPatch: string, workdir = "/testbed"): TestSpec | string {
  const file = specFile();
  const r = file.repos[repo];
  if (!r) return `no test specification for repository ${repo} (SWE-bench's are ${specRepos().join(", ")}); give the row a test_command`;
  const s = r.specs.find((x) => x.versions.includes(version));
  if (!s) return `no test specification for ${repo} version ${version} (known: ${r.specs.flatMap((x) => x.versions).join(", ")})`;
  const directives = testDirectives(testPatch, r.directives);
  const lines = [
    `${file.activate} || { echo "troupe: cannot activate the testbed environment: ${file.activate}"; exit 1; }`,
    `cd ${shellQuote(workdir)}`,
    ...(s.env ?? []),
    [s.test, ...directives.map(shellQuote)].join(" "),
  ];
  return { repo, version, format: r.parser, command: `bash -c ${shellQuote(lines.join("\n"))} 2>&1`, install: s.install, activate: file.activate };
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
