// A task, whatever it came from (SWE-bench row, R2E-Gym row, local task folder).
import type { TestFormat } from "../reward/index.js";

export interface Task {
  id: string;
  /** Docker image of the task's sandbox (repository at `workdir`, base state). */
  image: string;
  problemStatement: string;
  /** Where the repository lives in the image. */
  workdir: string;
  /** Commit of the base state, when known (else HEAD of the image's repository). */
  baseCommit?: string;
  /** The reference fix (validation: it must score 1). */
  goldPatch?: string;
  /**
   * Applied and committed in every fresh sandbox of the task before anything else (SWE-smith:
   * the patch that puts the bug in): the base state is the image plus this.
   */
  setupPatch?: string;
  /**
   * Paths the image keeps that the agent must not see (R2E-Gym's /r2e_tests and run_tests.sh):
   * taken out of each fresh sandbox, kept by Troupe outside it, put back just before the tests.
   */
  hiddenPaths?: string[];
  /** Never part of the agent's diff (added to the repository's .git/info/exclude). */
  ignorePaths?: string[];
  /** Hidden tests, applied only at reward time. */
  testPatch: string;
  failToPass: string[];
  passToPass: string[];
  /**
   * Files written into the sandbox just before the test command (absolute path -> content,
   * base64): the harness's own scripts (SWE-bench Pro's run_script.sh and parser.py, Harbor's
   * tests/), which the agent never sees.
   */
  testFiles?: Record<string, string>;
  /**
   * How a listed test counts as passed: as SWE-bench's harness grades (the default), or only
   * with the status PASSED (SWE-bench Pro's rule).
   */
  passRule?: "harness" | "passed-only";
  /** Run after the hidden tests are back; its output is the log `testFormat` reads. */
  testCommand: string;
  testFormat: TestFormat;
  /**
   * SWE-bench: the install step its harness repeats before the tests (`step`), and the command
   * that runs it in the testbed environment. Run offline only when needed (see installNeeded).
   */
  install?: { step: string; command: string };
  /**
   * R2E-Gym: every test's expected status. The reward is 1 only when the run reports exactly
   * these tests (as many, none missing) with exactly these statuses.
   */
  expectedStatuses?: Record<string, string>;
  split?: string;
  /** Harbor: the Docker build context (a Dockerfile and its files) the image is built from. */
  buildContext?: string;
  /**
   * The reference solution as a script (Harbor's solution/), where there is no gold patch: its
   * files (absolute path -> base64) are written and `command` is run.
   */
  solution?: { files: Record<string, string>; command: string };
  /** The time limit of the test command, where the task sets one (else the run's). */
  testTimeoutSec?: number;
  /** Local task folders: where the image is built from (see images.ts). */
  folder?: LocalTaskSource;
}

export interface LocalTaskSource {
  /** The task folder. */
  dir: string;
  /** The repository folder (its base state, or the state `basePatch` turns into the base). */
  repoDir: string;
  /** A patch applied to repoDir to reach the base state (lets tasks share one repository). */
  basePatch?: string;
  /** The image it builds on. */
  baseImage: string;
}
