// Harbor task folders (the Terminal-Bench successor's format): task.toml (settings),
// instruction.md (the prompt), environment/ (a Dockerfile and its build context: the agent's
// starting state; or a prebuilt image named by [environment] docker_image), tests/ (the verifier: test.sh writes a reward to /logs/verifier/reward.txt
// or reward.json) and solution/ (the oracle: solve.sh). The verifier is uploaded to /tests only
// at scoring time; the reward is 1 when the verifier's is 1 or more.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { parse as parseToml } from "smol-toml";
import { TaskFormatError } from "../errors.js";
import { RESULTS_MARKER } from "../reward/index.js";
import { shellQuote } from "../sandbox/index.js";
import { listFiles } from "./folder.js";
import type { Task } from "./task.js";

/** True when `dir` is a Harbor task folder. */
export function isHarborTask(dir: string): boolean {
  return existsSync(join(dir, "task.toml")) && existsSync(join(dir, "instruction.md"));
}

/** Every file below `dir`, as `prefix/<relative path>` -> base64. */
function filesUnder(dir: string, prefix: string): Record<string, string> {
  return Object.fromEntries(listFiles(dir).map((f) => [`${prefix}/${f}`, readFileSync(join(dir, f)).toString("base64")]));
}

/** The instruction without its leading canary lines (markers that keep it out of training corpora). */
function instruction(text: string): string {
  const lines = text.split("\n");
  while (lines.length && /canary/i.test(lines[0]) && /^\s*(<!--|#)/.test(lines[0])) lines.shift();
  return lines.join("\n").trim();
}

export function loadHarborTask(dir: string): Task {
  const where = join(dir, "task.toml");
  let toml: Record<string, unknown>;
  try {
    toml = parseToml(readFileSync(where, "utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new TaskFormatError(where, "", `not TOML: ${(e as Error).message.split("\n")[0]}`);
  }
  const env = join(dir, "environment");
  const dockerfile = join(env, "Dockerfile");
  // A prebuilt image named in task.toml stands in for a Dockerfile (it is pulled like a row's).
  const prebuilt = stringAt(toml, ["environment", "docker_image"]);
  if (!existsSync(dockerfile) && !prebuilt) {
    throw new TaskFormatError(dir, "environment", existsSync(join(env, "docker-compose.yaml"))
      ? "a docker-compose environment is not supported (only environment/Dockerfile or [environment] docker_image)"
      : "environment/Dockerfile is missing (and task.toml names no [environment] docker_image)");
  }
  const test = join(dir, "tests", "test.sh");
  if (!existsSync(test)) throw new TaskFormatError(dir, "tests", "tests/test.sh is missing");
  const id = basename(dir);
  const built = existsSync(dockerfile);
  const hash = createHash("sha256");
  if (built) for (const f of listFiles(env)) hash.update(f).update("\0").update(readFileSync(join(env, f))).update("\0");
  // The agent works where the Dockerfile's last WORKDIR leaves it (or where task.toml says).
  const workdirs = built ? [...readFileSync(dockerfile, "utf8").matchAll(/^\s*WORKDIR\s+(\/\S*)\s*$/gim)] : [];
  const workdir = stringAt(toml, ["environment", "workdir"]) ?? workdirs.at(-1)?.[1] ?? "/";
  const solution = join(dir, "solution");
  const hasSolution = existsSync(join(solution, "solve.sh")) && statSync(solution).isDirectory();
  const verifier = [
    "rm -rf /logs/verifier && mkdir -p /logs/verifier",
    "bash /tests/test.sh > /logs/verifier/test-output.txt 2>&1",
    "cat /logs/verifier/test-output.txt",
    `echo ${shellQuote(RESULTS_MARKER)}`,
    "cat /logs/verifier/reward.txt 2>/dev/null || cat /logs/verifier/reward.json 2>/dev/null",
  ].join("\n");
  return {
    id,
    image: built ? `troupe-harbor-${id.toLowerCase().replace(/[^a-z0-9_.-]/g, "-")}:${hash.digest("hex").slice(0, 16)}` : prebuilt!,
    problemStatement: instruction(readFileSync(join(dir, "instruction.md"), "utf8")),
    workdir,
    buildContext: built ? env : undefined,
    testPatch: "",
    failToPass: ["reward"],
    passToPass: [],
    testFiles: filesUnder(join(dir, "tests"), "/tests"),
    testCommand: `bash -c ${shellQuote(verifier)}`,
    testFormat: "harbor",
    solution: hasSolution ? { files: filesUnder(solution, "/solution"), command: "bash /solution/solve.sh" } : undefined,
    testTimeoutSec: numberAt(toml, ["verifier", "timeout_sec"]),
  };
}

function valueAt(o: Record<string, unknown>, path: string[]): unknown {
  let v: unknown = o;
  for (const k of path) v = typeof v === "object" && v !== null ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

function numberAt(o: Record<string, unknown>, path: string[]): number | undefined {
  const v = valueAt(o, path);
  return typeof v === "number" && v > 0 ? v : undefined;
}

function stringAt(o: Record<string, unknown>, path: string[]): string | undefined {
  const v = valueAt(o, path);
  return typeof v === "string" && v ? v : undefined;
}
