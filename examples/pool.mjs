// A placement group and an actor pool mapping work over several nodes.
//   node examples/pool.mjs
import { init, actorClass } from "troupe";

const Worker = actorClass(new URL("./actors/worker.mjs", import.meta.url), "Worker");

// Four local nodes with 1 cpu each; on a real cluster, pass { cluster: "nats://…" } instead.
const cluster = await init({ nodes: 4, resources: { cpu: 1 } });
try {
  // One bundle per worker, spread over distinct nodes, reserved all-or-nothing.
  const pg = await cluster.placementGroup({ bundles: [{ cpu: 1 }, { cpu: 1 }, { cpu: 1 }, { cpu: 1 }], strategy: "STRICT_SPREAD" });
  console.log(`placement group ${pg.id}: bundles on ${new Set(pg.nodes).size} distinct nodes`);
  const workers = await Promise.all(
    pg.nodes.map((_, i) => cluster.actor(Worker, [i], { resources: { cpu: 1 }, placement: { group: pg.id, bundleIndex: i } })),
  );

  // A tiny actor pool: each worker takes the next item when it is free.
  const items = Array.from({ length: 40 }, (_, i) => 20_000 + i * 500);
  const results = [];
  let next = 0;
  await Promise.all(workers.map(async (w) => {
    while (next < items.length) results.push(await w.work(items[next++]));
  }));
  results.sort((a, b) => a.x - b.x);
  console.log(`mapped ${results.length} items; first: ${JSON.stringify(results[0])}`);
  console.log(`work per worker: ${JSON.stringify(await Promise.all(workers.map((w) => w.stats())))}`);
  console.log(`distinct worker processes: ${new Set(results.map((r) => r.pid)).size}`);
  await pg.remove();
} finally {
  await cluster.shutdown();
}
