// What the native worker's client throws.

/** The worker answered a request with an error; it is still serving. */
export class WorkerError extends Error {
  override name = "WorkerError";
  constructor(readonly code: string, readonly op: string, message: string) {
    super(`${op}: ${message} [${code}]`);
  }
}

/** The worker process exited (crashed, killed, out of memory); `restart()` starts a new one. */
export class WorkerCrashedError extends Error {
  override name = "WorkerCrashedError";
  constructor(message: string, readonly exitCode: number | null, readonly signal: string | null) {
    super(message);
  }
}
