// `npm run bench -- step`: one laptop-profile step of the deepswe recipe in disaggregated mode,
// broken down by phase, and the throughput of its weight sync (learner → engine broadcast, the
// recipe's own code path) against a raw NATS transfer of the same bytes between two plain
// connections on the same server, measured in the same run.
//
// The laptop model is ~0.4 MB, too small for a throughput figure, so the sync is also timed on a
// bigger model (BENCH_SYNC_LAYERS, default 4 layers of width 512 over a 32K vocabulary, ~116 MB).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { EngineActorClass, LearnerActorClass } from "../actors/index.js";
import { resolveConfig, runDeepSWE, syncEngines } from "../recipes/index.js";
import { init } from "../runtime/index.js";
import { log, median, round, size, SMOKE } from "./util.js";

const ROUNDS = size(5, 1);

export async function run(): Promise<Record<string, number>> {
  const step = await laptopStep();
  const sync = await syncThroughput();
  return { ...step, ...sync };
}

/** One step of the smoke profile (from its one-epoch starter). */
async function laptopStep() {
  const out = mkdtempSync(join(tmpdir(), "troupe-bench-step-"));
  try {
    // One gold replay per group gives every group a success beside the model's failures, so the
    // step has advantages and really trains (a model this small finds no reward alone), and
    // its new version is synced to the engine after it.
    const config = resolveConfig("smoke", undefined, ["mode=disaggregated", "schedule.steps=1", "schedule.validateEvery=100", "rollout.goldPerGroup=1"]);
    const lines: string[] = [];
    const t0 = performance.now();
    const [row] = await runDeepSWE({ config, out, log: (l) => (lines.push(l), log(l)), progress: () => undefined });
    log(`laptop step: ${((performance.now() - t0) / 1000).toFixed(1)} s in all, warm-up included`);
    const first = /weight sync: version \d+ to \d+ engine\(s\), ([\d.]+) MB in ([\d.]+) s/.exec(lines.join("\n"));
    const syncS = row.sync_bytes ? row.sync_s : first ? Number(first[2]) : 0;
    return { step_s: round(row.rollout_s + row.train_s + syncS), rollout_s: round(row.rollout_s), train_s: round(row.train_s), sync_s: round(syncS, 4) };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** The recipe's sync on a bigger model, against raw NATS moving the same bytes. */
export async function syncThroughput() {
  const layers = Number(process.env.BENCH_SYNC_LAYERS ?? size(4, 1));
  const model = {
    vocab_size: SMOKE ? 4096 : 32000, hidden_size: 512, intermediate_size: 1536, num_hidden_layers: layers, num_attention_heads: 8, num_key_value_heads: 4,
    head_dim: 64, max_position_embeddings: 4096, rope_theta: 10000, tie_word_embeddings: true,
  };
  const c = resolveConfig("laptop", { model: { config: model } }, ["mode=disaggregated", ...(process.env.BENCH_SYNC_SET ?? "").split(" ").filter(Boolean)]);
  const cluster = await init();
  try {
    const learner = await cluster.actor(LearnerActorClass, [{ config: model as never, seed: 1 }], { process: "dedicated" });
    const engine = await cluster.actor(EngineActorClass, [{ config: model as never, seed: 2 }], { process: "dedicated" });
    await syncEngines(c, learner, [engine]);  // warm-up
    if ((await engine.checksum()) !== (await learner.checksum())) throw new Error("the engine's weights differ from the learner's after a sync");
    const ours: number[] = [], raw: number[] = [];
    let bytes = 0;
    const a = await connect({ servers: cluster.address.url, token: cluster.address.token });
    const b = await connect({ servers: cluster.address.url, token: cluster.address.token });
    try {
      for (let r = 0; r < ROUNDS; r++) {
        const s = await syncEngines(c, learner, [engine]);
        bytes = s.bytes;
        ours.push(s.bytes / 1e6 / s.seconds);
        raw.push(await rawTransfer(a, b, s.bytes));
        log(`round ${r + 1}: sync ${(s.bytes / 1e6).toFixed(1)} MB in ${s.seconds.toFixed(3)} s = ${ours[r].toFixed(0)} MB/s; raw NATS ${raw[r].toFixed(0)} MB/s`);
      }
    } finally {
      await a.close();
      await b.close();
    }
    // Medians: the raw transfer swings by 2× between rounds on a shared 2-core machine.
    return { sync_MBps: Math.round(median(ours)), nats_raw_MBps: Math.round(median(raw)), sync_bench_MB: round(bytes / 1e6, 1), ratio: round(median(ours) / median(raw), 3) };
  } finally {
    await cluster.shutdown();
  }
}

/**
 * MB/s of `bytes` published from `a` in max_payload chunks, flushed every 8 MB, until `b` has
 * received them all: the fastest one-way pattern the client allows, with no acknowledgements.
 */
async function rawTransfer(a: Awaited<ReturnType<typeof connect>>, b: Awaited<ReturnType<typeof connect>>, bytes: number): Promise<number> {
  const chunk = (a.info?.max_payload ?? 1 << 20) - 1024;
  const body = new Uint8Array(chunk).fill(7);
  const subject = `bench.raw.${Math.random().toString(36).slice(2)}`;
  let got = 0;
  let sub: ReturnType<typeof b.subscribe> | undefined;
  const done = new Promise<void>((resolve) => {
    sub = b.subscribe(subject, { callback: (_e, m) => ((got += m.data.byteLength) >= bytes ? resolve() : undefined) });
  });
  await b.flush();
  const t0 = performance.now();
  let since = 0;
  for (let sent = 0; sent < bytes; sent += chunk) {
    const n = Math.min(chunk, bytes - sent);
    a.publish(subject, n === chunk ? body : body.subarray(0, n));
    if ((since += n) >= 8 << 20) (since = 0), await a.flush();
  }
  await done;
  sub!.unsubscribe();
  return bytes / 1e6 / ((performance.now() - t0) / 1000);
}
