// Errors of the environment layer. Each names what went wrong and where, so that a person
// can act on it (install Docker, fix line 12 of a task file, …).

export class EnvError extends Error {
  code = "ENV_ERROR";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** No sandbox backend can run here (no Docker daemon answers, no bubblewrap). */
export class SandboxUnavailableError extends EnvError {
  override code = "SANDBOX_UNAVAILABLE";
}

/** The sandbox's shell or container is gone or stopped answering; the sandbox is unusable. */
export class SandboxBrokenError extends EnvError {
  override code = "SANDBOX_BROKEN";
}

/**
 * The sandbox no longer works because of what ran in it (the agent removed its shell, its
 * binaries, its file system): the agent's doing, not an infrastructure failure.
 */
export class SandboxDestroyedError extends EnvError {
  override code = "SANDBOX_DESTROYED";
}

/** The sandbox was stopped from outside (its container killed or removed): an infrastructure failure. */
export class SandboxLostError extends EnvError {
  override code = "SANDBOX_LOST";
}

/** A task row or task folder is malformed; `where` is "file:line" or a folder, `field` the bad field. */
export class TaskFormatError extends EnvError {
  override code = "TASK_FORMAT";
  constructor(readonly where: string, readonly field: string, detail: string) {
    super(`${where}: ${field ? `field '${field}': ` : ""}${detail}`);
  }
}

/** An image could not be built (base file system, task image). */
export class ImageBuildError extends EnvError {
  override code = "IMAGE_BUILD";
}

/** A task's base state could not be made in a fresh sandbox (its setup patch does not apply). */
export class TaskSetupError extends EnvError {
  override code = "TASK_SETUP";
}

/** Images could not be pulled; the message names each one and why. */
export class ImagePullError extends EnvError {
  override code = "IMAGE_PULL";
}
