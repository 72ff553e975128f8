// The rows of each dataset family, validated with zod and made into tasks, each as its own
// harness runs it:
// - SWE-bench (and SWE-Gym, SWE-bench-extra …): the harness's specification for the row's
//   repository and version (swe-bench-specs.json), or the row's own test_command;
// - SWE-rebench: its `install_config` (test command, install step, reader);
// - SWE-smith: no base commit and no test patch: the image holds the repository clean, the
//   row's `patch` puts the bug in, its reverse is the fix, and the tests are already there;
// - R2E-Gym: tests kept in the image, every expected status matched exactly;
// - SWE-bench Pro: per-instance run_script.sh and parser.py (its run_scripts/ folder, beside the
//   rows file), tests restored by the row's before_repo_set_cmd, every listed test PASSED.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { TaskFormatError } from "../errors.js";
import { RESULTS_MARKER } from "../reward/index.js";
import { shellQuote } from "../sandbox/index.js";
import { reverseDiff } from "./reverse-diff.js";
import type { Task } from "./task.js";
import { rebenchSpec, smithSpec, testSpec, type TestSpec } from "./test-specs.js";

/** A JSON value, or a string holding one (the hub stores lists and objects as JSON strings). */
function jsonOr<T extends z.ZodTypeAny>(schema: T, what: string) {
  return z.union([schema, z.string().transform((s, ctx) => {
    try {
      const v = schema.safeParse(JSON.parse(s));
      if (v.success) return v.data as z.infer<T>;
    } catch { /* reported below */ }
    ctx.addIssue({ code: "custom", message: `expected ${what}` });
    return z.NEVER;
  })]);
}

const testList = jsonOr(z.array(z.string()), "a JSON list of test ids");

const InstallConfig = z.object({
  test_cmd: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  log_parser: z.string().optional(),
  install: z.string().nullish().transform((v) => v ?? undefined),
  eval_commands: z.array(z.string()).nullish().transform((v) => v ?? undefined),
}).passthrough();

export const SweBenchRow = z.object({
  instance_id: z.string().min(1),
  repo: z.string().min(1),
  base_commit: z.string().min(1),
  patch: z.string(),
  test_patch: z.string().min(1),
  problem_statement: z.string().min(1),
  hints_text: z.string().nullish(),
  version: z.union([z.string(), z.number()]).optional(),
  FAIL_TO_PASS: testList,
  PASS_TO_PASS: testList,
  image_name: z.string().optional(),
  docker_image: z.string().optional(),
  test_command: z.string().optional(),
  install_config: jsonOr(InstallConfig, "SWE-rebench's install_config object (test_cmd, log_parser …)").optional(),
});

export const SweSmithRow = z.object({
  instance_id: z.string().min(1),
  repo: z.string().min(1),
  image_name: z.string().min(1),
  patch: z.string().min(1),
  problem_statement: z.string().min(1),
  FAIL_TO_PASS: testList.refine((l) => l.length > 0, "no FAIL_TO_PASS test"),
  PASS_TO_PASS: testList,
});

export const R2EGymRow = z.object({
  docker_image: z.string().min(1),
  problem_statement: z.string().min(1),
  expected_output_json: jsonOr(z.record(z.string(), z.string()), "a JSON object of test name -> status"),
  instance_id: z.string().optional(),
  repo_name: z.string().optional(),
  commit_hash: z.string().optional(),
  test_command: z.string().optional(),
  /** Not in R2E-Gym's rows (they carry the commit as parsed JSON): a fix, where a row has one. */
  patch: z.string().optional(),
});

export const SweBenchProRow = z.object({
  instance_id: z.string().min(1),
  repo: z.string().min(1),
  base_commit: z.string().min(1),
  patch: z.string(),
  problem_statement: z.string().min(1),
  requirements: z.string().nullish(),
  interface: z.string().nullish(),
  fail_to_pass: testList,
  pass_to_pass: testList,
  before_repo_set_cmd: z.string().min(1),
  selected_test_files_to_run: testList,
  dockerhub_tag: z.string().optional(),
  image_name: z.string().optional(),
});

export interface RowOptions {
  /** Image name for SWE-bench rows without one; `{instance_id}` and `{id_docker}` are replaced. */
  imageTemplate?: string;
  /** The rows file's folder: SWE-bench Pro's run_scripts/ is looked for there. */
  rowsDir?: string;
}

export const DEFAULT_SWEBENCH_IMAGE = "swebench/sweb.eval.x86_64.{id_docker}:latest";
/** SWE-rebench publishes its images under its own namespace, named as SWE-bench names them. */
export const DEFAULT_REBENCH_IMAGE = "swerebench/sweb.eval.x86_64.{id_docker}:latest";

/** SWE-bench Pro's images on Docker Hub. */
export const SWEBENCH_PRO_IMAGES = "jefzda/sweap-images";

type Kind = "r2e-gym" | "swe-smith" | "swe-bench-pro" | "swe-bench";

/** Which family a row belongs to, from the fields only it has. */
function kindOf(row: object): Kind {
  if ("expected_output_json" in row) return "r2e-gym";
  if ("before_repo_set_cmd" in row) return "swe-bench-pro";
  if ("image_name" in row && !("base_commit" in row) && !("test_patch" in row)) return "swe-smith";
  return "swe-bench";
}

function parse<T extends z.ZodTypeAny>(schema: T, row: unknown, where: string): z.infer<T> {
  const parsed = schema.safeParse(row);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new TaskFormatError(where, issue.path.join("."), issue.message);
}

export function rowToTask(row: unknown, where: string, opts: RowOptions = {}): Task {
  if (typeof row !== "object" || row === null) throw new TaskFormatError(where, "", "a row must be a JSON object");
  const kind = kindOf(row);
  if (kind === "r2e-gym") return r2eTask(parse(R2EGymRow, row, where));
  if (kind === "swe-smith") return smithTask(parse(SweSmithRow, row, where), where);
  if (kind === "swe-bench-pro") return proTask(parse(SweBenchProRow, row, where), where, opts);
  return sweBenchTask(parse(SweBenchRow, row, where), where, opts);
}

function r2eTask(r: z.infer<typeof R2EGymRow>): Task {
  const expected = r.expected_output_json;
  return {
    id: r.instance_id ?? r.docker_image,
    image: r.docker_image,
    problemStatement: r.problem_statement,
    workdir: "/testbed",
    baseCommit: r.commit_hash,
    goldPatch: r.patch,
    testPatch: "",
    // R2E-Gym's images keep the hidden tests in /r2e_tests and their runner in the repository
    // (run_tests.sh, which runs `r2e_tests` from /testbed): kept from the agent, and put back
    // for the tests as R2E-Gym links them. Every expected status must come out exactly; the
    // passing ones also rank candidates for best-of-k.
    hiddenPaths: ["/r2e_tests", "/testbed/r2e_tests", "/testbed/run_tests.sh"],
    ignorePaths: [".venv", "r2e_tests", "run_tests.sh"],
    failToPass: [],
    passToPass: Object.keys(expected).filter((k) => expected[k] === "PASSED"),
    expectedStatuses: expected,
    testCommand: r.test_command ?? "{ [ -e r2e_tests ] || ln -s /r2e_tests r2e_tests; } && bash run_tests.sh",
    testFormat: "r2e-gym",
  };
}

function smithTask(r: z.infer<typeof SweSmithRow>, where: string): Task {
  const workdir = "/testbed";
  return {
    id: r.instance_id,
    image: r.image_name,
    problemStatement: r.problem_statement,
    workdir,
    setupPatch: r.patch,
    goldPatch: reverseDiff(r.patch, `${where}: patch`),
    testPatch: "",
    failToPass: r.FAIL_TO_PASS,
    passToPass: r.PASS_TO_PASS,
    ...fromSpec(smithSpec(r.repo, r.FAIL_TO_PASS, workdir)),
  };
}

function proTask(r: z.infer<typeof SweBenchProRow>, where: string, opts: RowOptions): Task {
  const dir = join(opts.rowsDir ?? ".", "run_scripts", r.instance_id);
  const script = (name: string) => {
    const file = join(dir, name);
    if (!existsSync(file)) {
      throw new TaskFormatError(where, "instance_id", `SWE-bench Pro scores with the instance's own ${file} (from scaleapi/SWE-bench_Pro-os's run_scripts/, put beside the rows file)`);
    }
    return readFileSync(file).toString("base64");
  };
  // The harness's entry script: the tests put back by the row's last set-up line, the instance's
  // run script on the selected files, its parser's verdicts printed after a marker.
  const restoreTests = r.before_repo_set_cmd.trim().split("\n").at(-1)!;
  const command = [
    "cd /app", restoreTests,
    `bash /workspace/run_script.sh ${shellQuote(r.selected_test_files_to_run.join(","))} > /workspace/stdout.log 2> /workspace/stderr.log`,
    "python /workspace/parser.py /workspace/stdout.log /workspace/stderr.log /workspace/output.json",
    `echo ${shellQuote(RESULTS_MARKER)}`, "cat /workspace/output.json",
  ].join("\n");
  const tag = r.dockerhub_tag ?? `${r.repo.toLowerCase().replace("/", ".")}-${r.instance_id.replace(/^instance_/, "")}`;
  return {
    id: r.instance_id,
    image: r.image_name ?? `${SWEBENCH_PRO_IMAGES}:${tag}`,
    // As SWE-bench Pro's agents are prompted: the issue, then its requirements and the interface to provide.
    problemStatement: [r.problem_statement, r.requirements && `Requirements:\n${r.requirements}`, r.interface && `New interfaces introduced:\n${r.interface}`].filter(Boolean).join("\n\n"),
    workdir: "/app",
    baseCommit: r.base_commit,
    goldPatch: r.patch,
    testPatch: "",
    failToPass: r.fail_to_pass,
    passToPass: r.pass_to_pass,
    testFiles: { "/workspace/run_script.sh": script("run_script.sh"), "/workspace/parser.py": script("parser.py") },
    testCommand: `bash -c ${shellQuote(command)}`,
    testFormat: "swe-bench-pro",
    passRule: "passed-only",
  };
}

function sweBenchTask(s: z.infer<typeof SweBenchRow>, where: string, opts: RowOptions): Task {
  const idDocker = s.instance_id.replace(/__/g, "_1776_").toLowerCase();
  const template = opts.imageTemplate ?? (s.install_config ? DEFAULT_REBENCH_IMAGE : DEFAULT_SWEBENCH_IMAGE);
  const task: Task = {
    id: s.instance_id,
    image: s.image_name ?? s.docker_image ?? template.replace("{instance_id}", s.instance_id).replace("{id_docker}", idDocker),
    problemStatement: s.problem_statement,
    workdir: "/testbed",
    baseCommit: s.base_commit,
    goldPatch: s.patch,
    testPatch: s.test_patch,
    failToPass: s.FAIL_TO_PASS,
    passToPass: s.PASS_TO_PASS,
    testCommand: s.test_command ?? "",
    testFormat: "pytest",
  };
  if (s.test_command) return task;
  const version = s.version === undefined ? undefined
    : typeof s.version === "number" && Number.isInteger(s.version) ? s.version.toFixed(1) : String(s.version);
  let spec: TestSpec | string;
  if (s.install_config) spec = rebenchSpec(s.install_config, s.repo, version ?? "", s.test_patch, task.workdir);
  else if (version === undefined) throw new TaskFormatError(where, "version", "missing: SWE-bench's test command is chosen by repo and version (or give the row a test_command)");
  else spec = testSpec(s.repo, version, s.test_patch, task.workdir);
  if (typeof spec === "string") throw new TaskFormatError(where, s.install_config ? "install_config" : "repo", spec);
  return { ...task, ...fromSpec(spec) };
}

/** A specification's share of a task: the test command, its reader and the install step. */
function fromSpec(spec: TestSpec): Pick<Task, "testCommand" | "testFormat" | "install"> {
  return { testCommand: spec.command, testFormat: spec.format, install: spec.install };
}
