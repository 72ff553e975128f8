// Stateless tasks, the module allowlist, authentication, and tracing across processes.
import { expect } from "chai";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createUser } from "@nats-io/nkeys";
import { ConfigError, init, NodeAgent, RemoteMethodError, startNatsServer, actorClass, type Cluster } from "../runtime/index.js";
import { Chain, Echo, TASKS, until } from "./helpers.js";

describe("stateless tasks", function () {
  let cluster: Cluster;
  before(async () => {
    cluster = await init();
  });
  after(async () => {
    await cluster?.shutdown();
  });

  it("runs task functions on the node's piscina worker threads", async () => {
    const square = cluster.task<(x: number) => number>(TASKS, "square");
    expect(await Promise.all([1, 2, 3, 4].map((x) => square(x)))).to.deep.equal([1, 4, 9, 16]);
    const where = await cluster.task<() => { pid: number; threadId: number }>(TASKS, "whereAmI")();
    expect(where.threadId).to.be.greaterThan(0); // a worker thread, not the main one
    const scaled = await cluster.task<(a: Float32Array, k: number) => Float32Array>(TASKS, "scale")(new Float32Array([1, 2.5]), 2);
    expect(scaled).to.be.instanceOf(Float32Array);
    expect(Array.from(scaled)).to.deep.equal([2, 5]);
  });

  it("refuses modules outside the allowed paths, for tasks and actors", async () => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-outside-"));
    const file = join(dir, "evil.mjs");
    writeFileSync(file, "export function run() { return 'ran'; }\nexport class Evil { hi() { return 'hi'; } }\n");
    const err = await cluster.task(file, "run")().catch((x) => x);
    expect(err).to.be.instanceOf(ConfigError);
    expect(err.message).to.match(/outside the paths this node allows/);
    const err2 = await cluster.actor(actorClass(file, "Evil"), []).catch((x) => x);
    expect(err2).to.be.instanceOf(ConfigError);
  });
});

describe("authentication", function () {
  it("rejects a client without credentials; token, user/password and nkey are accepted", async () => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-auth-"));
    const user = createUser();
    const seedFile = join(dir, "user.nk");
    writeFileSync(seedFile, new TextDecoder().decode(user.getSeed()));
    const conf = join(dir, "auth.conf");
    writeFileSync(conf, `authorization { users = [ { user: "alice", password: "s3cret" }, { nkey: "${user.getPublicKey()}" } ] }\n`);
    const server = await startNatsServer({ token: null, args: ["-c", conf] });
    try {
      const noCreds = await init({ cluster: server.url }).catch((x) => x);
      expect(noCreds).to.be.instanceOf(ConfigError);
      expect(noCreds.message).to.match(/authentication|authorization/i);
      const wrong = await init({ cluster: { url: server.url, user: "alice", pass: "nope" } }).catch((x) => x);
      expect(wrong).to.be.instanceOf(ConfigError);
      // user/password embedded in the URL, as `--cluster` takes it
      const u = server.url.replace("nats://", "nats://alice:s3cret@");
      const node = await NodeAgent.start({ address: { url: server.url, user: "alice", pass: "s3cret" } });
      const c1 = await init({ cluster: u });
      const e = await c1.actor(Echo, []);
      expect(await e.echo("authenticated")).to.equal("authenticated");
      const c2 = await init({ cluster: { url: server.url, nkeySeedFile: seedFile } });
      expect(await c2.info()).to.have.property("nodes");
      await c1.shutdown();
      await c2.shutdown();
      await node.stop();
    } finally {
      await server.stop();
    }
    const tokenServer = await startNatsServer({ token: "tok-123" });
    try {
      expect(await init({ cluster: tokenServer.url }).catch((x) => x)).to.be.instanceOf(ConfigError);
      const c3 = await init({ cluster: tokenServer.url.replace("nats://", "nats://tok-123@") });
      await c3.shutdown();
    } finally {
      await tokenServer.stop();
    }
  });
});

describe("tracing", function () {
  it("joins the caller's producer span and the actor's consumer span across three processes", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "troupe-trace-")), "traces.jsonl");
    const cluster = await init({ tracesFile: file });
    try {
      const e = await cluster.actor(Echo, [], { process: "dedicated" });
      const c = await cluster.actor(Chain, [e], { process: "dedicated" });
      expect(await c.forward("traced")).to.equal("traced");
    } finally {
      await cluster.shutdown();
    }
    type S = { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: string; pid: number };
    const spans = await until("the hosts to flush their spans", () => {
      if (!existsSync(file)) return undefined;
      const all = readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as S);
      return all.some((s) => s.name.endsWith(".echo") && s.kind === "CONSUMER") ? all : undefined;
    }, 10_000);
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const echoConsumer = spans.find((s) => s.name.endsWith(".echo") && s.kind === "CONSUMER")!;
    // echo consumer ← producer in the Chain host ← forward consumer ← producer in the driver
    const chain: S[] = [echoConsumer];
    let cur: S | undefined = echoConsumer;
    while (cur?.parentSpanId && (cur = byId.get(cur.parentSpanId))) chain.push(cur);
    expect(chain.map((s) => s.kind)).to.deep.equal(["CONSUMER", "PRODUCER", "CONSUMER", "PRODUCER"]);
    expect(new Set(chain.map((s) => s.traceId)).size).to.equal(1);
    expect(new Set(chain.map((s) => s.pid)).size).to.equal(3);
    expect(chain[3].pid).to.equal(process.pid);
  });

  it("errors in spans: a failing call records the exception", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "troupe-trace-")), "traces.jsonl");
    const cluster = await init({ tracesFile: file });
    try {
      const e = await cluster.actor(Echo, []);
      expect(await e.fail("boom").catch((x) => x)).to.be.instanceOf(RemoteMethodError);
    } finally {
      await cluster.shutdown();
    }
    const spans = await until("spans", () => {
      const all = existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)) : [];
      return all.filter((s) => /\.fail( send)?$/.test(s.name)).length >= 2 ? all : undefined;
    }, 10_000);
    for (const s of spans.filter((x: { name: string }) => /\.fail( send)?$/.test(x.name))) expect(s.status.code).to.equal(2);
  });
});
