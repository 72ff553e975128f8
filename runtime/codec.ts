// The wire codec: msgpackr plus extensions for the values msgpack alone mangles.
// - Typed arrays travel as raw bytes (msgpackr's default turns a Float32Array into a
//   garbled Buffer, see test/codec.test.ts).
// - Tensors travel as dtype + shape + raw bytes.
// - Actor handles travel as their actor id and come back as live handles bound to the
//   receiving process's runtime (see setHandleFactory).
import { Packr, addExtension } from "msgpackr";
import { Tensor, type DType } from "./tensor.js";

const EXT_TYPED_ARRAY = 0x41;
const EXT_TENSOR = 0x42;
const EXT_ACTOR_REF = 0x43;

type TypedArrayCtor =
  | Int8ArrayConstructor | Uint8ClampedArrayConstructor | Int16ArrayConstructor | Uint16ArrayConstructor
  | Int32ArrayConstructor | Uint32ArrayConstructor | Float32ArrayConstructor | Float64ArrayConstructor
  | BigInt64ArrayConstructor | BigUint64ArrayConstructor;

// Uint8Array is left out on purpose: msgpack's bin type already carries it exactly.
const TYPED: TypedArrayCtor[] = [
  Int8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
];

/** Copies bytes out of the (unaligned, shared) receive buffer into a fresh ArrayBuffer. */
function ownBytes(b: Uint8Array): ArrayBuffer {
  const ab = new ArrayBuffer(b.byteLength);
  new Uint8Array(ab).set(b);
  return ab;
}

function viewBytes(v: ArrayBufferView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/**
 * Matches every typed array but Uint8Array (and Buffer), through one `instanceof` test.
 * msgpackr tries each registered extension class in turn on every array and typed value it
 * packs; ten classes, one per kind, made packing a 64-byte call argument twice as slow.
 */
class NonByteTypedArray {
  static [Symbol.hasInstance](v: unknown): boolean {
    return ArrayBuffer.isView(v) && !(v instanceof Uint8Array) && !(v instanceof DataView);
  }
}

addExtension({
  Class: NonByteTypedArray as unknown as new (...a: unknown[]) => unknown,
  type: EXT_TYPED_ARRAY, // the first byte says which array kind
  pack(v: ArrayBufferView) {
    const tag = TYPED.findIndex((C) => v instanceof C);
    // A kind newer than this list (Float16Array) would otherwise get a tag no receiver reads.
    if (tag < 0) throw new TypeError(`codec: cannot send a ${v.constructor.name}`);
    const out = new Uint8Array(1 + v.byteLength);
    out[0] = tag;
    out.set(viewBytes(v), 1);
    return out;
  },
  unpack(buf: Uint8Array) {
    const C = TYPED[buf[0]];
    if (!C) throw new TypeError(`codec: unknown typed array tag ${buf[0]}`);
    return new C(ownBytes(buf.subarray(1)));
  },
} as never);

const DTYPES: DType[] = ["f32", "f64", "f16", "bf16", "i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "bool"];

addExtension({
  Class: Tensor as unknown as new (...a: unknown[]) => unknown,
  type: EXT_TENSOR,
  // layout: u8 dtype, u8 rank, rank × f64 dims, raw bytes
  pack(t: Tensor) {
    const head = 2 + 8 * t.shape.length;
    const out = new Uint8Array(head + t.bytes.byteLength);
    const dv = new DataView(out.buffer);
    out[0] = DTYPES.indexOf(t.dtype);
    out[1] = t.shape.length;
    t.shape.forEach((d, i) => dv.setFloat64(2 + 8 * i, d, true));
    out.set(t.bytes, head);
    return out;
  },
  unpack(buf: Uint8Array) {
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const dtype = DTYPES[buf[0]];
    const rank = buf[1];
    const shape: number[] = [];
    for (let i = 0; i < rank; i++) shape.push(dv.getFloat64(2 + 8 * i, true));
    return new Tensor(dtype, shape, new Uint8Array(ownBytes(buf.subarray(2 + 8 * rank))));
  },
} as never);

/** Marker class of a serialized actor handle; the proxy's target is an instance of it. */
export class ActorRef {
  constructor(
    readonly actorId: string,
    readonly name?: string,
    /** Re-sends allowed for a call in flight when the actor dies (the actor's maxTaskRetries). */
    readonly maxTaskRetries = 0,
  ) {}
}

let handleFactory: (ref: ActorRef) => unknown = (ref) => ref;

/** The runtime of this process registers how a received ActorRef becomes a live handle. */
export function setHandleFactory(f: (ref: ActorRef) => unknown): void {
  handleFactory = f;
}

addExtension({
  Class: ActorRef as unknown as new (...a: unknown[]) => unknown,
  type: EXT_ACTOR_REF,
  write(ref: ActorRef) {
    return [ref.actorId, ref.name ?? null, ref.maxTaskRetries];
  },
  read([id, name, retries]: [string, string | null, number]) {
    return handleFactory(new ActorRef(id, name ?? undefined, retries));
  },
} as never);

// useRecords: false keeps payloads self-describing (no shared structure state between
// processes that may restart independently).
const packr = new Packr({ useRecords: false, moreTypes: false });

export function pack(value: unknown): Uint8Array {
  return packr.pack(value);
}

export function unpack<T = unknown>(bytes: Uint8Array): T {
  return packr.unpack(bytes) as T;
}
