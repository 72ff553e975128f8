// A process's connection to the cluster: the NATS connection, the caller, the actor event
// feed, and the handle backend. The driver, every node and every actor host have one;
// handles received in a message bind to the runtime of the process that unpacks them.
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { Kvm, type KV } from "@nats-io/kv";
import { ActorRef, setHandleFactory, unpack } from "./codec.js";
import { Caller, type CallOptions, type PendingCall } from "./caller.js";
import { connectCluster, type ClusterAddress } from "./connect.js";
import { ActorDiedError, ActorUnavailableError, TroupeError } from "./errors.js";
import { dropReceiver, receiveBroadcast, sendBroadcast, type BroadcastOptions, type BroadcastReceiver, type BroadcastStats } from "./broadcast.js";
import { makeHandle, type ActorHandle, type HandleBackend } from "./handle.js";
import { ACTOR_EVENTS_ALL, actorSubject, BUCKET, HEAD, HEAD_ELECTED, type ActorEvent } from "./subjects.js";

const ACTOR_PREFIX = "troupe.a.";
/** How long a call waits for its restarting actor before ActorUnavailableError. */
const RESTART_WAIT_MS = 60_000;
/** How long control calls keep trying while no head answers (failover). */
const HEAD_WAIT_MS = 30_000;

export class Runtime implements HandleBackend {
  readonly caller: Caller;
  private events: Subscription;
  private elections: Subscription;
  /** Actors known to be permanently dead, with the reason. */
  private dead = new Map<string, string>();
  /** Calls waiting for their actor to come back, by actor id. */
  private parked = new Map<string, Set<number>>();
  /**
   * Actors between a 'died' and an 'alive' event. A call to one is held, not sent: a stale
   * copy that is frozen but still subscribed (its node missed heartbeats) would swallow it.
   */
  private restarting = new Set<string>();
  private buckets = new Map<string, Promise<KV>>();

  private constructor(readonly nc: NatsConnection, readonly address: ClusterAddress) {
    this.caller = new Caller(nc);
    this.caller.onNoResponders = (c) => this.noResponders(c);
    this.events = nc.subscribe(ACTOR_EVENTS_ALL, {
      callback: (err, msg) => {
        if (err) return;
        const id = msg.subject.slice("troupe.ev.".length);
        this.onActorEvent(id, unpack<ActorEvent>(msg.data));
      },
    });
    // A new head: what the old one was asked and never answered is asked again. Every head
    // method is idempotent (actors and groups carry ids their callers chose), so a call the
    // new head got already is answered twice with the same thing, once heard.
    this.elections = nc.subscribe(HEAD_ELECTED, { callback: () => this.caller.replaced(HEAD) });
  }

  /**
   * Connects. The process's first runtime becomes its current one: handles unpacked in this
   * process bind to it (a node agent that shares the driver's process does not take over).
   */
  static async connect(address: ClusterAddress, name: string): Promise<Runtime> {
    const nc = await connectCluster(address, name);
    const rt = new Runtime(nc, address);
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type !== "reconnect") continue;
        // Events may have been missed while away: send calls again rather than hold them.
        rt.restarting.clear();
        rt.caller.reconnected();
      }
    })().catch(() => undefined);
    if (!current) {
      current = rt;
      setHandleFactory((ref) => rt.handle(ref));
    }
    return rt;
  }

  handle<T>(ref: ActorRef): ActorHandle<T> {
    return makeHandle<T>(ref, this);
  }

  call(ref: ActorRef, method: string, args: unknown[], opts: CallOptions): Promise<unknown> {
    const reason = this.dead.get(ref.actorId);
    if (reason) return Promise.reject(new ActorDiedError(`actor ${ref.name ?? ref.actorId} is dead: ${reason}`));
    const hold = this.restarting.has(ref.actorId) ? (c: PendingCall) => this.park(ref.actorId, c) : undefined;
    return this.caller.call(actorSubject(ref.actorId), method, args, opts, ref.maxTaskRetries, hold);
  }

  /** Calls the head; during a head failover the call waits for the next head. */
  head<T = unknown>(method: string, ...args: unknown[]): Promise<T> {
    return this.caller.call(HEAD, method, args) as Promise<T>;
  }

  kv(name: string): Promise<KV> {
    let b = this.buckets.get(name);
    if (!b) {
      b = new Kvm(this.nc).create(name, { history: 1 });
      this.buckets.set(name, b);
      b.catch(() => this.buckets.delete(name));
    }
    return b;
  }

  async lookupName(name: string): Promise<{ actorId: string; maxTaskRetries: number } | undefined> {
    const kv = await this.kv(BUCKET.names);
    const e = await kv.get(name);
    if (!e || e.operation !== "PUT" || !e.value.length) return undefined;
    return unpack(e.value);
  }

  private onActorEvent(id: string, ev: ActorEvent): void {
    const subject = actorSubject(id);
    if (ev.type === "died" || ev.type === "restarting") this.restarting.add(id);
    else this.restarting.delete(id);
    if (ev.type === "died") {
      const err = new ActorDiedError(`actor ${id} died during the call: ${ev.reason ?? "process exited"}`);
      for (const c of this.caller.callsTo(subject)) {
        if (c.parked) continue;
        if (!c.answered && c.retriesLeft !== 0) {
          if (c.retriesLeft > 0) c.retriesLeft--;
          this.park(id, c);
        } else {
          this.caller.fail(c.id, err);
        }
      }
    } else if (ev.type === "alive") {
      this.dead.delete(id);
      const ids = this.parked.get(id);
      this.parked.delete(id);
      for (const cid of ids ?? []) this.caller.resend(cid);
    } else if (ev.type === "dead") {
      const reason = ev.reason ?? "no restarts left";
      this.dead.set(id, reason);
      const ids = this.parked.get(id);
      this.parked.delete(id);
      for (const cid of ids ?? []) this.caller.fail(cid, new ActorDiedError(`actor ${id} is dead: ${reason}`));
    }
  }

  /**
   * Holds a call until its actor is back. The 'alive' event re-sends it at once; a re-send
   * every second covers an event missed in a race (a re-send that finds nobody comes back
   * here through noResponders, since the server then says so).
   */
  private park(actorId: string, c: PendingCall): void {
    const call = c as PendingCall & { parkedSince?: number };
    call.parked = true;
    call.parkedSince ??= Date.now();
    if (Date.now() - call.parkedSince > RESTART_WAIT_MS) {
      this.caller.fail(c.id, new ActorUnavailableError(`actor ${actorId} did not come back within ${RESTART_WAIT_MS} ms`));
      return;
    }
    let set = this.parked.get(actorId);
    if (!set) this.parked.set(actorId, (set = new Set()));
    set.add(c.id);
    setTimeout(() => {
      if (!set!.delete(c.id)) return;
      if (this.restarting.has(actorId)) this.park(actorId, c);
      else this.caller.resend(c.id);
    }, 1000).unref();
  }

  /**
   * The server says nobody listens: the call was never delivered, so re-sending is always
   * safe. Ask the directory what the actor is doing and wait for it, or fail with the reason.
   */
  private noResponders(c: PendingCall): void {
    if (c.subject === HEAD) {
      const started = (c as PendingCall & { headSince?: number });
      started.headSince ??= Date.now();
      if (Date.now() - started.headSince > HEAD_WAIT_MS) {
        this.caller.fail(c.id, new ActorUnavailableError(`no head answered for ${HEAD_WAIT_MS} ms: is a node of the cluster running?`));
      } else setTimeout(() => this.caller.resend(c.id), 100);
      return;
    }
    if (!c.subject.startsWith(ACTOR_PREFIX)) {
      this.caller.fail(c.id, new ActorUnavailableError(`nobody serves ${c.subject}`));
      return;
    }
    const id = c.subject.slice(ACTOR_PREFIX.length);
    const dead = this.dead.get(id);
    if (dead) return this.caller.fail(c.id, new ActorDiedError(`actor ${id} is dead: ${dead}`));
    c.parked = true;
    void this.kv(BUCKET.actors)
      .then((kv) => kv.get(id))
      .then((e) => {
        const rec = e && e.operation === "PUT" && e.value.length ? unpack<{ state: string; deathReason?: string }>(e.value) : undefined;
        if (!rec) return this.caller.fail(c.id, new ActorUnavailableError(`no actor ${id} in the cluster`));
        if (rec.state === "dead") {
          this.dead.set(id, rec.deathReason ?? "dead");
          return this.caller.fail(c.id, new ActorDiedError(`actor ${id} is dead: ${rec.deathReason ?? ""}`));
        }
        if (rec.state === "alive") {
          // The directory still says alive: its death may not be reported yet. Try again shortly.
          const tries = ((c as PendingCall & { tries?: number }).tries ?? 0) + 1;
          (c as PendingCall & { tries?: number }).tries = tries;
          if (tries > 50) return this.caller.fail(c.id, new ActorUnavailableError(`actor ${id} is registered but nobody answers`));
          setTimeout(() => this.caller.resend(c.id), Math.min(20 * tries, 200));
          return;
        }
        this.park(id, c);
      })
      .catch((e) => this.caller.fail(c.id, e));
  }

  async close(): Promise<void> {
    this.caller.close();
    this.events.unsubscribe();
    this.elections.unsubscribe();
    if (current === this) current = undefined;
    if (!this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
  }
}

let current: Runtime | undefined;

/** The runtime of this process (inside an actor: the host's connection). */
export function currentRuntime(): Runtime | undefined {
  return current;
}

function ownConnection(what: string): NatsConnection {
  if (!current) throw new TroupeError(`${what} needs a cluster connection: call it inside an actor, or after init()`);
  return current.nc;
}

/** sendBroadcast (broadcast.ts) over this process's cluster connection (inside an actor: its host's). */
export function broadcastOnCluster(subject: string, receivers: number, blobs: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, opts?: BroadcastOptions): Promise<BroadcastStats> {
  return sendBroadcast(ownConnection("a broadcast"), subject, receivers, blobs, opts);
}

/** dropReceiver (broadcast.ts) over this process's cluster connection. */
export function dropReceiverOnCluster(subject: string, id: string): void {
  dropReceiver(ownConnection("dropping a broadcast's receiver"), subject, id);
}

/** receiveBroadcast (broadcast.ts) over this process's cluster connection. */
export function receiveOnCluster(subject: string, onBlob: (parts: Uint8Array[], index: number) => void | Promise<void>, opts?: BroadcastOptions): BroadcastReceiver {
  return receiveBroadcast(ownConnection("receiving a broadcast"), subject, onBlob, opts);
}

export { ActorRef };
