// SWE-bench and R2E-Gym rows in JSONL or Parquet (as the hub stores datasets), validated with
// zod. A malformed row is reported with its line (or row) number and field and skipped; the
// other rows still load.
import { readFileSync } from "node:fs";
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet";
import { z } from "zod";
import { TaskFormatError } from "../errors.js";
import { shellQuote } from "../sandbox/index.js";
import type { Task } from "./task.js";
import { testSpec } from "./test-specs.js";

/** A JSON list, or a string holding one (SWE-bench stores FAIL_TO_PASS as a JSON string). */
const testList = z.union([z.array(z.string()), z.string().transform((s, ctx) => {
  try {
    const v = JSON.parse(s);
    if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
  } catch { /* reported below */ }
  ctx.addIssue({ code: "custom", message: "expected a JSON list of test ids" });
  return z.NEVER;
})]);

export const SweBenchRow = z.object({
  instance_id: z.string().min(1),
  repo: z.string().min(1),
  base_commit: z.string().min(1),
  patch: z.string(),
  test_patch: z.string().min(1),
  problem_statement: z.string().min(1),
  hints_text: z.string().optional(),
  version: z.union([z.string(), z.number()]).optional(),
  FAIL_TO_PASS: testList,
  PASS_TO_PASS: testList,
  image_name: z.string().optional(),
  docker_image: z.string().optional(),
  test_command: z.string().optional(),
});

export const R2EGymRow = z.object({
  docker_image: z.string().min(1),
  problem_statement: z.string().min(1),
  expected_output_json: z.union([z.record(z.string(), z.string()), z.string().transform((s, ctx) => {
    try {
      return z.record(z.string(), z.string()).parse(JSON.parse(s));
    } catch {
      ctx.addIssue({ code: "custom", message: "expected a JSON object of test name -> status" });
      return z.NEVER;
    }
  })]),
  instance_id: z.string().optional(),
  repo_name: z.string().optional(),
  commit_hash: z.string().optional(),
  test_command: z.string().optional(),
});

export interface RowOptions {
  /** Image name for SWE-bench rows without one; `{instance_id}` and `{id_docker}` are replaced. */
  imageTemplate?: string;
}

export const DEFAULT_SWEBENCH_IMAGE = "swebench/sweb.eval.x86_64.{id_docker}:latest";

export interface LoadResult {
  tasks: Task[];
  errors: TaskFormatError[];
}

/** Loads a JSONL file of SWE-bench or R2E-Gym rows (each row's kind is recognised by its fields). */
export function loadJsonl(file: string, opts: RowOptions = {}): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new TaskFormatError(file, "", `cannot read: ${(e as Error).message}`);
  }
  const out: LoadResult = { tasks: [], errors: [] };
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    const where = `${file}:${i + 1}`;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (e) {
      out.errors.push(new TaskFormatError(where, "", `not JSON: ${(e as Error).message}`));
      return;
    }
    addRow(out, row, where, opts);
  });
  return out;
}

/**
 * Loads a Parquet file of the same rows, read by hyparquet (JavaScript only, no native code).
 * 64-bit integers come back as numbers, as JSON would have them.
 */
export async function loadParquet(file: string, opts: RowOptions = {}): Promise<LoadResult> {
  let rows: Record<string, unknown>[];
  try {
    rows = await parquetReadObjects({ file: await asyncBufferFromFile(file) });
  } catch (e) {
    throw new TaskFormatError(file, "", `cannot read as Parquet: ${(e as Error).message}`);
  }
  const out: LoadResult = { tasks: [], errors: [] };
  rows.forEach((row, i) => {
    const plain = Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === "bigint" ? Number(v) : v]));
    addRow(out, plain, `${file}: row ${i + 1}`, opts);
  });
  return out;
}

function addRow(out: LoadResult, row: unknown, where: string, opts: RowOptions): void {
  try {
    out.tasks.push(rowToTask(row, where, opts));
  } catch (e) {
    out.errors.push(e as TaskFormatError);
  }
}

export function rowToTask(row: unknown, where: string, opts: RowOptions = {}): Task {
  const isR2E = typeof row === "object" && row !== null && "expected_output_json" in row;
  const parsed = (isR2E ? R2EGymRow : SweBenchRow).safeParse(row);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TaskFormatError(where, issue.path.join("."), issue.message);
  }
  if (isR2E) {
    const r = parsed.data as z.infer<typeof R2EGymRow>;
    const expected = r.expected_output_json;
    return {
      id: r.instance_id ?? r.docker_image,
      image: r.docker_image,
      problemStatement: r.problem_statement,
      workdir: "/testbed",
      baseCommit: r.commit_hash,
      testPatch: "",
      // R2E-Gym keeps its hidden tests in the image and expects every listed test's status
      // (failing ones included); the passing ones also rank candidates for best-of-k.
      failToPass: [],
      passToPass: Object.keys(expected).filter((k) => expected[k] === "PASSED"),
      expectedStatuses: expected,
      testCommand: r.test_command ?? "bash run_tests.sh",
      testFormat: "r2e-gym",
    };
  }
  const s = parsed.data as z.infer<typeof SweBenchRow>;
  const idDocker = s.instance_id.replace(/__/g, "_1776_").toLowerCase();
  const template = opts.imageTemplate ?? DEFAULT_SWEBENCH_IMAGE;
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
  // No command in the row: the harness's own, chosen by repository and version.
  if (s.version === undefined) throw new TaskFormatError(where, "version", "missing: SWE-bench's test command is chosen by repo and version (or give the row a test_command)");
  const version = typeof s.version === "number" && Number.isInteger(s.version) ? s.version.toFixed(1) : String(s.version);
  const spec = testSpec(s.repo, version, s.test_patch, task.workdir);
  if (typeof spec === "string") throw new TaskFormatError(where, "repo", spec);
  return {
    ...task, testCommand: spec.command, testFormat: spec.format,
    install: spec.install ? { step: spec.install, command: `bash -c ${shellQuote(`${spec.activate} && cd ${task.workdir} && ${spec.install}`)} 2>&1` } : undefined,
  };
}
