// Actors and calls on an embedded cluster: creation, handles, names, streams, errors,
// ordering, concurrency, backpressure, timeouts, cancellation, big payloads.
import { expect } from "chai";
import {
  ActorDiedError, CallCancelledError, CallTimeoutError, ConfigError, init, PendingCallsLimitError, RemoteMethodError,
  Tensor, UnschedulableError, type Cluster,
} from "../runtime/index.js";
import { Broken, Chain, Echo, Slow, until } from "./helpers.js";

describe("actors on an embedded cluster", function () {
  let cluster: Cluster;
  before(async () => {
    cluster = await init({ resources: { cpu: 2, gpu: 0, memory: 8e9 } });
  });
  after(async () => {
    await cluster?.shutdown();
  });

  it("creates an actor and calls its methods; state persists between calls", async () => {
    const e = await cluster.actor(Echo, ["first"]);
    expect(await e.echo({ a: [1, "two", null] })).to.deep.equal({ a: [1, "two", null] });
    expect(await e.record("x", 0)).to.equal(0);
    expect(await e.record("x", 1)).to.equal(1);
    expect(await e.disorder()).to.equal(0);
  });

  it("runs actors in host processes, not in the driver", async () => {
    const e = await cluster.actor(Echo, []);
    const pid = await e.pid();
    expect(pid).to.be.a("number").and.not.equal(process.pid);
  });

  it("awaits onStart before the actor is handed out", async () => {
    const s = await cluster.actor(Slow, []);
    expect(await s.started()).to.equal(7);
  });

  it("looks up named actors and refuses a second actor with the same name", async () => {
    const e = await cluster.actor(Echo, ["named"], { name: "the-echo" });
    const found = await cluster.getActor<InstanceType<typeof import("./fixtures/actors.js").Echo>>("the-echo");
    expect(found!.actorId).to.equal(e.actorId);
    expect(await found!.echo(5)).to.equal(5);
    expect(await cluster.getActor("no-such-actor")).to.equal(undefined);
    const err = await cluster.actor(Echo, [], { name: "the-echo" }).catch((x) => x);
    expect(err).to.be.instanceOf(ConfigError);
    expect(err.message).to.match(/already exists/);
  });

  it("passes handles to other actors", async () => {
    const e = await cluster.actor(Echo, []);
    const c = await cluster.actor(Chain, [e]);
    expect(await c.nextId()).to.equal(e.actorId);
    expect(await c.forward("through two actors")).to.equal("through two actors");
  });

  it("streams async iterables back", async () => {
    const e = await cluster.actor(Echo, []);
    const got: number[] = [];
    for await (const x of await e.count(500)) got.push(x);
    expect(got).to.deep.equal(Array.from({ length: 500 }, (_, i) => i));
  });

  it("streams each item as it is yielded, not when the generator ends", async () => {
    // The generator holds its second item until the caller opens the gate, which the caller
    // does only after the first item reached it: a stream that waited for the end would hang.
    const e = await cluster.actor(Echo, [], { maxConcurrency: 2 });
    const got: number[] = [];
    for await (const x of await e.gated()) {
      got.push(x);
      if (x === 1) expect(await e.openGate()).to.equal(true);
    }
    expect(got).to.deep.equal([1, 2]);
  });

  it("raises remote errors with class, code, message, stack and cause", async () => {
    const e = await cluster.actor(Echo, []);
    const err = await e.fail("bad input at line 3").catch((x) => x);
    expect(err).to.be.instanceOf(RemoteMethodError);
    expect(err.remote.name).to.equal("SyntaxError");
    expect(err.remote.code).to.equal("E_OUTER");
    expect(err.remote.message).to.equal("bad input at line 3");
    expect(err.remote.stack).to.match(/fixtures\/actors/);
    expect(err.cause).to.be.instanceOf(RemoteMethodError);
    expect(err.cause.remote).to.include({ name: "RangeError", code: "E_INNER", message: "inner cause" });
    const missing = await (e as any).noSuchMethod().catch((x: Error) => x);
    expect(missing).to.be.instanceOf(RemoteMethodError);
    expect(missing.message).to.match(/no method 'noSuchMethod'/);
  });

  it("fails creation with the constructor's error and releases the actor", async () => {
    const err = await cluster.actor(Broken, []).catch((x) => x);
    expect(err).to.be.instanceOf(RemoteMethodError);
    expect(err.message).to.match(/constructor refused: bad config value 42/);
  });

  it("fails fast with UnschedulableError when no node can ever fit the actor", async () => {
    const err = await cluster.actor(Echo, [], { resources: { gpu: 1 } }).catch((x) => x);
    expect(err).to.be.instanceOf(UnschedulableError);
    expect(err.message).to.match(/gpu=1/);
    const err2 = await cluster.actor(Echo, [], { resources: { cpu: 64 } }).catch((x) => x);
    expect(err2).to.be.instanceOf(UnschedulableError);
    // Refused, not queued to wait for resources that will never come.
    expect((await cluster.info()).actors.pending).to.equal(0);
  });

  it("rejects bad actor options naming the field", async () => {
    const err = await cluster.actor(Echo, [], { maxRestarts: -5 } as never).catch((x) => x);
    expect(err).to.be.instanceOf(ConfigError);
    expect(err.message).to.match(/maxRestarts/);
  });

  it("keeps per-caller order under 10,000 concurrent calls", async () => {
    const e = await cluster.actor(Echo, []);
    const replies = await Promise.all(Array.from({ length: 10_000 }, (_, i) => e.record("bulk", i)));
    expect(replies).to.deep.equal(Array.from({ length: 10_000 }, (_, i) => i));
    expect(await e.disorder()).to.equal(0);
  });

  it("runs calls one at a time by default and in parallel with maxConcurrency", async () => {
    const serial = await cluster.actor(Echo, []);
    await Promise.all([serial.sleep(30), serial.sleep(30), serial.sleep(30)]);
    expect(await serial.peakConcurrency()).to.equal(1);
    const parallel = await cluster.actor(Echo, [], { maxConcurrency: 4 });
    await Promise.all(Array.from({ length: 8 }, () => parallel.sleep(50)));
    expect(await parallel.peakConcurrency()).to.equal(4);
  });

  it("refuses calls beyond maxPendingCalls with a typed error", async () => {
    const e = await cluster.actor(Echo, [], { maxPendingCalls: 2 });
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => e.sleep(100)));
    const refused = results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason);
    // one running + two waiting are accepted; the other three are refused
    expect(refused).to.have.length(3);
    for (const r of refused) expect(r).to.be.instanceOf(PendingCallsLimitError);
  });

  it("times out calls with CallTimeoutError", async () => {
    const e = await cluster.actor(Echo, []);
    const err = await e.$with({ timeoutMs: 100 }).sleep(2000).catch((x) => x);
    expect(err).to.be.instanceOf(CallTimeoutError);
  });

  it("currentCall() gives the method its name and the caller's deadline (0 without one)", async () => {
    const e = await cluster.actor(Echo, []);
    const before = Date.now();
    const info = await e.$with({ timeoutMs: 30_000 }).callInfo();
    const after = Date.now();
    expect(info.method).to.equal("callInfo");
    expect(info.deadline).to.be.within(before + 30_000, after + 30_000);
    expect((await e.callInfo()).deadline).to.equal(0);
  });

  it("cancels a running call: the caller gets CallCancelledError, the actor's signal aborts", async () => {
    const e = await cluster.actor(Echo, [], { maxConcurrency: 2 });
    const ctrl = new AbortController();
    const p = e.$with({ signal: ctrl.signal }).waitForCancel();
    await until("the call to be running", async () => (await e.waiting()) === 1, 5000);
    ctrl.abort();
    const err = await p.catch((x) => x);
    expect(err).to.be.instanceOf(CallCancelledError);
    // the actor's abort handler runs after the cancel message; poll rather than race it
    await until("the actor to see the abort", async () => (await e.cancelCount()) === 1, 5000);
  });

  it("round-trips a 50 MB Float32 tensor and typed arrays bit-exact through an actor", async () => {
    const e = await cluster.actor(Echo, []);
    const n = (50 * 1024 * 1024) / 4;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = Math.sin(i) * 1e3 + i * 1e-7;
    // special values too: NaN with a payload, -0, infinities, denormals
    const bits = new Uint32Array(data.buffer);
    bits[0] = 0x7fc00123;
    data[1] = -0;
    data[2] = Infinity;
    data[3] = 1e-42;
    const t = Tensor.fromFloat32(data, [n / 1024, 1024]);
    const back = await e.tensorBack(t);
    expect(back).to.be.instanceOf(Tensor);
    expect(back.dtype).to.equal("f32");
    expect(back.shape).to.deep.equal([n / 1024, 1024]);
    expect(Buffer.compare(Buffer.from(back.bytes), Buffer.from(t.bytes))).to.equal(0);
    const arr = new Float64Array([Math.PI, -0, NaN, 1e308]);
    const arrBack = (await e.echo(arr)) as Float64Array;
    expect(arrBack).to.be.instanceOf(Float64Array);
    expect(Buffer.from(arrBack.buffer).equals(Buffer.from(arr.buffer))).to.equal(true);
    const i64 = new BigInt64Array([1n, -(2n ** 63n)]);
    expect(Array.from((await e.echo(i64)) as BigInt64Array)).to.deep.equal([1n, -(2n ** 63n)]);
  });

  it("kills an actor on request: later calls fail with ActorDiedError", async () => {
    const e = await cluster.actor(Echo, []);
    expect(await e.echo(1)).to.equal(1);
    await cluster.kill(e);
    const err = await e.echo(2).catch((x) => x);
    expect(err).to.be.instanceOf(ActorDiedError);
  });
});
