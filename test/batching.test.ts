// Calls and replies sent in one turn travel in batches (runtime/outbox.ts). These tests drive
// bursts through that path: order, big frames among small ones, "no responders" for a whole
// batch, a burst at a restarting actor, and cancelling a call that has not left yet.
import { expect } from "chai";
import { ActorUnavailableError, CallCancelledError, init, type Cluster } from "../runtime/index.js";
import { ActorRef } from "../runtime/codec.js";
import { actorSubject } from "../runtime/subjects.js";
import { BATCH_ITEMS_MAX } from "../runtime/outbox.js";
import type { Echo as EchoT } from "./fixtures/actors.js";
import { Echo } from "./helpers.js";

describe("batched calls", function () {
  let cluster: Cluster;
  before(async () => {
    cluster = await init({ nodeTimeoutMs: 2000 });
  });
  after(() => cluster?.shutdown());

  it("a burst of 2,000 calls: every caller gets its own answer, and calls run in the order they were made", async () => {
    const e = await cluster.actor(Echo, []);
    const n = 2000;
    const out = await Promise.all(Array.from({ length: n }, (_, i) => e.echo({ i, s: `v${i}` })));
    out.forEach((v, i) => expect(v).to.deep.equal({ i, s: `v${i}` }));
    // Per-caller order, with big (> 8 KiB) arguments mixed in: they go alone, never ahead of
    // the small calls queued before them.
    const big = "x".repeat(20_000);
    await Promise.all(Array.from({ length: 300 }, (_, i) => (e.record as (c: string, s: number, pad?: string) => Promise<number>)("burst", i, i % 7 === 3 ? big : undefined)));
    expect(await e.disorder()).to.equal(0);
  });

  it("a burst leaves as few messages of at most 64 calls; a lone call leaves alone, at once", async () => {
    const e = await cluster.actor(Echo, []);
    const nc = cluster.runtime.nc;
    // A second subscriber on the actor's subject sees every message the caller publishes.
    const sizes: number[] = [];
    const spy = nc.subscribe(actorSubject(e.actorId), { callback: (_err, m) => void sizes.push(m.data.byteLength) });
    await nc.flush();
    const n = 2000;
    await Promise.all(Array.from({ length: n }, (_, i) => e.echo(i)));
    await nc.flush();
    const burst = sizes.splice(0);
    expect(burst.length).to.be.at.least(Math.ceil(n / BATCH_ITEMS_MAX));
    expect(burst.length).to.be.at.most(Math.ceil(n / BATCH_ITEMS_MAX) + 2);
    // Sequential calls are not held back for company: each is its own message, and answered.
    for (let i = 0; i < 5; i++) expect(await e.echo(i)).to.equal(i);
    await nc.flush();
    expect(sizes.length).to.equal(5);
    spy.unsubscribe();
  });

  it("a burst to an actor that does not exist fails every call with 'no actor', none hangs", async () => {
    const ghost = cluster.runtime.handle<EchoT>(new ActorRef("no-such-actor-id", undefined, 0));
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => ghost.echo(i).then(() => "ok", (x) => x)));
    for (const r of results) {
      expect(r).to.be.instanceOf(ActorUnavailableError);
      expect(r.message).to.match(/no actor/);
    }
  });

  it("a burst at an actor being restarted waits for it and is answered by the new process", async () => {
    const e = await cluster.actor(Echo, [], { maxRestarts: 1, process: "dedicated" });
    const before = await e.pid();
    await cluster.kill(e, { restart: true });
    const pids = await Promise.all(Array.from({ length: 100 }, () => e.pid()));
    expect(new Set(pids).size).to.equal(1);
    expect(pids[0]).to.not.equal(before);
  });

  it("cancelling a call in the same turn it was made: it is cancelled, the actor is unharmed", async () => {
    const e = await cluster.actor(Echo, []);
    const ctrl = new AbortController();
    const calls = Array.from({ length: 20 }, (_, i) => e.echo(i));
    const cancelled = e.$with({ signal: ctrl.signal }).waitForCancel();
    ctrl.abort();
    expect(await cancelled.catch((x) => x)).to.be.instanceOf(CallCancelledError);
    expect(await Promise.all(calls)).to.deep.equal(Array.from({ length: 20 }, (_, i) => i));
    expect(await e.echo("still here")).to.equal("still here");
  });
});
