// What a running actor method can learn about the call it serves: its cancellation signal,
// deadline and trace context. Read with currentCall() from inside the method.
import { AsyncLocalStorage } from "node:async_hooks";

export interface CallContext {
  method: string;
  /** Aborted when the caller cancels or the deadline passes. */
  signal: AbortSignal;
  /** Epoch milliseconds, 0 when the call has none. */
  deadline: number;
  traceparent?: string;
}

export const callStorage = new AsyncLocalStorage<CallContext>();

export function currentCall(): CallContext | undefined {
  return callStorage.getStore();
}
