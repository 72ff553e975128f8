// Actor creation and placement-group churn on an embedded cluster of 4 local nodes.
import { actorClass, init } from "../runtime/index.js";
import type { Echo as EchoT } from "../test/fixtures/actors.js";
import { log, size } from "./util.js";

const ACTORS = size(1000, 50);
const GROUPS = size(300, 10);

export async function run(): Promise<Record<string, number>> {
  const cluster = await init({ nodes: 4, resources: { cpu: 16 } });
  try {
    const Echo = actorClass<typeof EchoT>(new URL("../test/fixtures/actors.js", import.meta.url), "Echo");
    // Warm-up: start the shared host processes.
    await Promise.all(Array.from({ length: 8 }, () => cluster.actor(Echo, [])));
    let t = performance.now();
    const actors = [];
    for (let i = 0; i < ACTORS; i += 50) {
      actors.push(...(await Promise.all(Array.from({ length: 50 }, () => cluster.actor(Echo, [], { resources: { cpu: 0.01 } })))));
    }
    const actorsPerS = (ACTORS * 1000) / (performance.now() - t);
    const info = await cluster.info();
    log(`${ACTORS} actors over ${info.nodes.length} nodes: ${actorsPerS.toFixed(1)}/s; per node ${info.nodes.map((n) => n.actors).join(", ")}`);
    t = performance.now();
    for (let i = 0; i < GROUPS; i += 10) {
      const gs = await Promise.all(Array.from({ length: 10 }, () => cluster.placementGroup({ bundles: [{ cpu: 1 }, { cpu: 1 }], strategy: "SPREAD" })));
      await Promise.all(gs.map((g) => g.remove()));
    }
    const groupsPerS = (GROUPS * 1000) / (performance.now() - t);
    log(`placement groups created and removed: ${groupsPerS.toFixed(1)}/s`);
    return { actors_per_s: +actorsPerS.toFixed(1), placement_groups_per_s: +groupsPerS.toFixed(1), ray_actors_per_s_64vcpu: 550.7, ray_placement_groups_per_s_64vcpu: 764.6 };
  } finally {
    await cluster.shutdown();
  }
}
