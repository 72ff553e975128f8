// What travels to the head to create actors and placement groups, validated with zod so a
// bad option fails at the call site with the field named.
import { z } from "zod";
import { ConfigError } from "./errors.js";
import { STRATEGIES } from "./scheduler.js";

const resources = z.record(z.string(), z.number().finite().nonnegative());

export const ActorOptionsSchema = z.strictObject({
  /** Resources reserved while the actor lives; default none (an actor is mostly idle). */
  resources: resources.optional(),
  /** Registers the actor under a cluster-wide name (getActor(name)). */
  name: z.string().regex(/^[\w.-]{1,200}$/, "letters, digits, '_', '.', '-'").optional(),
  /** Restarts after its process dies: 0 = never (default), -1 = forever. */
  maxRestarts: z.number().int().min(-1).default(0),
  /** Re-sends of a call whose actor died while it was in flight (at-most-once by default). */
  maxTaskRetries: z.number().int().min(-1).default(0),
  maxConcurrency: z.number().int().positive().default(1),
  /** Waiting calls beyond which new calls fail with PendingCallsLimitError; 0 = unlimited. */
  maxPendingCalls: z.number().int().nonnegative().default(0),
  /** "shared": a host process shared with other light actors; "dedicated": its own process. */
  process: z.enum(["shared", "dedicated"]).optional(),
  placement: z
    .strictObject({ group: z.string(), bundleIndex: z.number().int().nonnegative().optional() })
    .optional(),
  affinity: z.strictObject({ nodeId: z.string(), soft: z.boolean().optional() }).optional(),
  /** Extra environment variables for a dedicated host process. */
  env: z.record(z.string(), z.string()).optional(),
  /**
   * "owned" (the default): the actor belongs to the program that created it, as in Ray, and
   * stops when that program ends — its cluster handle shut down, Ctrl-C, or kill -9 (the head
   * notices). "detached": a service that outlives its creator, until killed.
   */
  lifetime: z.enum(["owned", "detached"]).optional(),
});

export type ActorOptions = z.input<typeof ActorOptionsSchema>;
export type ResolvedActorOptions = z.output<typeof ActorOptionsSchema>;

export interface ActorSpec {
  /**
   * The actor's id, chosen by the caller: asking a new head again (after the old one died
   * with the call in flight) then finds the same actor instead of making a second.
   */
  id: string;
  /** file:// URL of the module that exports the class. */
  module: string;
  export: string;
  /** Constructor arguments, packed with the runtime codec (handles stay handles). */
  args: Uint8Array;
  options: ResolvedActorOptions;
  /** The program that owns the actor (see `lifetime`); none for detached actors and embedded clusters. */
  owner?: string;
}

export const PlacementGroupSchema = z.strictObject({
  bundles: z.array(resources).min(1),
  strategy: z.enum(STRATEGIES as [string, ...string[]]).default("PACK"),
  name: z.string().optional(),
});
export type PlacementGroupOptions = z.input<typeof PlacementGroupSchema>;

export function parseOr<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue.path.length ? issue.path.join(".") : "(root)";
  throw new ConfigError(`${where}: ${path}: ${issue.message}`);
}

/** Whether an actor gets a process of its own: asked for, holds a GPU, or reserves a whole CPU. */
export function isDedicated(o: ResolvedActorOptions): boolean {
  if (o.process) return o.process === "dedicated";
  return (o.resources?.gpu ?? 0) > 0 || (o.resources?.cpu ?? 0) >= 1;
}

/** Control-plane records kept in JetStream KV. */
export type ActorState = "pending" | "alive" | "restarting" | "dead";

export interface ActorRecord {
  id: string;
  spec: ActorSpec;
  state: ActorState;
  nodeId?: string;
  pid?: number;
  restarts: number;
  /** Placement group id and bundle the actor draws its resources from. */
  pg?: { id: string; bundle: number };
  deathReason?: string;
}

export interface NodeRecord {
  id: string;
  hostname: string;
  pid: number;
  total: Record<string, number>;
  gpus: number[];
  startedAt: number;
  state: "alive" | "dead";
}

export interface PlacementGroupRecord {
  id: string;
  name?: string;
  strategy: string;
  bundles: { resources: Record<string, number>; nodeId: string }[];
}
