// The head: the cluster's scheduler and directory. It places actors and placement groups,
// restarts actors whose process died, and declares nodes dead when they stop heartbeating.
// Its state lives in JetStream KV, so a new head (after a failover) reads it back.
import type { KV } from "@nats-io/kv";
import type { Subscription } from "@nats-io/nats-core";
import { nuid } from "@nats-io/nats-core";
import { pack, unpack } from "./codec.js";
import { Endpoint } from "./endpoint.js";
import { ActorDiedError, ActorUnavailableError, ConfigError, UnschedulableError } from "./errors.js";
import { fits, format, normalize, subtract, type Resources } from "./resources.js";
import type { Runtime } from "./runtime.js";
import { placeActor, placeGroup, type NodeView, type Placement, type Strategy } from "./scheduler.js";
import {
  PlacementGroupSchema, parseOr, type ActorRecord, type ActorSpec, type NodeRecord, type PlacementGroupOptions,
  type PlacementGroupRecord,
} from "./spec.js";
import { actorEvents, BUCKET, HEAD, HEARTBEATS_ALL, nodeSubject, ownerSubject, type ActorEvent } from "./subjects.js";

/** How often the owners of owned actors are asked whether they still run… */
const OWNER_CHECK_MS = 5_000;
/** …and how long one must stay unreachable before its actors stop (a reconnect takes less). */
const OWNER_GRACE_MS = 15_000;

export interface HeadOptions {
  /** A node silent for this long is declared dead. */
  nodeTimeoutMs: number;
  /** How long a node may take to construct an actor. */
  spawnTimeoutMs?: number;
}

interface NodeState {
  rec: NodeRecord;
  lastSeen: number;
}

export interface ClusterInfo {
  nodes: { id: string; hostname: string; state: string; total: Resources; available: Resources; actors: number }[];
  actors: { alive: number; pending: number; restarting: number; dead: number };
  groups: number;
  /** Placements (actors and placement groups) that fit the cluster but not now, waiting for room. */
  waiting: number;
}

export class Head {
  private nodes = new Map<string, NodeState>();
  private actors = new Map<string, ActorRecord>();
  private groups = new Map<string, PlacementGroupRecord>();
  private waiters: (() => void)[] = [];
  private endpoint!: Endpoint;
  private hb!: Subscription;
  private timer!: NodeJS.Timeout;
  private kvNodes!: KV;
  private kvActors!: KV;
  private kvNames!: KV;
  private kvGroups!: KV;
  private closed = false;
  /** Nodes declared dead that still heartbeat, being asked to rejoin empty. */
  private fencing = new Set<string>();
  private lastCheck = Date.now();
  private ownerTimer!: NodeJS.Timeout;
  /** Owners that did not answer, since when. */
  private ownerSilent = new Map<string, number>();

  private constructor(private rt: Runtime, private opts: HeadOptions) {}

  static async start(rt: Runtime, opts: HeadOptions): Promise<Head> {
    const h = new Head(rt, opts);
    await h.load();
    h.serve();
    return h;
  }

  private async load(): Promise<void> {
    [this.kvNodes, this.kvActors, this.kvNames, this.kvGroups] = await Promise.all(
      [BUCKET.nodes, BUCKET.actors, BUCKET.names, BUCKET.groups].map((b) => this.rt.kv(b)),
    );
    const now = Date.now();
    for (const rec of await readAll<NodeRecord>(this.kvNodes)) if (rec.state === "alive") this.nodes.set(rec.id, { rec, lastSeen: now });
    for (const rec of await readAll<ActorRecord>(this.kvActors)) this.actors.set(rec.id, rec);
    for (const rec of await readAll<PlacementGroupRecord>(this.kvGroups)) this.groups.set(rec.id, rec);
    // Actors a previous head was still placing: place them again.
    for (const rec of this.actors.values()) {
      if (rec.state === "pending" || rec.state === "restarting") void this.restart(rec);
    }
  }

  private serve(): void {
    // Only these methods are reachable over NATS.
    const api = {
      createActor: (spec: ActorSpec) => this.createActor(spec),
      killActor: (id: string, restart?: boolean) => this.killActor(id, !!restart),
      actorInfo: (id: string) => this.actorInfo(id),
      createGroup: (opts: PlacementGroupOptions, id?: string) => this.createGroup(opts, id),
      removeGroup: (id: string) => this.removeGroup(id),
      hostExited: (nodeId: string, pid: number, ids: string[], reason: string) => this.hostExited(nodeId, pid, ids, reason),
      nodeLeaving: (nodeId: string) => this.nodeDied(nodeId, "node shut down"),
      clusterInfo: () => this.clusterInfo(),
    };
    this.endpoint = new Endpoint(this.rt.nc, HEAD, api, { maxConcurrency: 100_000, name: "head" });
    this.hb = this.rt.nc.subscribe(HEARTBEATS_ALL, {
      callback: (err, msg) => {
        if (err) return;
        const id = msg.subject.slice("troupe.hb.".length);
        const n = this.nodes.get(id);
        if (n) n.lastSeen = Date.now();
        else void this.discoverNode(id);
      },
    });
    // After a reconnect, silence was ours, not the nodes': give every node a fresh grace period.
    void (async () => {
      for await (const s of this.rt.nc.status()) {
        if (s.type === "reconnect") for (const n of this.nodes.values()) n.lastSeen = Date.now();
      }
    })().catch(() => undefined);
    this.timer = setInterval(() => this.checkNodes(), Math.max(50, this.opts.nodeTimeoutMs / 4));
    this.ownerTimer = setInterval(() => void this.checkOwners(), OWNER_CHECK_MS);
  }

  /**
   * Owned actors stop with the program that created them (spec.ts, lifetime). A program that
   * shuts down kills them itself; one killed -9 is found here: nobody serves its owner subject
   * any more. It must stay so for OWNER_GRACE_MS, so that a program only reconnecting (a
   * nats-server restart) is not taken for dead; a ping that times out proves nothing.
   */
  private async checkOwners(): Promise<void> {
    const owners = new Set<string>();
    for (const rec of this.actors.values()) if (rec.spec.owner && rec.state !== "dead") owners.add(rec.spec.owner);
    await Promise.all([...owners].map(async (owner) => {
      const gone = await this.rt.caller.call(ownerSubject(owner), "ping", [], { timeoutMs: OWNER_CHECK_MS }).then(
        () => false,
        (e) => e instanceof ActorUnavailableError,
      );
      if (!gone) return this.ownerSilent.delete(owner);
      const since = this.ownerSilent.get(owner) ?? Date.now();
      this.ownerSilent.set(owner, since);
      if (Date.now() - since < OWNER_GRACE_MS || this.closed) return;
      this.ownerSilent.delete(owner);
      const mine = [...this.actors.values()].filter((r) => r.spec.owner === owner && r.state !== "dead");
      await Promise.all(mine.map((r) => this.killActor(r.id, false, "the program that created it (its owner) is gone")));
    }));
  }

  /** Resolves once the endpoint is registered at the server. */
  ready(): Promise<void> {
    return this.endpoint.ready();
  }

  private async discoverNode(id: string): Promise<void> {
    const e = await this.kvNodes.get(id).catch(() => null);
    if (!e || !e.value.length || this.nodes.has(id)) return;
    const rec = unpack<NodeRecord>(e.value);
    if (rec.state !== "alive") return this.fence(id);
    this.nodes.set(id, { rec, lastSeen: Date.now() });
    this.wake();
  }

  /**
   * A node this head declared dead is still heartbeating (it was only slow or cut off). Its
   * actors were already restarted elsewhere, so it must not keep running them: it is asked
   * to kill its hosts and register again, empty, and is then discovered like a new node.
   */
  private async fence(id: string): Promise<void> {
    if (this.fencing.has(id) || this.closed) return;
    this.fencing.add(id);
    try {
      await this.rt.caller.call(nodeSubject(id), "rejoin", [], { timeoutMs: 10_000 });
    } catch {
      // It went away for good, or it is still unreachable: the next heartbeat tries again.
    } finally {
      this.fencing.delete(id);
    }
  }

  private checkNodes(): void {
    const now = Date.now();
    // If this process itself stalled (GC, a blocked event loop, a starved CPU), the
    // heartbeats that arrived meanwhile are still unread: silence was ours, not the nodes'.
    const stalled = now - this.lastCheck > Math.max(1000, this.opts.nodeTimeoutMs / 2);
    this.lastCheck = now;
    if (stalled) {
      for (const n of this.nodes.values()) n.lastSeen = now;
      return;
    }
    for (const [id, n] of this.nodes) {
      if (now - n.lastSeen > this.opts.nodeTimeoutMs) void this.nodeDied(id, `node ${id} (${n.rec.hostname}) stopped heartbeating`);
    }
  }

  // ---- resource views -------------------------------------------------------------------

  private demandOf(rec: ActorRecord): Resources {
    return rec.spec.options.resources ?? {};
  }

  private holdsResources(rec: ActorRecord): boolean {
    return rec.state !== "dead" && rec.nodeId !== undefined;
  }

  private view(): NodeView[] {
    const out = new Map<string, NodeView>();
    for (const [id, n] of this.nodes) out.set(id, { id, total: n.rec.total, available: { ...n.rec.total }, actors: 0 });
    for (const g of this.groups.values()) {
      for (const b of g.bundles) {
        const v = out.get(b.nodeId);
        if (v) v.available = subtract(v.available, b.resources);
      }
    }
    for (const a of this.actors.values()) {
      if (!this.holdsResources(a)) continue;
      const v = out.get(a.nodeId!);
      if (!v) continue;
      v.actors++;
      if (!a.pg) v.available = subtract(v.available, this.demandOf(a));
    }
    return [...out.values()];
  }

  private bundleAvailable(g: PlacementGroupRecord, i: number): Resources {
    let avail = { ...g.bundles[i].resources };
    for (const a of this.actors.values()) {
      if (a.pg?.id === g.id && a.pg.bundle === i && this.holdsResources(a)) avail = subtract(avail, this.demandOf(a));
    }
    return avail;
  }

  private decide(rec: ActorRecord): Placement<string> {
    const demand = this.demandOf(rec);
    if (rec.pg) {
      const g = this.groups.get(rec.pg.id);
      if (!g) return { never: `placement group ${rec.pg.id} does not exist (removed?)` };
      const candidates = rec.spec.options.placement?.bundleIndex !== undefined ? [rec.spec.options.placement.bundleIndex] : g.bundles.map((_, i) => i);
      for (const i of candidates) {
        if (i >= g.bundles.length) return { never: `placement group ${g.id} has ${g.bundles.length} bundles; bundle ${i} asked for` };
      }
      if (!candidates.some((i) => fits(g.bundles[i].resources, demand))) {
        return { never: `${format(demand)} is larger than the placement group's bundle` };
      }
      for (const i of candidates) {
        if (fits(this.bundleAvailable(g, i), demand) && this.nodes.has(g.bundles[i].nodeId)) {
          rec.pg.bundle = i;
          return { ok: g.bundles[i].nodeId };
        }
      }
      return { wait: `waiting for room in placement group ${g.id}` };
    }
    return placeActor(this.view(), demand, rec.spec.options.affinity);
  }

  /** Places the actor, waiting for resources if needed; throws UnschedulableError if it never can. */
  private async place(rec: ActorRecord): Promise<void> {
    for (;;) {
      if (this.closed) throw new UnschedulableError("the head is shutting down");
      const d = this.decide(rec);
      if ("ok" in d) {
        rec.nodeId = d.ok;
        return;
      }
      if ("never" in d) throw new UnschedulableError(`actor ${rec.spec.options.name ?? rec.spec.export} can never be placed: ${d.never}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Resources were freed or a node joined: let every waiting placement try again. */
  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  // ---- actors ------------------------------------------------------------------------------

  private async createActor(spec: ActorSpec): Promise<{ actorId: string; nodeId: string }> {
    const id = spec.id ?? nuid.next();
    // Asked again (a new head, the call in flight when the old one died): the same actor.
    const known = this.actors.get(id);
    if (known) return this.settled(known);
    const o = spec.options;
    o.resources = normalize(o.resources, "actor resources");
    const rec: ActorRecord = { id, spec, state: "pending", restarts: 0 };
    if (o.placement) rec.pg = { id: o.placement.group, bundle: o.placement.bundleIndex ?? 0 };
    if (o.name) {
      try {
        await this.kvNames.create(o.name, pack({ actorId: id, maxTaskRetries: o.maxTaskRetries }));
      } catch {
        const prev = await this.kvNames.get(o.name);
        const prevId = prev?.value.length ? unpack<{ actorId: string }>(prev.value).actorId : undefined;
        const prevRec = prevId ? this.actors.get(prevId) : undefined;
        if (prevRec && prevRec.state !== "dead") throw new ConfigError(`an actor named '${o.name}' already exists (${prevId})`);
        await this.kvNames.put(o.name, pack({ actorId: id, maxTaskRetries: o.maxTaskRetries }));
      }
    }
    this.actors.set(id, rec);
    try {
      await this.place(rec);
      await this.persist(rec);
      await this.spawn(rec);
    } catch (e) {
      // A second ask of the same id waiting in settled() ends with this failure too.
      rec.state = "dead";
      rec.deathReason = (e as Error).message;
      this.actors.delete(id);
      await this.kvActors.delete(id).catch(() => undefined);
      if (o.name) await this.kvNames.delete(o.name).catch(() => undefined);
      this.wake();
      throw e;
    }
    return { actorId: id, nodeId: rec.nodeId! };
  }

  /** Resolves once the actor is up (its node), or fails once it is dead. */
  private async settled(rec: ActorRecord): Promise<{ actorId: string; nodeId: string }> {
    while (rec.state !== "alive" || !rec.nodeId) {
      if (rec.state === "dead") throw new ActorDiedError(`actor ${rec.id} could not be created: ${rec.deathReason ?? "dead"}`);
      if (this.closed) throw new UnschedulableError("the head is shutting down");
      await new Promise((r) => setTimeout(r, 50));
    }
    return { actorId: rec.id, nodeId: rec.nodeId };
  }

  private async spawn(rec: ActorRecord): Promise<void> {
    const r = (await this.rt.caller.call(nodeSubject(rec.nodeId!), "spawn", [rec], { timeoutMs: this.opts.spawnTimeoutMs ?? 120_000 })) as { pid: number };
    rec.pid = r.pid;
    rec.state = "alive";
    await this.persist(rec);
    this.publish(rec.id, { type: "alive" });
  }

  private async persist(rec: ActorRecord): Promise<void> {
    await this.kvActors.put(rec.id, pack(rec));
  }

  private publish(id: string, ev: ActorEvent): void {
    if (!this.rt.nc.isClosed() && !this.rt.nc.isDraining()) this.rt.nc.publish(actorEvents(id), pack(ev));
  }

  private actorInfo(id: string): Omit<ActorRecord, "spec"> & { module: string; export: string } | undefined {
    const rec = this.actors.get(id);
    if (!rec) return undefined;
    const { spec, ...rest } = rec;
    return { ...rest, module: spec.module, export: spec.export };
  }

  private async killActor(id: string, restart: boolean, reason = "killed"): Promise<void> {
    const rec = this.actors.get(id);
    if (!rec || rec.state === "dead") return;
    const nodeId = rec.nodeId;
    if (!restart) await this.markDead(rec, reason);
    if (nodeId && this.nodes.has(nodeId)) await this.rt.caller.call(nodeSubject(nodeId), "kill", [id], { timeoutMs: 10_000 }).catch(() => undefined);
    if (restart) await this.actorDied(rec, "killed (restart requested)");
  }

  private async hostExited(nodeId: string, pid: number, ids: string[], reason: string): Promise<void> {
    for (const id of ids) {
      const rec = this.actors.get(id);
      // A late report about an older incarnation must not touch the new one.
      if (rec && rec.nodeId === nodeId && rec.pid === pid && rec.state === "alive") await this.actorDied(rec, reason);
    }
  }

  private async actorDied(rec: ActorRecord, reason: string): Promise<void> {
    if (rec.state === "dead") return;
    this.publish(rec.id, { type: "died", reason });
    const max = rec.spec.options.maxRestarts;
    if (max === -1 || rec.restarts < max) {
      rec.restarts++;
      rec.state = "restarting";
      rec.nodeId = undefined;
      rec.pid = undefined;
      rec.deathReason = reason;
      await this.persist(rec);
      this.publish(rec.id, { type: "restarting", reason });
      this.wake();
      void this.restart(rec);
    } else {
      await this.markDead(rec, `${reason}; no restarts left (maxRestarts=${max})`);
    }
  }

  private async restart(rec: ActorRecord): Promise<void> {
    try {
      rec.nodeId = undefined;
      await this.place(rec);
      await this.persist(rec);
      await this.spawn(rec);
    } catch (e) {
      if (this.closed || rec.state === "dead") return;
      if (e instanceof UnschedulableError) return void this.markDead(rec, (e as Error).message);
      // The constructor failed or the node went away: counts as another death, after a pause.
      rec.state = "alive";
      await new Promise((r) => setTimeout(r, 500));
      await this.actorDied(rec, `restart failed: ${(e as Error).message}`);
    }
  }

  private async markDead(rec: ActorRecord, reason: string): Promise<void> {
    rec.state = "dead";
    rec.deathReason = reason;
    rec.nodeId = undefined;
    await this.persist(rec);
    const name = rec.spec.options.name;
    if (name) {
      const e = await this.kvNames.get(name).catch(() => null);
      if (e?.value.length && unpack<{ actorId: string }>(e.value).actorId === rec.id) await this.kvNames.delete(name).catch(() => undefined);
    }
    this.publish(rec.id, { type: "dead", reason });
    this.wake();
  }

  // ---- nodes -------------------------------------------------------------------------------

  private async nodeDied(nodeId: string, reason: string): Promise<void> {
    const n = this.nodes.get(nodeId);
    if (!n) return;
    this.nodes.delete(nodeId);
    n.rec.state = "dead";
    await this.kvNodes.put(nodeId, pack(n.rec)).catch(() => undefined);
    // Bundles reserved on the dead node move to live ones where they fit.
    for (const g of this.groups.values()) {
      let moved = false;
      g.bundles.forEach((b, i) => {
        if (b.nodeId !== nodeId) return;
        const d = placeActor(this.view(), b.resources);
        if ("ok" in d) {
          g.bundles[i].nodeId = d.ok;
          moved = true;
        }
      });
      if (moved) await this.kvGroups.put(g.id, pack(g)).catch(() => undefined);
    }
    for (const rec of [...this.actors.values()]) {
      if (rec.nodeId === nodeId && rec.state !== "dead") await this.actorDied(rec, reason);
    }
    this.wake();
  }

  // ---- placement groups --------------------------------------------------------------------

  private async createGroup(raw: PlacementGroupOptions, id = nuid.next()): Promise<PlacementGroupRecord> {
    const known = this.groups.get(id);
    if (known) return known;  // asked again of a new head
    const opts = parseOr(PlacementGroupSchema, raw, "placementGroup");
    const bundles = opts.bundles.map((b, i) => normalize(b, `bundle ${i}`));
    for (;;) {
      const d = placeGroup(this.view(), bundles, opts.strategy as Strategy);
      if ("never" in d) throw new UnschedulableError(`placement group can never be placed: ${d.never}`);
      if ("ok" in d) {
        const g: PlacementGroupRecord = { id, name: opts.name, strategy: opts.strategy, bundles: bundles.map((r, i) => ({ resources: r, nodeId: d.ok[i] })) };
        this.groups.set(g.id, g);
        await this.kvGroups.put(g.id, pack(g));
        return g;
      }
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  private async removeGroup(id: string): Promise<void> {
    const g = this.groups.get(id);
    if (!g) return;
    // Its actors go with it (their resources were the group's).
    await Promise.all([...this.actors.values()].filter((a) => a.pg?.id === id && a.state !== "dead").map((a) => this.killActor(a.id, false)));
    this.groups.delete(id);
    await this.kvGroups.delete(id).catch(() => undefined);
    this.wake();
  }

  private clusterInfo(): ClusterInfo {
    const counts = { alive: 0, pending: 0, restarting: 0, dead: 0 };
    for (const a of this.actors.values()) counts[a.state]++;
    return {
      nodes: this.view().map((v) => ({ id: v.id, hostname: this.nodes.get(v.id)!.rec.hostname, state: "alive", total: v.total, available: v.available, actors: v.actors })),
      actors: counts,
      groups: this.groups.size,
      waiting: this.waiters.length,
    };
  }

  async stop(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    clearInterval(this.ownerTimer);
    this.hb?.unsubscribe();
    this.wake();
    await this.endpoint?.close();
  }
}

async function readAll<T>(kv: KV): Promise<T[]> {
  const out: T[] = [];
  const keys = await kv.keys();
  for await (const k of keys) {
    const e = await kv.get(k);
    if (e && e.operation === "PUT" && e.value.length) out.push(unpack<T>(e.value));
  }
  return out;
}

