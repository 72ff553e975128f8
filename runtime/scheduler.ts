// Placement decisions, as pure functions over a view of the nodes. The head owns the view
// and applies the decisions; nothing here does I/O.
import { fits, format, subtract, type Resources } from "./resources.js";

export interface NodeView {
  id: string;
  total: Resources;
  available: Resources;
  /** Actors placed there (tie-break: spread actors over equal nodes). */
  actors: number;
}

export type Strategy = "PACK" | "SPREAD" | "STRICT_PACK" | "STRICT_SPREAD";
export const STRATEGIES: Strategy[] = ["PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"];

/** A decision: where, or wait for resources to free up, or never (explains why). */
export type Placement<T> = { ok: T } | { wait: string } | { never: string };

export interface Affinity {
  nodeId: string;
  /** Soft affinity falls back to other nodes when the preferred one cannot take the actor. */
  soft?: boolean;
}

function load(n: NodeView): number {
  // The busier fraction among the resources the node has; spreads work evenly.
  let worst = 0;
  for (const k in n.total) if (n.total[k] > 0) worst = Math.max(worst, 1 - (n.available[k] ?? 0) / n.total[k]);
  return worst;
}

const byLoad = (a: NodeView, b: NodeView) => load(a) - load(b) || a.actors - b.actors || (a.id < b.id ? -1 : 1);

export function placeActor(nodes: NodeView[], demand: Resources, affinity?: Affinity): Placement<string> {
  let candidates = nodes;
  if (affinity) {
    const pinned = nodes.filter((n) => n.id === affinity.nodeId);
    if (!affinity.soft) {
      if (!pinned.length) return { never: `node ${affinity.nodeId} (hard affinity) is not in the cluster` };
      candidates = pinned;
    } else if (pinned.length && fits(pinned[0].available, demand)) {
      return { ok: pinned[0].id };
    }
  }
  if (!candidates.some((n) => fits(n.total, demand))) {
    return { never: `no node${affinity && !affinity.soft ? ` (affinity ${affinity.nodeId})` : ""} has ${format(demand)} in total` };
  }
  const free = candidates.filter((n) => fits(n.available, demand)).sort(byLoad);
  return free.length ? { ok: free[0].id } : { wait: `waiting for ${format(demand)} to free up` };
}

/**
 * Places the bundles of a placement group, all or nothing. Returns one node id per bundle.
 * PACK puts bundles on as few nodes as it can; SPREAD on as many; the STRICT forms refuse
 * anything but one node / distinct nodes.
 */
export function placeGroup(nodes: NodeView[], bundles: Resources[], strategy: Strategy): Placement<string[]> {
  const never = feasibleEver(nodes, bundles, strategy);
  if (never) return { never };
  const avail = new Map(nodes.map((n) => [n.id, { ...n.available }]));
  const take = (id: string, b: Resources) => avail.set(id, subtract(avail.get(id)!, b));
  const out: string[] = [];
  const sorted = [...nodes].sort(byLoad);
  if (strategy === "STRICT_PACK") {
    const total = bundles.reduce((acc, b) => sumInto(acc, b), {} as Resources);
    const n = sorted.find((x) => fits(x.available, total));
    return n ? { ok: bundles.map(() => n.id) } : { wait: `no single node has ${format(total)} free now` };
  }
  if (strategy === "STRICT_SPREAD") {
    const used = new Set<string>();
    for (const b of bundles) {
      const n = sorted.find((x) => !used.has(x.id) && fits(avail.get(x.id)!, b));
      if (!n) return { wait: `not enough distinct nodes with free resources for ${bundles.length} bundles now` };
      used.add(n.id);
      out.push(n.id);
    }
    return { ok: out };
  }
  const count = new Map<string, number>();
  for (const b of bundles) {
    const ok = sorted.filter((x) => fits(avail.get(x.id)!, b));
    if (!ok.length) return { wait: `bundle ${format(b)} does not fit on any node now` };
    // PACK: prefer a node already used by this group; SPREAD: prefer the least used one.
    ok.sort((x, y) => (strategy === "PACK" ? (count.get(y.id) ?? 0) - (count.get(x.id) ?? 0) : (count.get(x.id) ?? 0) - (count.get(y.id) ?? 0)));
    const n = ok[0];
    take(n.id, b);
    count.set(n.id, (count.get(n.id) ?? 0) + 1);
    out.push(n.id);
  }
  return { ok: out };
}

function sumInto(acc: Resources, b: Resources): Resources {
  for (const k in b) acc[k] = (acc[k] ?? 0) + b[k];
  return acc;
}

/** Why the group could never be placed on these nodes even if all were empty, or undefined. */
function feasibleEver(nodes: NodeView[], bundles: Resources[], strategy: Strategy): string | undefined {
  if (!bundles.length) return "a placement group needs at least one bundle";
  for (const [i, b] of bundles.entries()) {
    if (!nodes.some((n) => fits(n.total, b))) return `bundle ${i} (${format(b)}) is larger than any node`;
  }
  if (strategy === "STRICT_PACK") {
    const total = bundles.reduce((acc, b) => sumInto(acc, b), {} as Resources);
    if (!nodes.some((n) => fits(n.total, total))) return `STRICT_PACK needs ${format(total)} on one node; no node is that large`;
  }
  if (strategy === "STRICT_SPREAD" && nodes.length < bundles.length) {
    return `STRICT_SPREAD needs ${bundles.length} distinct nodes; the cluster has ${nodes.length}`;
  }
  return undefined;
}
