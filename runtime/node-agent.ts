// A node: one machine's (or one process's) share of the cluster. It advertises its
// resources, heartbeats, spawns actor host processes and watches them, runs stateless
// tasks on a piscina pool, and stands as a head candidate.
import { fork, type ChildProcess } from "node:child_process";
import { hostname } from "node:os";
import { fileURLToPath } from "node:url";
import { nuid } from "@nats-io/nats-core";
import { Piscina } from "piscina";
import { pack, unpack } from "./codec.js";
import { addressToEnv, type ClusterAddress } from "./connect.js";
import { Endpoint } from "./endpoint.js";
import { fromErrorData } from "./errors.js";
import { LeaderLease } from "./election.js";
import { Head } from "./head.js";
import type { HostReply, HostRequest } from "./host-main.js";
import { isRunning, killOnExit } from "./lifecycle.js";
import { defaultModuleRoots, ModulePolicy } from "./modules.js";
import { detectGpus, detectResources, type Resources } from "./resources.js";
import { Runtime } from "./runtime.js";
import { isDedicated, type ActorRecord, type NodeRecord } from "./spec.js";
import { BUCKET, HEAD_ELECTED, heartbeat, nodeSubject, TASKS } from "./subjects.js";
import { SERVICE_NAME_ENV, TRACES_FILE_ENV } from "./tracing.js";

export interface NodeOptions {
  address: ClusterAddress;
  /** Resources to advertise; detected (CPUs, memory, GPUs) where not given. */
  resources?: Resources;
  /** Extra module roots this node may load actors from. */
  allowModules?: string[];
  /** Stand for head (default true). */
  headCandidate?: boolean;
  heartbeatMs?: number;
  /** Silence after which the head declares a node dead. */
  nodeTimeoutMs?: number;
  /** Light actors per shared host process. */
  actorsPerHost?: number;
  /** Threads of the stateless-task pool (0 = no task pool on this node). */
  taskThreads?: number;
  /** Extra environment for host processes (e.g. TROUPE_TRACES_FILE). */
  env?: Record<string, string>;
}

interface Host {
  child: ChildProcess;
  pid: number;
  dedicated: boolean;
  actors: Set<string>;
  ready: Promise<void>;
  waiting: Map<string, { resolve: () => void; reject: (e: Error) => void }>;
  killed: boolean;
  unregister: () => void;
}

const HOST_MAIN = fileURLToPath(new URL("./host-main.js", import.meta.url));
const TASK_WORKER = new URL("./task-worker.js", import.meta.url).href;

export class NodeAgent {
  readonly id = nuid.next();
  private hosts = new Set<Host>();
  private hostOf = new Map<string, Host>();
  private gpuFree = new Map<number, number>();
  private gpuOf = new Map<string, { gpus: number[]; demand: number }>();
  private endpoint!: Endpoint;
  private tasks?: Endpoint;
  private pool?: Piscina;
  private beat?: NodeJS.Timeout;
  private lease?: LeaderLease;
  private head?: Head;
  private policy: ModulePolicy;
  private record!: NodeRecord;
  private stopped = false;

  private constructor(readonly rt: Runtime, private opts: NodeOptions) {
    this.policy = new ModulePolicy([...defaultModuleRoots(), ...(opts.allowModules ?? [])]);
  }

  static async start(opts: NodeOptions): Promise<NodeAgent> {
    const rt = await Runtime.connect(opts.address, "troupe-node");
    const n = new NodeAgent(rt, opts);
    try {
      await n.init();
    } catch (e) {
      await n.stop();
      throw e;
    }
    return n;
  }

  get isHead(): boolean {
    return !!this.head;
  }

  private async init(): Promise<void> {
    const total = detectResources(this.opts.resources);
    const gpus = this.opts.resources?.gpu !== undefined ? range(Math.ceil(this.opts.resources.gpu)) : detectGpus();
    for (const g of gpus) this.gpuFree.set(g, 1);
    this.record = { id: this.id, hostname: hostname(), pid: process.pid, total, gpus, startedAt: Date.now(), state: "alive" };
    const api = {
      spawn: (rec: ActorRecord) => this.spawn(rec),
      kill: (id: string) => this.kill(id),
      rejoin: () => this.rejoin(),
      info: () => ({ ...this.record, hosts: [...this.hosts].map((h) => ({ pid: h.pid, dedicated: h.dedicated, actors: [...h.actors] })) }),
    };
    this.endpoint = new Endpoint(this.rt.nc, nodeSubject(this.id), api, { maxConcurrency: 10_000, name: `node ${this.id}` });
    await this.endpoint.ready();
    const threads = this.opts.taskThreads ?? Math.max(1, Math.min(4, Math.floor(total.cpu ?? 1)));
    if (threads > 0) {
      this.pool = new Piscina({ filename: TASK_WORKER, maxThreads: threads, minThreads: 0, idleTimeout: 30_000 });
      const run = (url: string, fn: string, args: Uint8Array) => this.runTask(url, fn, args);
      this.tasks = new Endpoint(this.rt.nc, TASKS, { run }, { queue: "nodes", maxConcurrency: threads * 2, name: "tasks" });
    }
    const nodes = await this.rt.kv(BUCKET.nodes);
    await nodes.put(this.id, pack(this.record));
    const hb = () => {
      if (!this.rt.nc.isClosed()) this.rt.nc.publish(heartbeat(this.id));
    };
    hb();
    this.beat = setInterval(hb, this.opts.heartbeatMs ?? 500);
    if (this.opts.headCandidate !== false) {
      const kv = await this.rt.kv(BUCKET.head);
      const nodeTimeoutMs = this.opts.nodeTimeoutMs ?? 5000;
      this.lease = new LeaderLease(kv, "leader", this.id, Math.max(1000, nodeTimeoutMs / 2), async () => {
        this.head = await Head.start(this.rt, { nodeTimeoutMs });
        await this.head.ready();
        this.rt.nc.publish(HEAD_ELECTED);
      });
      this.lease.start();
    }
  }

  private async runTask(url: string, fn: string, args: Uint8Array): Promise<unknown> {
    const checked = this.policy.check(url);
    return unpack(await this.pool!.run({ url: checked, fn, args }));
  }

  // ---- actor hosts -------------------------------------------------------------------------

  private allocGpus(id: string, demand: number): number[] {
    if (demand <= 0) return [];
    const out: number[] = [];
    if (demand < 1) {
      // Fractional: best fit, the GPU with the least room that still fits, so fractions pack
      // together and whole GPUs stay free for whole-GPU actors.
      const best = [...this.gpuFree].filter(([, f]) => f + 1e-9 >= demand).sort((a, b) => a[1] - b[1])[0];
      if (best) {
        this.gpuFree.set(best[0], best[1] - demand);
        out.push(best[0]);
      }
    } else {
      for (const [g, f] of this.gpuFree) {
        if (out.length >= Math.ceil(demand)) break;
        if (f >= 1 - 1e-9) out.push(g);
      }
      for (const g of out) this.gpuFree.set(g, 0);
    }
    this.gpuOf.set(id, { gpus: out, demand });
    return out;
  }

  private freeGpus(id: string): void {
    const held = this.gpuOf.get(id);
    if (!held) return;
    this.gpuOf.delete(id);
    for (const g of held.gpus) this.gpuFree.set(g, Math.min(1, (this.gpuFree.get(g) ?? 0) + Math.min(1, held.demand)));
  }

  private startHost(dedicated: boolean, env: Record<string, string>): Host {
    const child = fork(HOST_MAIN, [], {
      env: { ...process.env, ...addressToEnv(this.opts.address), ...(this.opts.env ?? {}), ...env },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "advanced",
      // Not the driver's flags (--input-type, --eval… break a plain module): NODE_OPTIONS still applies.
      execArgv: [],
    });
    const host: Host = {
      child, pid: child.pid!, dedicated, actors: new Set(), waiting: new Map(), killed: false,
      ready: Promise.resolve(), unregister: killOnExit(child, "actor host"),
    };
    host.ready = new Promise<void>((resolve, reject) => {
      child.on("message", (m: HostReply) => {
        if (m.op === "ready") resolve();
        else if (m.op === "created") host.waiting.get(m.id)?.resolve();
        else if (m.op === "failed") host.waiting.get(m.id)?.reject(fromErrorData(m.error));
      });
      child.once("exit", (code, signal) => {
        reject(new Error(`actor host exited during start (code ${code}, signal ${signal})`));
        this.hostExited(host, code, signal);
      });
    });
    this.hosts.add(host);
    return host;
  }

  private hostExited(host: Host, code: number | null, signal: string | null): void {
    host.unregister();
    this.hosts.delete(host);
    const reason = `actor host process ${host.pid} exited (${signal ? `signal ${signal}` : `code ${code}`})`;
    for (const w of host.waiting.values()) w.reject(new Error(reason));
    const ids = [...host.actors];
    for (const id of ids) {
      this.hostOf.delete(id);
      this.freeGpus(id);
    }
    if (!ids.length || this.stopped) return;
    void this.rt.head("hostExited", this.id, host.pid, ids, reason).catch(() => undefined);
  }

  private pickSharedHost(): Host {
    const per = this.opts.actorsPerHost ?? 64;
    let best: Host | undefined;
    for (const h of this.hosts) {
      if (!h.dedicated && !h.killed && h.actors.size < per && (!best || h.actors.size < best.actors.size)) best = h;
    }
    return best ?? this.startHost(false, {});
  }

  private async spawn(rec: ActorRecord): Promise<{ pid: number }> {
    const url = this.policy.check(rec.spec.module);
    const o = rec.spec.options;
    const gpuDemand = o.resources?.gpu ?? 0;
    const dedicated = isDedicated(o);
    let host: Host;
    if (dedicated) {
      const gpus = this.allocGpus(rec.id, gpuDemand);
      const env: Record<string, string> = { [SERVICE_NAME_ENV]: roleOf(rec.spec.export), ...(o.env ?? {}) };
      if (gpuDemand > 0) env.CUDA_VISIBLE_DEVICES = gpus.join(",");
      host = this.startHost(true, env);
    } else {
      host = this.pickSharedHost();
    }
    host.actors.add(rec.id);
    this.hostOf.set(rec.id, host);
    try {
      await host.ready;
      await new Promise<void>((resolve, reject) => {
        host.waiting.set(rec.id, { resolve, reject });
        host.child.send({ op: "create", rec, url } satisfies HostRequest);
      });
    } catch (e) {
      host.actors.delete(rec.id);
      this.hostOf.delete(rec.id);
      this.freeGpus(rec.id);
      if (dedicated) this.killHost(host);
      throw e;
    } finally {
      host.waiting.delete(rec.id);
    }
    return { pid: host.pid };
  }

  private killHost(host: Host): void {
    host.killed = true;
    if (isRunning(host.child)) host.child.kill("SIGKILL");
  }

  /** Removes one actor on purpose: not reported as a crash. */
  private async kill(id: string): Promise<void> {
    const host = this.hostOf.get(id);
    if (!host) return;
    host.actors.delete(id);
    this.hostOf.delete(id);
    this.freeGpus(id);
    if (host.dedicated) this.killHost(host);
    else host.child.send({ op: "destroy", id } satisfies HostRequest);
  }

  /**
   * The head declared this node dead (it missed heartbeats) and has restarted its actors
   * elsewhere: kill the stale copies and register again with nothing running.
   */
  private async rejoin(): Promise<void> {
    if (this.stopped) return;
    for (const h of [...this.hosts]) this.killHost(h);
    this.record = { ...this.record, state: "alive", startedAt: Date.now() };
    await (await this.rt.kv(BUCKET.nodes)).put(this.id, pack(this.record));
  }

  /** Pids of the actor host processes (tests kill them to check fault tolerance). */
  hostPid(actorId: string): number | undefined {
    return this.hostOf.get(actorId)?.pid;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.beat);
    await this.lease?.stop();
    await this.head?.stop();
    await this.tasks?.close();
    await this.endpoint?.close();
    // SIGTERM first so hosts flush their spans and run onStop; SIGKILL whoever lingers.
    const hosts = [...this.hosts].filter((h) => isRunning(h.child));
    const exited = hosts.map((h) => new Promise((r) => h.child.once("exit", r)));
    for (const h of hosts) {
      h.killed = true;
      h.child.kill("SIGTERM");
    }
    // Long enough for actors' onStop to remove their sandboxes; a hung host is killed.
    const t = setTimeout(() => hosts.forEach((h) => this.killHost(h)), 10_000);
    await Promise.all(exited);
    clearTimeout(t);
    if (!this.rt.nc.isClosed()) {
      this.record.state = "dead";
      await (await this.rt.kv(BUCKET.nodes)).put(this.id, pack(this.record)).catch(() => undefined);
      // Tell the head now rather than let it wait for the heartbeat timeout.
      if (!this.head) await this.rt.caller.call("troupe.head", "nodeLeaving", [this.id], { timeoutMs: 2000 }).catch(() => undefined);
    }
    await this.pool?.destroy();
    await this.rt.close();
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

export { TRACES_FILE_ENV };

/**
 * A dedicated host's role for its spans' `service.name`: its actor's class in kebab case without
 * "Actor" (EngineActor → engine). A shared host holds actors of several roles: "actors".
 */
function roleOf(name: string): string {
  return name.replace(/Actor$/, "").replace(/([a-z0-9])([A-Z])/g, "$1-$2").replace(/[^A-Za-z0-9-]+/g, "-").toLowerCase() || "actors";
}
