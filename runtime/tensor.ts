// A tensor on the wire: raw little-endian bytes plus dtype and shape. Never converted to
// per-element msgpack numbers, so it round-trips bit-exact (NaN payloads and -0 included).

export type DType = "f32" | "f64" | "f16" | "bf16" | "i8" | "u8" | "i16" | "u16" | "i32" | "u32" | "i64" | "u64" | "bool";

export const DTYPE_BYTES: Record<DType, number> = {
  f32: 4, f64: 8, f16: 2, bf16: 2, i8: 1, u8: 1, i16: 2, u16: 2, i32: 4, u32: 4, i64: 8, u64: 8, bool: 1,
};

export class Tensor {
  readonly dtype: DType;
  readonly shape: number[];
  /** Raw little-endian bytes, length = product(shape) * DTYPE_BYTES[dtype]. */
  readonly bytes: Uint8Array;

  constructor(dtype: DType, shape: number[], bytes: Uint8Array) {
    if (!(dtype in DTYPE_BYTES)) throw new TypeError(`Tensor: unknown dtype '${dtype}'`);
    const n = shape.reduce((a, b) => a * b, 1);
    if (bytes.byteLength !== n * DTYPE_BYTES[dtype]) {
      throw new TypeError(`Tensor: ${bytes.byteLength} bytes do not match dtype ${dtype} and shape [${shape.join(", ")}]`);
    }
    this.dtype = dtype;
    this.shape = shape;
    this.bytes = bytes;
  }

  static fromFloat32(data: Float32Array, shape: number[] = [data.length]): Tensor {
    return new Tensor("f32", shape, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** A Float32Array view (copied when the bytes are not 4-byte aligned). */
  toFloat32(): Float32Array {
    if (this.dtype !== "f32") throw new TypeError(`Tensor.toFloat32: dtype is ${this.dtype}`);
    const b = this.bytes.byteOffset % 4 === 0 ? this.bytes : this.bytes.slice();
    return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  }
}
