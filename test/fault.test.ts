// Fault tolerance: kill -9 of an actor's process, of a node process, and a NATS restart.
import { expect } from "chai";
import { spawn } from "node:child_process";
import { ActorDiedError, ActorUnavailableError, init, startNatsServer, NodeAgent, Cluster, type NatsServer } from "../runtime/index.js";
import { Echo, pidAlive, ROOT, startNodeProcess, stopProcess, until } from "./helpers.js";
import { descendants } from "./leftovers.js";

describe("fault tolerance", function () {
  let cluster: Cluster;
  before(async () => {
    cluster = await init({ nodeTimeoutMs: 1500 });
  });
  after(async () => {
    await cluster?.shutdown();
  });

  it("kill -9 of an actor's process during a call: the caller gets ActorDiedError, the actor restarts", async () => {
    const e = await cluster.actor(Echo, [], { maxRestarts: 2, process: "dedicated", maxConcurrency: 2 });
    const pid = await e.pid();
    const inFlight = e.tally("killed", 5000);
    await until("the call to be running", async () => (await e.tallied("killed")) === 1);
    process.kill(pid, "SIGKILL");
    const err = await inFlight.catch((x) => x);
    expect(err).to.be.instanceOf(ActorDiedError);
    // New calls wait for the restart and are served by a fresh process (constructor re-run).
    const pid2 = await e.pid();
    expect(pid2).to.not.equal(pid);
    expect(await e.echo("back")).to.equal("back");
  });

  it("retries an in-flight call after a restart when maxTaskRetries allows it", async () => {
    const e = await cluster.actor(Echo, [], { maxRestarts: 1, maxTaskRetries: 1, process: "dedicated", maxConcurrency: 2 });
    const pid = await e.pid();
    const inFlight = e.tally("retried", 1500);
    await until("the call to be running", async () => (await e.tallied("retried")) === 1);
    process.kill(pid, "SIGKILL");
    // Run again from the start by the fresh instance (its own first count).
    expect(await inFlight).to.equal(1);
    expect(await e.pid()).to.not.equal(pid);
  });

  it("maxRestarts: -1 restarts an actor however often its process dies", async () => {
    const e = await cluster.actor(Echo, [], { maxRestarts: -1, process: "dedicated" });
    const pids = [await e.pid()];
    for (let i = 0; i < 4; i++) {
      process.kill(pids[pids.length - 1], "SIGKILL");
      pids.push(await until("the actor's next process", async () => {
        const pid = await e.pid().catch(() => undefined);
        return pid !== undefined && !pids.includes(pid) ? pid : undefined;
      }));
    }
    expect(new Set(pids).size).to.equal(5);
    expect(await e.echo("still here")).to.equal("still here");
    await cluster.kill(e);
  });

  it("an actor with no restarts left is dead: calls fail fast with ActorDiedError", async () => {
    const e = await cluster.actor(Echo, [], { process: "dedicated" });
    process.kill(await e.pid(), "SIGKILL");
    const err = await until("the death to be reported", async () => {
      const r = await e.echo(1).catch((x) => x);
      return r instanceof ActorDiedError ? r : undefined;
    });
    expect(err.message).to.match(/dead|died/);
  });

  it("when a shared host dies, each of its actors follows its own restart policy", async () => {
    const keep = await cluster.actor(Echo, ["keep"], { maxRestarts: 1, process: "shared" });
    const lose = await cluster.actor(Echo, ["lose"], { maxRestarts: 0, process: "shared" });
    const pids = new Set([await keep.pid(), await lose.pid()]);
    for (const pid of pids) process.kill(pid, "SIGKILL");
    // A call sent before the death is known may be lost with the process (at-most-once): retry.
    expect(await until("the restarted actor to answer", () => keep.echo("alive").catch(() => undefined))).to.equal("alive");
    const err = await until("the second actor to be declared dead", async () => {
      const r = await lose.echo(1).catch((x) => x);
      return r instanceof ActorDiedError ? r : undefined;
    });
    expect(err).to.be.instanceOf(ActorDiedError);
  });

  it("kill -9 of a node process: its actors come back on another node, its hosts die with it", async () => {
    const { child, nodeId } = await startNodeProcess(cluster, ["--resources", "cpu=4,special=1"]);
    // `special` exists only on the node process: the actor must land there.
    const e = await cluster.actor(Echo, ["moved"], { resources: { special: 1 }, maxRestarts: 1, process: "dedicated" });
    const hostPid = await e.pid();
    const info = await cluster.info();
    expect(info.nodes.find((n) => n.id === nodeId)!.actors).to.equal(1);
    // A second actor that may restart anywhere.
    const anywhere = await cluster.actor(Echo, [], { maxRestarts: 1, affinity: { nodeId, soft: true } });
    const before = await anywhere.pid();
    child.kill("SIGKILL");
    await until("the node's host process to exit", () => !pidAlive(hostPid), 10_000);
    // The actor that can live elsewhere comes back elsewhere.
    const after = await anywhere.pid();
    expect(after).to.not.equal(before);
    await until("the dead node to leave the cluster", async () => !(await cluster.info()).nodes.some((n) => n.id === nodeId), 10_000);
    // The one that needs `special` has nowhere to go: it is declared dead, not left waiting.
    const err = await until("the pinned actor to be declared dead", async () => {
      const r = await e.echo(1).catch((x) => x);
      return r instanceof Error ? r : undefined;
    });
    expect(err).to.be.instanceOf(ActorDiedError);
    expect(err.message).to.match(/never be placed|special/);
  });

  it("a node frozen past the timeout is fenced when it wakes: its stale hosts die, it rejoins empty", async () => {
    const { child, nodeId } = await startNodeProcess(cluster, ["--resources", "cpu=4,frozen=1"]);
    try {
      const e = await cluster.actor(Echo, [], { maxRestarts: 1, process: "dedicated", affinity: { nodeId, soft: true } });
      const stalePid = await e.pid();
      // The whole machine freezes: the node and its host process.
      child.kill("SIGSTOP");
      process.kill(stalePid, "SIGSTOP");
      await until("the frozen node to be declared dead", async () => !(await cluster.info()).nodes.some((n) => n.id === nodeId), 10_000);
      // The actor came back on a live node while the old copy sleeps.
      // A call racing the death notice may fail (it may or may not have run); later ones
      // are held until the new copy is up, not swallowed by the frozen one.
      await until("the actor to answer from its new process", async () => {
        const pid = await e.pid().catch(() => undefined);
        return pid !== undefined && pid !== stalePid;
      }, 10_000);
      child.kill("SIGCONT");
      process.kill(stalePid, "SIGCONT");
      await until("the stale host to be killed", () => !pidAlive(stalePid), 10_000);
      const back = await until("the node to rejoin", async () => (await cluster.info()).nodes.find((n) => n.id === nodeId), 10_000);
      expect(back.actors).to.equal(0);
      expect(back.available.frozen).to.equal(1);
    } finally {
      child.kill("SIGCONT");
      await stopProcess(child);
    }
  });
});

describe("head failover", function () {
  this.timeout(60_000);
  let server: NatsServer | undefined;
  let cluster: Cluster | undefined;
  let survivor: NodeAgent | undefined;
  let head: ReturnType<typeof spawn> | undefined;
  after(async () => {
    if (head) await stopProcess(head, "SIGKILL");
    await cluster?.shutdown();
    await survivor?.stop();
    await server?.stop();
  });

  it("kill -9 of the head's node: another node takes the lease, and the cluster's state (names, actors) survives", async () => {
    server = await startNatsServer({ token: "failover" });
    const address = { url: server.url, token: "failover" };
    // The first node is the only candidate, so it is the head.
    head = spawn(process.execPath, ["driver.js", "node", "--cluster", server.url], { cwd: ROOT, env: { ...process.env, TROUPE_NATS_TOKEN: "failover" }, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    head.stdout!.on("data", (d) => (out += d));
    const headId = await until("the first node to join", () => /node (\S+) joined/.exec(out)?.[1], 20_000);
    cluster = await init({ cluster: address });
    survivor = await NodeAgent.start({ address, nodeTimeoutMs: 2000 });
    await until("both nodes", async () => (await cluster!.info()).nodes.length === 2);
    // A named actor with state, on the node that survives.
    const kept = await cluster.actor(Echo, ["kept"], { name: "keeper", affinity: { nodeId: survivor.id } });
    expect(await kept.tally("before")).to.equal(1);
    process.kill(head.pid!, "SIGKILL");
    // A query that reaches the dead head is asked again of the new one, not left hanging.
    const asked = await cluster.info();
    expect(asked.nodes.map((n) => n.id)).to.include(survivor.id);
    // The survivor takes the lease, loads the head's state from JetStream and declares the old
    // head's node dead.
    const info = await until("the new head to answer without the dead node", async () => {
      const i = await cluster!.info().catch(() => undefined);
      return i && i.nodes.length === 1 && i.nodes[0].id === survivor!.id ? i : undefined;
    }, 40_000);
    expect(info.nodes.map((n) => n.id)).to.not.include(headId);
    // The name still resolves, to the same live instance (its count went on, not restarted).
    const found = await cluster.getActor<InstanceType<typeof import("./fixtures/actors.js").Echo>>("keeper");
    expect(found?.actorId).to.equal(kept.actorId);
    expect(await found!.tally("before")).to.equal(2);
    // And the new head schedules: a new actor lands on the survivor.
    const fresh = await cluster.actor(Echo, []);
    expect(await fresh.echo("after failover")).to.equal("after failover");
  });
});

describe("a NATS server restart", function () {
  let server: NatsServer | undefined;
  let cluster: Cluster | undefined;
  let node: NodeAgent | undefined;
  after(async () => {
    await cluster?.shutdown();
    await node?.stop();
    await server?.stop();
  });

  it("is ridden out: calls in flight are answered once, none runs twice", async () => {
    // A server we can restart on the same port and store: the cluster joins it from outside.
    server = await startNatsServer({ token: "restart-test" });
    const port = server.port;
    const storeDir = server.storeDir;
    const address = { url: server.url, token: "restart-test" };
    node = await NodeAgent.start({ address, nodeTimeoutMs: 3000 });
    cluster = await init({ cluster: address });
    // Two calls each, one of them run at a time so that tallied() answers while tally() runs.
    const retried = await cluster.actor(Echo, [], { maxTaskRetries: 1, maxConcurrency: 2 });
    const once = await cluster.actor(Echo, [], { maxConcurrency: 2 });
    expect(await retried.echo(1)).to.equal(1);
    // Calls running when the server goes away: one's reply is due while it is down (lost by
    // the client, answered from the callee's memory), the other's after it is back.
    const duringOutage = once.$with({ timeoutMs: 20_000 }).tally("during", 300);
    const afterOutage = retried.$with({ timeoutMs: 20_000 }).tally("after", 4000);
    await until("both calls to be running", async () => (await once.tallied("during")) === 1 && (await retried.tallied("after")) === 1);
    const statuses = cluster.runtime.nc.status();
    // Stop the server (keeping its store), and bring it back on the same port once the
    // first call has finished.
    server.process.kill("SIGKILL");
    await new Promise((r) => server!.process.once("exit", r));
    for await (const s of statuses) if (s.type === "disconnect") break;
    // A call made while the client knows it is disconnected is held and sent once, after.
    const held = once.$with({ timeoutMs: 20_000 }).tally("held");
    await new Promise((r) => setTimeout(r, 1000));
    server = await startNatsServer({ port, storeDir, token: "restart-test" });
    expect(await duringOutage).to.equal(1);
    expect(await afterOutage).to.equal(1);
    expect(await held).to.equal(1);
    // Each ran exactly once, retries allowed or not.
    expect(await once.tallied("during")).to.equal(1);
    expect(await retried.tallied("after")).to.equal(1);
    expect(await once.tallied("held")).to.equal(1);
    // The control plane survived too: a new actor can be created after the restart.
    const e2 = await cluster.actor(Echo, []);
    expect(await e2.echo("new")).to.equal("new");
  });
});

describe("embedded cluster lifecycle", function () {
  it("leaves no nats-server or host process behind after kill -9 of the driver", async () => {
    const script = `
      import { init, actorClass } from "troupe";
      const Echo = actorClass(${JSON.stringify(new URL("./fixtures/actors.js", import.meta.url).href)}, "Echo");
      const c = await init();
      const e = await c.actor(Echo, [], { process: "dedicated" });
      console.log(JSON.stringify({ host: await e.pid() }));
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const { host } = await until("the driver to start", () => (out.includes("}") ? JSON.parse(out) : undefined));
    const natsPids = await childrenNamed(child.pid!, "nats-server");
    expect(natsPids.length).to.equal(1);
    child.kill("SIGKILL");
    await until("nats-server and the host to exit", () => !pidAlive(natsPids[0]) && !pidAlive(host), 10_000);
  });

  it("stops everything on SIGTERM", async () => {
    const script = `
      import { init } from "troupe";
      await init();
      console.log("up");
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    await until("the driver to start", () => new Promise<boolean>((r) => child.stdout.once("data", () => r(true))));
    const natsPids = await childrenNamed(child.pid!, "nats-server");
    expect(natsPids.length).to.equal(1);
    await stopProcess(child, "SIGTERM");
    // Stopped by its own handler, which exits with the conventional 128 + 15, not killed by
    // the signal's default action (that would leave signalCode set and its children behind).
    expect(child.signalCode).to.equal(null);
    expect(child.exitCode).to.equal(143);
    await until("nats-server to exit", () => !pidAlive(natsPids[0]), 5000);
  });

  it("says how to install nats-server when it is missing", async () => {
    const saved = process.env.TROUPE_NATS_SERVER;
    process.env.TROUPE_NATS_SERVER = "/nonexistent/nats-server";
    try {
      const err = await init().catch((x) => x);
      expect(err.message).to.match(/nats-server/);
    } finally {
      if (saved === undefined) delete process.env.TROUPE_NATS_SERVER;
      else process.env.TROUPE_NATS_SERVER = saved;
    }
    const child = spawn(process.execPath, ["driver.js", "status"], { env: { ...process.env, TROUPE_NATS_SERVER: "/nonexistent/nats-server" }, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    const code = await new Promise((r) => child.once("exit", r));
    expect(code).to.equal(2);
    expect(err.trim().split("\n")).to.have.length(1);
    expect(err).to.match(/apt-get install nats-server/);
  });
});

describe("actors belong to the program that created them", function () {
  this.timeout(120_000);
  let cluster: Cluster | undefined;
  after(() => cluster?.shutdown());

  /** A program joined to `url` that creates an owned and a detached actor, prints their ids, then waits. */
  const program = (url: string, token: string) => spawn(process.execPath, ["--input-type=module", "-e", `
    import { init, actorClass } from "troupe";
    const Echo = actorClass(${JSON.stringify(new URL("./fixtures/actors.js", import.meta.url).href)}, "Echo");
    const c = await init({ cluster: { url: ${JSON.stringify(url)}, token: ${JSON.stringify(token)} } });
    const owned = await c.actor(Echo, []);
    const detached = await c.actor(Echo, [], { lifetime: "detached" });
    console.log(JSON.stringify({ owned: owned.actorId, detached: detached.actorId }));
    process.stdin.once("data", () => c.shutdown().then(() => process.exit(0)));
  `], { stdio: ["pipe", "pipe", "inherit"] });

  const started = async (child: ReturnType<typeof program>) => {
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    return until("the program to create its actors", () => (out.includes("}") ? JSON.parse(out) as { owned: string; detached: string } : undefined), 30_000);
  };
  const state = async (id: string) => (await cluster!.runtime.head<{ state: string; deathReason?: string } | undefined>("actorInfo", id));

  it("a program that shuts down stops its owned actors; detached ones stay", async () => {
    cluster = await init();
    const child = program(cluster.address.url, cluster.address.token!);
    const ids = await started(child);
    child.stdin!.write("stop\n");
    await new Promise((r) => child.once("exit", r));
    expect((await state(ids.owned))?.state).to.equal("dead");
    expect((await state(ids.detached))?.state).to.equal("alive");
  });

  it("kill -9 of the program: the head finds its owner gone and stops its owned actors", async () => {
    cluster ??= await init();
    const child = program(cluster.address.url, cluster.address.token!);
    const ids = await started(child);
    child.kill("SIGKILL");
    const dead = await until("the owned actor to stop", async () => ((await state(ids.owned))?.state === "dead" ? state(ids.owned) : undefined), 40_000);
    expect(dead!.deathReason).to.match(/the program that created it \(its owner\) is gone/);
    expect((await state(ids.detached))?.state).to.equal("alive");
  });
});

/** Pids of the descendants of `pid` running the program `name`. */
async function childrenNamed(pid: number, name: string): Promise<number[]> {
  const program = new RegExp(`(^|/)${name}( |$)`);
  return [...descendants(pid)].filter(([, p]) => program.test(p.args)).map(([child]) => child);
}
