// Actor handles: typed proxies whose every method returns a Promise of the remote result.
import { ActorRef } from "./codec.js";
import type { CallOptions } from "./caller.js";

type AnyFn = (...a: any[]) => any;

/** What a remote method returns: a Promise of its awaited result (streams stay AsyncIterable). */
type Remote<F> = F extends (...a: infer A) => infer R
  ? (...a: A) => Promise<R extends AsyncIterable<infer I> ? AsyncIterable<I> : Awaited<R>>
  : never;

export type ActorHandle<T> = {
  [K in keyof T as T[K] extends AnyFn ? K : never]: Remote<T[K]>;
} & {
  /** The actor's cluster-wide id. */
  readonly actorId: string;
  readonly name?: string;
  /** The same handle with per-call options (timeout, cancellation). */
  $with(opts: CallOptions): ActorHandle<T>;
};

export interface HandleBackend {
  call(ref: ActorRef, method: string, args: unknown[], opts: CallOptions): Promise<unknown>;
}

const META = new Set(["actorId", "name", "maxTaskRetries"]);

export function makeHandle<T>(ref: ActorRef, backend: HandleBackend, opts: CallOptions = {}): ActorHandle<T> {
  const methods = new Map<string, AnyFn>();
  return new Proxy(ref, {
    get(target, prop) {
      if (typeof prop === "symbol") return (target as any)[prop];
      if (prop === "constructor") return ActorRef;
      if (META.has(prop)) return (target as any)[prop];
      // Not a thenable: handles are returned from async functions and must not be awaited into.
      if (prop === "then") return undefined;
      if (prop === "$with") return (o: CallOptions) => makeHandle<T>(ref, backend, { ...opts, ...o });
      if (prop === "toJSON") return () => ({ actorId: ref.actorId, name: ref.name });
      let fn = methods.get(prop);
      if (!fn) {
        fn = (...args: unknown[]) => backend.call(ref, prop, args, opts);
        methods.set(prop, fn);
      }
      return fn;
    },
  }) as unknown as ActorHandle<T>;
}
