// Disaggregated mode's weight sync: after a train phase the learner broadcasts its weights to
// every EngineActor in buckets (whole tensors, up to `bucketBytes` each), stamped with their
// version. The learner reads bucket i+1 from its worker while bucket i is on the wire, and an
// engine loads each bucket into its worker as it arrives; the broadcast's window paces the
// learner to the slowest engine. A bucket is one frame of the worker protocol (gpu/), so the
// bytes that leave the learner's worker are the bytes that enter the engine's, bit-exact.
import { createHash } from "node:crypto";
import { encodeFrame, FrameReader, type NativeWorker, type WireTensor } from "../../gpu/index.js";
import { currentRuntime, receiveBroadcast, sendBroadcast, type BroadcastOptions } from "../../runtime/index.js";

export interface SyncOptions extends BroadcastOptions {
  /** Bytes of weights per bucket (default 32 MiB); a bigger tensor travels alone. */
  bucketBytes?: number;
}

export interface SyncStats {
  version: number;
  bytes: number;
  buckets: number;
  seconds: number;
}

/** Whole tensors grouped in order into buckets of at most `bucketBytes` (f32 on the wire). */
export function planBuckets(shapes: { name: string; shape: number[] }[], bucketBytes: number): string[][] {
  const out: string[][] = [];
  let cur: string[] = [], size = 0;
  for (const t of shapes) {
    const bytes = 4 * t.shape.reduce((a, b) => a * b, 1);
    if (cur.length && size + bytes > bucketBytes) out.push(cur), (cur = []), (size = 0);
    cur.push(t.name);
    size += bytes;
  }
  if (cur.length) out.push(cur);
  return out;
}

/** The learner's side: sends its worker's weights as `version` to `receivers` engines. */
export async function publishWeights(worker: NativeWorker, subject: string, receivers: number, version: number, opts: SyncOptions = {}): Promise<SyncStats> {
  const buckets = planBuckets(await worker.weightShapes(), opts.bucketBytes ?? 32 * 1024 * 1024);
  async function* blobs() {
    let next = worker.getWeights(buckets[0]);
    for (let i = 0; i < buckets.length; i++) {
      const tensors = await next;
      if (i + 1 < buckets.length) next = worker.getWeights(buckets[i + 1]);  // read ahead while this one travels
      yield Buffer.concat(encodeFrame({ version, bucket: i, buckets: buckets.length }, tensors));
    }
  }
  const s = await sendBroadcast(currentRuntime()!.nc, subject, receivers, blobs(), opts);
  return { version, bytes: s.bytes, buckets: s.blobs, seconds: s.seconds };
}

/**
 * An engine's side: loads every bucket of `version` into its worker as it arrives. Resolves
 * when all are in; rejects on a bucket of another version, a missing bucket or a broken stream.
 */
export async function receiveWeights(worker: NativeWorker, subject: string, version: number, opts: SyncOptions = {}): Promise<SyncStats> {
  let expected = -1, got = 0, bytes = 0;
  const r = receiveBroadcast(currentRuntime()!.nc, subject, async (blob, index) => {
    const [f] = new FrameReader().push(Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength));
    const h = f?.header as { version?: number; bucket?: number; buckets?: number } | undefined;
    if (!h || h.version !== version || h.bucket !== index) {
      throw new TypeError(`weight sync on '${subject}': expected bucket ${index} of version ${version}, got ${JSON.stringify(h && { version: h.version, bucket: h.bucket })}`);
    }
    expected = h.buckets!;
    await worker.setWeights(f.tensors as Record<string, WireTensor>);
    got++;
    bytes += blob.byteLength;
  }, opts);
  const s = await r.done;
  if (got !== expected) throw new TypeError(`weight sync on '${subject}': ${got} of ${expected} buckets arrived`);
  return { version, bytes, buckets: got, seconds: s.seconds };
}

/** A digest of every weight, in name order: equal digests mean bit-identical weights. */
export async function weightsDigest(worker: NativeWorker): Promise<string> {
  const w = await worker.getWeights();
  const h = createHash("sha256");
  for (const name of Object.keys(w).sort()) h.update(name).update(new Uint8Array(w[name].data.buffer, w[name].data.byteOffset, w[name].data.byteLength));
  return h.digest("hex");
}
