// An actor host process: started by a node, it constructs actors on request (over the IPC
// channel) and serves their calls on NATS with its own connection. It exits when its node
// goes away (the IPC channel closes), so a killed node leaves no orphan hosts.
import { unpack } from "./codec.js";
import { addressFromEnv } from "./connect.js";
import { Endpoint } from "./endpoint.js";
import { toErrorData } from "./errors.js";
import { Runtime } from "./runtime.js";
import type { ActorRecord } from "./spec.js";
import { actorSubject } from "./subjects.js";
import { flushTracing, initTracingFromEnv, SERVICE_NAME_ENV, shutdownTracing } from "./tracing.js";

export type HostRequest = { op: "create"; rec: ActorRecord; url: string } | { op: "destroy"; id: string };
export type HostReply = { op: "ready" } | { op: "created"; id: string } | { op: "failed"; id: string; error: ReturnType<typeof toErrorData> };

const send = (m: HostReply) => process.send?.(m);

async function main(): Promise<void> {
  const address = addressFromEnv();
  if (!address || !process.send) {
    console.error("troupe host: start me from a node (no cluster address or IPC channel)");
    process.exit(2);
  }
  process.on("disconnect", () => process.exit(0));
  await initTracingFromEnv(process.env, process.env[SERVICE_NAME_ENV] || "actors");
  const rt = await Runtime.connect(address, `troupe-host-${process.pid}`);
  const actors = new Map<string, { endpoint: Endpoint; instance: object }>();

  process.on("message", (m: HostRequest) => {
    if (m.op === "create") void create(m.rec, m.url);
    else if (m.op === "destroy") void destroy(m.id);
  });

  async function create(rec: ActorRecord, url: string): Promise<void> {
    try {
      const mod = await import(url);
      const Cls = mod[rec.spec.export];
      if (typeof Cls !== "function") throw new TypeError(`${url} exports no class '${rec.spec.export}'`);
      const args = unpack<unknown[]>(rec.spec.args);
      const instance = new Cls(...args) as { onStart?: () => unknown };
      // Constructors cannot be async: an actor that needs async set-up defines onStart().
      if (typeof instance.onStart === "function") await instance.onStart();
      const o = rec.spec.options;
      const endpoint = new Endpoint(rt.nc, actorSubject(rec.id), instance, {
        maxConcurrency: o.maxConcurrency,
        maxPendingCalls: o.maxPendingCalls,
        name: o.name ?? rec.spec.export,
      });
      await endpoint.ready();
      actors.set(rec.id, { endpoint, instance });
      send({ op: "created", id: rec.id });
    } catch (e) {
      send({ op: "failed", id: rec.id, error: toErrorData(e) });
    }
  }

  async function destroy(id: string): Promise<void> {
    const a = actors.get(id);
    if (!a) return;
    actors.delete(id);
    await a.endpoint.close();
    const stop = (a.instance as { onStop?: () => unknown }).onStop;
    if (typeof stop === "function") await Promise.resolve(stop.call(a.instance)).catch(() => undefined);
  }

  const shutdown = async () => {
    // The spans of finished work first: actors' onStop (sandbox clean-up…) may outlast the
    // node's grace period and end in SIGKILL.
    await flushTracing().catch(() => undefined);
    await Promise.allSettled([...actors.keys()].map(destroy));
    await shutdownTracing().catch(() => undefined);
    await rt.close().catch(() => undefined);
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown());
  send({ op: "ready" });
}

void main().catch((e) => {
  console.error(`troupe host: ${(e as Error).message}`);
  process.exit(1);
});
