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
  /** Hidden tests, applied only at reward time. */
  testPatch: string;
  failToPass: string[];
  passToPass: string[];
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
