// Typed errors of the runtime. Errors cross process boundaries as plain data
// (class name, code, message, stack, cause) and are raised again on the caller
// as one of the classes below, so callers can branch with `instanceof`.

export interface ErrorData {
  name: string;
  code?: string;
  message: string;
  stack?: string;
  cause?: ErrorData;
  data?: unknown;
}

export class TroupeError extends Error {
  code: string = "TROUPE_ERROR";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The actor's process died while the call was in flight, or the actor is permanently dead. */
export class ActorDiedError extends TroupeError {
  override code = "ACTOR_DIED";
}
/** Nobody serves the actor right now (not yet started, restarting past the deadline, partitioned). */
export class ActorUnavailableError extends TroupeError {
  override code = "ACTOR_UNAVAILABLE";
}
/** The call's deadline passed before a reply arrived. */
export class CallTimeoutError extends TroupeError {
  override code = "CALL_TIMEOUT";
}
/** The call was cancelled by its caller (AbortSignal). */
export class CallCancelledError extends TroupeError {
  override code = "CALL_CANCELLED";
}
/** The actor's mailbox is full (maxPendingCalls): back off and retry. */
export class PendingCallsLimitError extends TroupeError {
  override code = "PENDING_CALLS_LIMIT";
}
/** No node of the cluster can ever satisfy the demand. */
export class UnschedulableError extends TroupeError {
  override code = "UNSCHEDULABLE";
}
/** A bad configuration or argument given to the runtime. */
export class ConfigError extends TroupeError {
  override code = "CONFIG";
}
/** A one-to-many bulk transfer (runtime/broadcast.ts) lost a chunk, was aborted or went silent. */
export class BroadcastError extends TroupeError {
  override code = "BROADCAST";
}
/** The remote method threw. `remote` keeps the original class name, code, stack and cause. */
export class RemoteMethodError extends TroupeError {
  override code = "REMOTE_METHOD";
  remote: ErrorData;
  constructor(remote: ErrorData) {
    super(`${remote.name}: ${remote.message}`, { cause: remote.cause ? fromErrorData(remote.cause) : undefined });
    this.remote = remote;
    if (remote.stack) this.stack = `${this.name}: ${this.message}\n--- remote stack ---\n${remote.stack}`;
  }
}

const TYPED: Record<string, new (message: string, options?: { cause?: unknown }) => TroupeError> = {
  ActorDiedError,
  ActorUnavailableError,
  CallTimeoutError,
  CallCancelledError,
  PendingCallsLimitError,
  UnschedulableError,
  ConfigError,
  BroadcastError,
};

/** Turns any thrown value into plain data that msgpack can carry. Depth-limited causes. */
export function toErrorData(err: unknown, depth = 0): ErrorData {
  if (err instanceof RemoteMethodError) return err.remote;
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; cause?: unknown };
    const out: ErrorData = { name: e.name || e.constructor?.name || "Error", message: e.message, stack: e.stack };
    if (e.code !== undefined) out.code = String(e.code);
    if (e.cause !== undefined && depth < 8) out.cause = toErrorData(e.cause, depth + 1);
    return out;
  }
  return { name: "NonError", message: typeof err === "string" ? err : safeString(err) };
}

function safeString(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/**
 * Raises data received from a remote side again. The runtime's own typed errors come back as
 * their class (an actor that called another actor which died surfaces ActorDiedError, not a
 * generic wrapper); anything else becomes RemoteMethodError.
 */
export function fromErrorData(d: ErrorData): Error {
  const Typed = TYPED[d.name];
  if (Typed) {
    const e = new Typed(d.message, d.cause ? { cause: fromErrorData(d.cause) } : undefined);
    if (d.stack) e.stack = d.stack;
    return e;
  }
  return new RemoteMethodError(d);
}
