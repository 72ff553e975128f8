// The public face of the runtime: start or join a cluster, create actors, look them up,
// reserve placement groups, run stateless tasks.
import { nuid } from "@nats-io/nats-core";
import { pack } from "./codec.js";
import { ActorRef } from "./codec.js";
import type { CallOptions } from "./caller.js";
import { parseClusterUrl, type ClusterAddress } from "./connect.js";
import { ConfigError } from "./errors.js";
import type { ActorHandle } from "./handle.js";
import type { ClusterInfo } from "./head.js";
import { onTeardown } from "./lifecycle.js";
import { moduleUrl } from "./modules.js";
import { NodeAgent, type NodeOptions } from "./node-agent.js";
import { startNatsServer, type NatsServer } from "./nats-server.js";
import type { Resources } from "./resources.js";
import { Runtime } from "./runtime.js";
import {
  ActorOptionsSchema, parseOr, type ActorOptions, type ActorSpec, type PlacementGroupOptions, type PlacementGroupRecord,
} from "./spec.js";
import { ownerSubject, TASKS } from "./subjects.js";
import { Endpoint } from "./endpoint.js";
import { initTracingFromEnv, shutdownTracing, TRACES_FILE_ENV } from "./tracing.js";

type Ctor = abstract new (...args: any[]) => any;

/** Where an actor class lives: a module and the name it is exported under. */
export interface ActorClass<C extends Ctor = Ctor> {
  module: string;
  export: string;
  /** Type only: the class, so handles are typed. */
  readonly __class?: C;
}

/** Names an actor class: `actorClass<typeof Counter>(new URL("./counter.js", import.meta.url), "Counter")`. */
export function actorClass<C extends Ctor>(module: string | URL, exportName: string): ActorClass<C> {
  return { module: moduleUrl(module), export: exportName };
}

export interface ClusterOptions {
  /** Join this cluster (nats://…, credentials may be embedded); omit to start an embedded one. */
  cluster?: string | ClusterAddress;
  /** Embedded mode: how many local nodes to start (default 1). */
  nodes?: number;
  /** Embedded mode: the resources each local node advertises (detected by default). */
  resources?: Resources;
  /** Embedded mode: extra module roots the local nodes may load actors from. */
  allowModules?: string[];
  /** Embedded mode: silence after which a node is declared dead. */
  nodeTimeoutMs?: number;
  /** Write every process's spans to this JSONL file. */
  tracesFile?: string;
}

export class PlacementGroup {
  constructor(private cluster: Cluster, readonly record: PlacementGroupRecord) {}
  get id(): string {
    return this.record.id;
  }
  /** Node of each bundle, in bundle order. */
  get nodes(): string[] {
    return this.record.bundles.map((b) => b.nodeId);
  }
  /** Releases the reservation; actors placed in the group are killed. */
  remove(): Promise<void> {
    return this.cluster.runtime.head("removeGroup", this.id);
  }
}

export class Cluster {
  private nodes: NodeAgent[] = [];
  private server?: NatsServer;
  private untear?: () => void;
  private restoreEnv?: () => void;
  private closed = false;
  /** On a joined cluster: this program as the owner of the actors it creates (spec.ts, lifetime). */
  private owner?: { id: string; endpoint: Endpoint };
  /** The owned actors this program created and has not killed: stopped at shutdown. */
  private owned = new Set<string>();

  private constructor(readonly runtime: Runtime, readonly address: ClusterAddress) {}

  /** Starts an embedded cluster (nats-server + local nodes) or joins `opts.cluster`. */
  static async start(opts: ClusterOptions = {}): Promise<Cluster> {
    // The traces file reaches the local hosts through the environment; it is this cluster's
    // only, so the next one in this process does not inherit it.
    const savedFile = process.env[TRACES_FILE_ENV];
    if (opts.tracesFile) process.env[TRACES_FILE_ENV] = opts.tracesFile;
    const restore = () => {
      if (savedFile === undefined) delete process.env[TRACES_FILE_ENV];
      else process.env[TRACES_FILE_ENV] = savedFile;
    };
    await initTracingFromEnv();
    try {
      const c = opts.cluster ? await Cluster.join(opts.cluster) : await Cluster.embed(opts);
      c.restoreEnv = restore;
      c.untear = onTeardown("cluster", () => c.shutdown(), () => undefined);
      return c;
    } catch (e) {
      await shutdownTracing().catch(() => undefined);
      restore();
      throw e;
    }
  }

  private static async join(cluster: string | ClusterAddress): Promise<Cluster> {
    const address = typeof cluster === "string" ? parseClusterUrl(cluster) : cluster;
    const rt = await Runtime.connect(address, "troupe-driver");
    const c = new Cluster(rt, address);
    const id = nuid.next();
    c.owner = { id, endpoint: new Endpoint(rt.nc, ownerSubject(id), { ping: () => true }, { name: "owner" }) };
    await c.owner.endpoint.ready();
    return c;
  }

  private static async embed(opts: ClusterOptions): Promise<Cluster> {
    const server = await startNatsServer({ restart: true });
    const address: ClusterAddress = { url: server.url, token: server.token };
    let rt: Runtime | undefined;
    const nodes: NodeAgent[] = [];
    try {
      rt = await Runtime.connect(address, "troupe-driver");
      const n = Math.max(1, opts.nodes ?? 1);
      const nodeOpts: NodeOptions = { address, resources: opts.resources, allowModules: opts.allowModules, nodeTimeoutMs: opts.nodeTimeoutMs };
      nodes.push(await NodeAgent.start(nodeOpts));
      for (let i = 1; i < n; i++) nodes.push(await NodeAgent.start({ ...nodeOpts, headCandidate: false }));
      // The first node becomes head; wait until it answers and has seen every local node.
      const deadline = Date.now() + 10_000;
      while ((await rt.head<ClusterInfo>("clusterInfo")).nodes.length < n && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
    } catch (e) {
      await Promise.allSettled(nodes.map((x) => x.stop()));
      await rt?.close().catch(() => undefined);
      await server.stop();
      throw e;
    }
    const c = new Cluster(rt, address);
    c.server = server;
    c.nodes = nodes;
    return c;
  }

  /** The local node agents of an embedded cluster. */
  get localNodes(): readonly NodeAgent[] {
    return this.nodes;
  }

  /** Creates an actor; resolves when its constructor has run. */
  async actor<C extends Ctor>(cls: ActorClass<C>, args: ConstructorParameters<C>, options: ActorOptions = {}): Promise<ActorHandle<InstanceType<C>>> {
    const o = parseOr(ActorOptionsSchema, options, `actor ${cls.export}`);
    const owner = o.lifetime === "detached" ? undefined : this.owner?.id;
    const spec: ActorSpec = { id: nuid.next(), module: cls.module, export: cls.export, args: pack(args), options: o, owner };
    const r = await this.runtime.head<{ actorId: string }>("createActor", spec);
    if (owner) this.owned.add(r.actorId);
    return this.runtime.handle(new ActorRef(r.actorId, o.name, o.maxTaskRetries));
  }

  /** A handle to a named actor, or undefined. */
  async getActor<T = unknown>(name: string): Promise<ActorHandle<T> | undefined> {
    const r = await this.runtime.lookupName(name);
    return r ? this.runtime.handle<T>(new ActorRef(r.actorId, name, r.maxTaskRetries)) : undefined;
  }

  /** Kills an actor; with restart, it is restarted as after a crash (counting against maxRestarts). */
  async kill(handle: { actorId: string }, opts: { restart?: boolean } = {}): Promise<void> {
    if (!opts.restart) this.owned.delete(handle.actorId);
    await this.runtime.head("killActor", handle.actorId, !!opts.restart);
  }

  /** Reserves bundles of resources all-or-nothing; waits while they are busy, fails if they never fit. */
  async placementGroup(opts: PlacementGroupOptions): Promise<PlacementGroup> {
    // The id is ours, so that asking a new head again cannot reserve a second group.
    const rec = await this.runtime.head<PlacementGroupRecord>("createGroup", opts, nuid.next());
    return new PlacementGroup(this, rec);
  }

  /** A stateless task: `fn` exported by `module`, run on a node's worker pool. */
  task<F extends (...a: any[]) => any>(module: string | URL, fn: string, opts: CallOptions = {}): (...args: Parameters<F>) => Promise<Awaited<ReturnType<F>>> {
    const url = moduleUrl(module);
    return (...args) => this.runtime.caller.call(TASKS, "run", [url, fn, pack(args)], opts) as Promise<Awaited<ReturnType<F>>>;
  }

  info(): Promise<ClusterInfo> {
    return this.runtime.head<ClusterInfo>("clusterInfo");
  }

  /**
   * Stops what this program started: on a cluster it joined, the actors it owns (their onStop
   * runs: sandboxes go); embedded, the nodes, their actors and the nats-server.
   */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.untear?.();
    if (this.owned.size) {
      const kills = Promise.allSettled([...this.owned].map((id) => this.runtime.head("killActor", id, false)));
      await Promise.race([kills, new Promise((r) => setTimeout(r, 10_000).unref())]);
    }
    await this.owner?.endpoint.close();
    await Promise.allSettled(this.nodes.slice().reverse().map((n) => n.stop()));
    await this.runtime.close().catch(() => undefined);
    await shutdownTracing().catch(() => undefined);
    this.restoreEnv?.();
    await this.server?.stop();
  }
}

/** Starts or joins a cluster (see Cluster.start). */
export function init(opts: ClusterOptions = {}): Promise<Cluster> {
  if (opts.nodes !== undefined && opts.cluster) throw new ConfigError("init: `nodes` only applies to an embedded cluster, not with `cluster`");
  return Cluster.start(opts);
}
