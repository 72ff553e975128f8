// NATS subjects and KV bucket names of the control and data planes.
export const actorSubject = (id: string) => `troupe.a.${id}`;
export const actorEvents = (id: string) => `troupe.ev.${id}`;
export const ACTOR_EVENTS_ALL = "troupe.ev.*";
export const HEAD = "troupe.head";
/** Published by a head once it serves: calls the previous head took will never be answered. */
export const HEAD_ELECTED = "troupe.head.elected";
export const nodeSubject = (id: string) => `troupe.node.${id}`;
export const heartbeat = (id: string) => `troupe.hb.${id}`;
export const HEARTBEATS_ALL = "troupe.hb.*";
export const TASKS = "troupe.tasks";
/** Answered by a program while it runs: the head pings the owners of owned actors here. */
export const ownerSubject = (id: string) => `troupe.owner.${id}`;

export const BUCKET = {
  nodes: "troupe_nodes",
  actors: "troupe_actors",
  names: "troupe_names",
  groups: "troupe_pgs",
  head: "troupe_head",
} as const;

export interface ActorEvent {
  type: "died" | "restarting" | "alive" | "dead";
  reason?: string;
}
