// Disaggregated mode's weight sync: after a train phase the learner broadcasts its weights to
// every EngineActor in buckets (whole tensors, up to `bucketBytes` each), stamped with their
// version. The learner reads bucket i+1 from its worker while bucket i is on the wire, and an
// engine loads each bucket into its worker as it arrives; the broadcast's window paces the
// learner to the slowest engine.
//
// Bytes leave and enter the workers through files on a tmpfs (/dev/shm when there is one), not
// the workers' pipes: one write and one read each side instead of thousands of 64 KiB pipe
// hand-offs, which took more time than the network part (bench/step.ts). A bucket on the wire
// is u32 header length | msgpack {version, bucket, buckets, tensors: [{name, shape, offset,
// nbytes}]} | the tensors' f32 bytes, exactly as the worker wrote them: bit-exact end to end.
import { createHash, randomBytes } from "node:crypto";
import { closeSync, existsSync, openSync, readdirSync, readSync, rmSync, writevSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NativeWorker, WeightFileEntry, WeightRange } from "../../gpu/index.js";
import { processGone } from "../../envs/index.js";
import { broadcastOnCluster, pack, receiveOnCluster, unpack, type BroadcastOptions } from "../../runtime/index.js";

interface BucketHeader {
  version: number;
  bucket: number;
  buckets: number;
  tensors: WeightFileEntry[];
}
export interface SyncOptions extends BroadcastOptions {
  /** Bytes of weights per bucket (default 32 MiB); a bigger tensor is split across buckets. */
  bucketBytes?: number;
}

export interface SyncStats {
  version: number;
  bytes: number;
  buckets: number;
  seconds: number;
}

/**
 * The tensors, in order, cut into buckets of `bucketBytes` (f32 on the wire). A tensor bigger
 * than what is left of a bucket is split into ranges: an embedding table alone can be half a
 * model, and as one piece nothing else could overlap its read, its transfer and its load.
 */
export function planBuckets(shapes: { name: string; shape: number[] }[], bucketBytes: number): Required<WeightRange>[][] {
  const per = Math.max(1, Math.floor(bucketBytes / 4));  // elements per bucket
  const out: Required<WeightRange>[][] = [];
  let cur: Required<WeightRange>[] = [], room = per;
  for (const t of shapes) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    for (let start = 0; start < size || (size === 0 && start === 0);) {
      const count = Math.min(size - start, room);
      cur.push({ name: t.name, start, count });
      start += count;
      room -= count;
      if (room === 0) out.push(cur), (cur = []), (room = per);
      if (size === 0) break;
    }
  }
  if (cur.length) out.push(cur);
  return out;
}

/** The learner's side: sends its worker's weights as `version` to `receivers` engines. */
export async function publishWeights(worker: NativeWorker, subject: string, receivers: number, version: number, opts: SyncOptions = {}): Promise<SyncStats> {
  const buckets = planBuckets(await worker.weightShapes(), opts.bucketBytes ?? 32 * 1024 * 1024);
  const files = buckets.map(() => scratchFile());
  /** Bucket i as it goes on the wire: the worker writes the bytes, one read brings them in. */
  const read = async (i: number) => {
    const tensors = await worker.exportWeights(files[i], buckets[i]);
    const head = pack({ version, bucket: i, buckets: buckets.length, tensors } satisfies BucketHeader);
    const size = tensors.reduce((a, t) => a + t.nbytes, 0);
    const blob = Buffer.allocUnsafe(4 + head.byteLength + size);
    blob.writeUInt32LE(head.byteLength, 0);
    blob.set(head, 4);
    const fd = openSync(files[i], "r");
    try {
      for (let at = 0; at < size;) at += readSync(fd, blob, 4 + head.byteLength + at, size - at, at);
    } finally {
      closeSync(fd);
      rmSync(files[i], { force: true });
    }
    return blob;
  };
  let next = read(0);  // at once, while the hello round finds the engines
  next.catch(() => undefined);
  async function* blobs() {
    for (let i = 0; i < buckets.length; i++) {
      const blob = await next;
      if (i + 1 < buckets.length) next = read(i + 1);  // read ahead while this one travels
      yield blob;
    }
  }
  try {
    const s = await broadcastOnCluster(subject, receivers, blobs(), opts);
    return { version, bytes: s.bytes, buckets: s.blobs, seconds: s.seconds };
  } finally {
    for (const f of files) rmSync(f, { force: true });
  }
}

/**
 * An engine's side: loads every bucket of `version` into its worker as it arrives. Resolves
 * when all are in; rejects on a bucket of another version, a missing bucket or a broken stream.
 */
export async function receiveWeights(worker: NativeWorker, subject: string, version: number, opts: SyncOptions = {}): Promise<SyncStats> {
  let expected = -1, got = 0, bytes = 0;
  const file = scratchFile();
  const r = receiveOnCluster(subject, async (parts, index) => {
    // The header is small and comes whole in the first chunk; the tensors' bytes follow it.
    const first = parts[0];
    const hlen = first.byteLength >= 4 ? new DataView(first.buffer, first.byteOffset).getUint32(0, true) : 0;
    let h: Partial<BucketHeader> | undefined;
    try {
      if (4 + hlen <= first.byteLength) h = unpack<BucketHeader>(first.subarray(4, 4 + hlen));
    } catch {
      /* reported below */
    }
    if (!h || h.version !== version || h.bucket !== index || !Array.isArray(h.tensors)) {
      throw new TypeError(`weight sync on '${subject}': expected bucket ${index} of version ${version}, got ${JSON.stringify(h && { version: h.version, bucket: h.bucket })}`);
    }
    expected = h.buckets!;
    const fd = openSync(file, "w");
    try {
      writevAll(fd, [first.subarray(4 + hlen), ...parts.slice(1)]);
    } finally {
      closeSync(fd);
    }
    await worker.importWeights(file, h.tensors);
    got++;
    bytes += parts.reduce((a, p) => a + p.byteLength, 0);
  }, opts);
  const s = await r.done.finally(() => rmSync(file, { force: true }));
  if (got !== expected) throw new TypeError(`weight sync on '${subject}': ${got} of ${expected} buckets arrived`);
  return { version, bytes, buckets: got, seconds: s.seconds };
}

/** writev until every byte is written (a call may write fewer). */
function writevAll(fd: number, parts: Uint8Array[]): void {
  let rest = parts.filter((p) => p.byteLength);
  while (rest.length) {
    let n = writevSync(fd, rest);
    while (rest.length && n >= rest[0].byteLength) n -= rest.shift()!.byteLength;
    if (rest.length && n) rest[0] = rest[0].subarray(n);
  }
}

const SCRATCH = "troupe-weights-";
let swept = false;

/**
 * A file name for bytes on their way to or from a worker: on a tmpfs when there is one. The
 * first call of a process removes those left by processes that are gone (an engine killed in
 * the middle of a sync): on a tmpfs they hold memory until someone does.
 */
function scratchFile(): string {
  const dir = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
  if (!swept) {
    swept = true;
    for (const name of readdirSync(dir)) {
      if (name.startsWith(SCRATCH) && processGone(Number(name.slice(SCRATCH.length).split("-")[0]))) rmSync(join(dir, name), { force: true });
    }
  }
  return join(dir, `${SCRATCH}${process.pid}-${randomBytes(6).toString("hex")}`);
}

/** A digest of every weight, in name order: equal digests mean bit-identical weights. */
export async function weightsDigest(worker: NativeWorker): Promise<string> {
  const w = await worker.getWeights();
  const h = createHash("sha256");
  for (const name of Object.keys(w).sort()) h.update(name).update(new Uint8Array(w[name].data.buffer, w[name].data.byteOffset, w[name].data.byteLength));
  return h.digest("hex");
}
