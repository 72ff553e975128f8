// The worker's framed binary protocol (the C++ side: gpu/worker/src/worker/protocol.h).
//   u32 little-endian header length · msgpack header · raw tensor bytes, back to back
// Tensors travel as their little-endian bytes with dtype and shape: no per-element encoding,
// bit-exact both ways.
import { Packr } from "msgpackr";

export type WireDType = "f32" | "i32";
export type WireArray = Float32Array | Int32Array;

export interface WireTensor {
  data: WireArray;
  shape: number[];
}

interface TensorDesc {
  name: string;
  dtype: WireDType;
  shape: number[];
  nbytes: number;
}

// Plain maps both ways: the C++ reader (nlohmann::json) knows no msgpackr records.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

export function dtypeOf(a: WireArray): WireDType {
  return a instanceof Float32Array ? "f32" : "i32";
}

/** One frame: a header object plus named tensors, as a list of buffers to write in order. */
export function encodeFrame(header: Record<string, unknown>, tensors: Record<string, WireTensor> = {}): Buffer[] {
  const descs: TensorDesc[] = [];
  const bodies: Buffer[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new TypeError(`tensor ${name}: shape [${t.shape}] holds ${n} values, not ${t.data.length}`);
    descs.push({ name, dtype: dtypeOf(t.data), shape: t.shape, nbytes: t.data.byteLength });
    bodies.push(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  const head = packr.pack({ ...header, tensors: descs });
  const len = Buffer.alloc(4);
  len.writeUInt32LE(head.length, 0);
  return [len, head, ...bodies];
}

export interface Frame {
  header: Record<string, any>;
  tensors: Record<string, WireTensor>;
}

/** Cuts frames out of a byte stream fed in arbitrary chunks. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private size = 0;
  // Bytes needed before the next frame can be cut: concatenating only then keeps a large
  // frame arriving in many chunks linear, not quadratic.
  private need = 4;

  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.size += chunk.length;
    const out: Frame[] = [];
    for (;;) {
      const f = this.next();
      if (!f) return out;
      out.push(f);
    }
  }

  private next(): Frame | undefined {
    if (this.size < this.need) return undefined;
    const buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
    this.chunks = [buf];
    const hlen = buf.readUInt32LE(0);
    if (buf.length < 4 + hlen) {
      this.need = 4 + hlen;
      return undefined;
    }
    const header = packr.unpack(buf.subarray(4, 4 + hlen)) as Record<string, any>;
    const descs = (header.tensors ?? []) as TensorDesc[];
    const total = 4 + hlen + descs.reduce((a, d) => a + Number(d.nbytes), 0);
    if (buf.length < total) {
      this.need = total;
      return undefined;
    }
    this.need = 4;
    const tensors: Record<string, WireTensor> = {};
    let at = 4 + hlen;
    for (const d of descs) {
      // A copy: aligned for the typed array, and independent of the stream buffer.
      const bytes = new Uint8Array(buf.subarray(at, at + Number(d.nbytes)));
      at += Number(d.nbytes);
      const data = d.dtype === "f32" ? new Float32Array(bytes.buffer) : new Int32Array(bytes.buffer);
      tensors[d.name] = { data, shape: d.shape.map(Number) };
    }
    const rest = buf.subarray(total);
    this.chunks = rest.length ? [rest] : [];
    this.size = rest.length;
    return { header, tensors };
  }
}
