// Placement on a cluster of node processes: resource demands, affinity, placement groups
// with every strategy, all-or-nothing reservation, removal, GPUs.
import { expect } from "chai";
import type { ChildProcess } from "node:child_process";
import { init, UnschedulableError, type Cluster } from "../runtime/index.js";
import { placeActor, placeGroup, type NodeView } from "../runtime/scheduler.js";
import { Echo, startNodeProcess, stopProcess, until } from "./helpers.js";

describe("the scheduler (pure)", () => {
  const node = (id: string, cpu: number, used = 0): NodeView => ({ id, total: { cpu }, available: { cpu: cpu - used }, actors: 0 });

  it("places an actor on the least loaded node that fits, waits when busy, refuses the impossible", () => {
    expect(placeActor([node("a", 4, 3), node("b", 4, 1)], { cpu: 1 })).to.deep.equal({ ok: "b" });
    expect(placeActor([node("a", 4, 4)], { cpu: 1 })).to.have.property("wait");
    expect(placeActor([node("a", 4)], { cpu: 5 })).to.have.property("never");
    expect(placeActor([node("a", 4)], { cpu: 0.5 }, { nodeId: "zz" })).to.have.property("never");
    expect(placeActor([node("a", 4), node("b", 4, 4)], { cpu: 1 }, { nodeId: "b", soft: true })).to.deep.equal({ ok: "a" });
  });

  it("places groups by strategy, all or nothing", () => {
    const nodes = [node("a", 4), node("b", 4), node("c", 4)];
    const two = [{ cpu: 1 }, { cpu: 1 }];
    const pack = placeGroup(nodes, two, "PACK") as { ok: string[] };
    expect(new Set(pack.ok).size).to.equal(1);
    const spread = placeGroup(nodes, [{ cpu: 1 }, { cpu: 1 }, { cpu: 1 }], "SPREAD") as { ok: string[] };
    expect(new Set(spread.ok).size).to.equal(3);
    expect(placeGroup(nodes, [{ cpu: 3 }, { cpu: 3 }], "STRICT_PACK")).to.have.property("never");
    expect(placeGroup(nodes, [{ cpu: 1 }, { cpu: 1 }, { cpu: 1 }, { cpu: 1 }], "STRICT_SPREAD")).to.have.property("never");
    expect(placeGroup([node("a", 4, 3), node("b", 4, 3)], [{ cpu: 1 }, { cpu: 1 }, { cpu: 1 }], "PACK")).to.have.property("wait");
    // PACK overflows to a second node rather than fail
    const over = placeGroup([node("a", 2), node("b", 2)], [{ cpu: 1 }, { cpu: 1 }, { cpu: 1 }], "PACK") as { ok: string[] };
    expect(over.ok.filter((x) => x === over.ok[0]).length).to.equal(2);
  });
});

describe("placement on a cluster of three node processes", function () {
  let cluster: Cluster;
  const procs: ChildProcess[] = [];
  const ids: string[] = [];
  before(async () => {
    // The driver's own node offers nothing, so everything lands on the node processes.
    cluster = await init({ resources: { cpu: 0, memory: 0 } });
    for (const r of ["cpu=2,gpu=2", "cpu=2", "cpu=2"]) {
      const { child, nodeId } = await startNodeProcess(cluster, ["--resources", r]);
      procs.push(child);
      ids.push(nodeId);
    }
  });
  after(async () => {
    await Promise.all(procs.map((p) => stopProcess(p)));
    await cluster?.shutdown();
  });

  it("sees three node processes and their resources", async () => {
    const info = await cluster.info();
    for (const id of ids) expect(info.nodes.some((n) => n.id === id)).to.equal(true);
    expect(info.nodes.find((n) => n.id === ids[0])!.total.gpu).to.equal(2);
  });

  it("places by resource demand, fractional GPUs included, and sets CUDA_VISIBLE_DEVICES", async () => {
    const a = await cluster.actor(Echo, [], { resources: { gpu: 0.5 } });
    const b = await cluster.actor(Echo, [], { resources: { gpu: 0.5 } });
    const c = await cluster.actor(Echo, [], { resources: { gpu: 1 } });
    const devs = [await a.env("CUDA_VISIBLE_DEVICES"), await b.env("CUDA_VISIBLE_DEVICES"), await c.env("CUDA_VISIBLE_DEVICES")];
    expect(devs[0]).to.match(/^[01]$/);
    expect(devs[1]).to.equal(devs[0]); // two halves share one GPU
    expect(devs[2]).to.equal(devs[0] === "0" ? "1" : "0");
    const node0 = (await cluster.info()).nodes.find((n) => n.id === ids[0])!;
    expect(node0.available.gpu).to.equal(0);
    // No GPU left anywhere: the next GPU actor waits; killing one lets it through.
    let placed = false;
    const waiting = cluster.actor(Echo, [], { resources: { gpu: 1 } }).then((h) => ((placed = true), h));
    await until("the head to hold the GPU actor as waiting", async () => (await cluster.info()).waiting === 1);
    expect((await cluster.info()).actors.pending).to.equal(1);
    expect(placed).to.equal(false);
    await cluster.kill(c);
    const d = await waiting;
    expect(await d.env("CUDA_VISIBLE_DEVICES")).to.equal(devs[2]);
    for (const h of [a, b, d]) await cluster.kill(h);
  });

  it("honours hard node affinity", async () => {
    const count = async () => new Map((await cluster.info()).nodes.map((n) => [n.id, n.actors]));
    const before = await count();
    const e = await cluster.actor(Echo, [], { affinity: { nodeId: ids[2] } });
    await e.echo(1);
    // One more actor on that node, and on no other.
    const after = await count();
    for (const id of ids) expect(after.get(id), id).to.equal(before.get(id)! + (id === ids[2] ? 1 : 0));
    await cluster.kill(e);
  });

  it("STRICT_SPREAD puts each bundle on its own node; actors run inside their bundle", async () => {
    const pg = await cluster.placementGroup({ bundles: [{ cpu: 1 }, { cpu: 1 }, { cpu: 1 }], strategy: "STRICT_SPREAD" });
    expect(new Set(pg.nodes).size).to.equal(3);
    const actors = await Promise.all([0, 1, 2].map((i) => cluster.actor(Echo, [], { resources: { cpu: 1 }, placement: { group: pg.id, bundleIndex: i } })));
    const pids = await Promise.all(actors.map((a) => a.pid()));
    expect(new Set(pids).size).to.equal(3);
    // Removing the group releases its reservation and kills its actors.
    await pg.remove();
    const err = await until("the group's actors to die", async () => {
      const r = await actors[0].echo(1).catch((x) => x);
      return r instanceof Error ? r : undefined;
    });
    expect(err.name).to.equal("ActorDiedError");
    const info = await cluster.info();
    for (const id of ids) expect(info.nodes.find((n) => n.id === id)!.available.cpu).to.equal(2);
  });

  it("STRICT_PACK puts every bundle on one node; PACK and SPREAD place what fits", async () => {
    const sp = await cluster.placementGroup({ bundles: [{ cpu: 0.5 }, { cpu: 0.5 }], strategy: "STRICT_PACK" });
    expect(new Set(sp.nodes).size).to.equal(1);
    const spread = await cluster.placementGroup({ bundles: [{ cpu: 0.5 }, { cpu: 0.5 }, { cpu: 0.5 }], strategy: "SPREAD" });
    expect(new Set(spread.nodes).size).to.equal(3);
    const pack = await cluster.placementGroup({ bundles: [{ cpu: 0.25 }, { cpu: 0.25 }], strategy: "PACK" });
    expect(new Set(pack.nodes).size).to.equal(1);
    await Promise.all([sp.remove(), spread.remove(), pack.remove()]);
  });

  it("reserves all-or-nothing: a group that cannot fit now takes nothing, then fits once room frees up", async () => {
    const big = await cluster.placementGroup({ bundles: [{ cpu: 2 }, { cpu: 2 }], strategy: "SPREAD" });
    let placed = false;
    // Needs three nodes with 1 cpu free: only one is free now.
    const pending = cluster.placementGroup({ bundles: [{ cpu: 1 }, { cpu: 1 }, { cpu: 1 }], strategy: "STRICT_SPREAD" }).then((g) => ((placed = true), g));
    await until("the head to hold the group as waiting", async () => (await cluster.info()).waiting === 1);
    expect(placed).to.equal(false);
    const info = await cluster.info();
    const free = info.nodes.filter((n) => ids.includes(n.id)).map((n) => n.available.cpu).sort();
    expect(free).to.deep.equal([0, 0, 2]); // nothing was partly reserved
    await big.remove();
    const g = await pending;
    expect(new Set(g.nodes).size).to.equal(3);
    await g.remove();
  });

  it("refuses at once a group that can never fit", async () => {
    const e1 = await cluster.placementGroup({ bundles: [{ cpu: 3 }] }).catch((x) => x);
    expect(e1).to.be.instanceOf(UnschedulableError);
    const e2 = await cluster.placementGroup({ bundles: [{ cpu: 1 }, { cpu: 1 }, { cpu: 1 }, { cpu: 1 }, { cpu: 1 }], strategy: "STRICT_SPREAD" }).catch((x) => x);
    expect(e2).to.be.instanceOf(UnschedulableError);
    expect(e2.message).to.match(/distinct nodes/);
  });
});
