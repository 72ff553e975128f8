// The wire codec: the msgpackr trap, typed arrays, tensors, errors as data.
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { pack, Tensor, unpack } from "../runtime/index.js";
import { fromErrorData, RemoteMethodError, toErrorData, ActorDiedError } from "../runtime/errors.js";
import { ChunkAssembler, chunks } from "../runtime/wire.js";
import { ROOT } from "./helpers.js";

describe("codec", () => {
  it("msgpackr's default packing does not round-trip a Float32Array (the trap we avoid)", () => {
    // Our extensions are registered globally in this process, so the default is shown in a
    // fresh one: msgpackr alone, its own pack and unpack.
    const plain = execFileSync(process.execPath, ["-e", `
      const { pack, unpack } = require("msgpackr");
      const back = unpack(pack(new Float32Array([1.5, 2.5, 3.5])));
      console.log(JSON.stringify({ kind: back.constructor.name, values: Array.from(back) }));
    `], { cwd: ROOT, encoding: "utf8" });
    const { kind, values } = JSON.parse(plain);
    expect(kind).to.not.equal("Float32Array");
    expect(values).to.not.deep.equal([1.5, 2.5, 3.5]);
    // Ours: raw bytes with their kind, back as the same typed array with the same values.
    const back = unpack<Float32Array>(pack(new Float32Array([1.5, 2.5, 3.5])));
    expect(back).to.be.instanceOf(Float32Array);
    expect(Array.from(back)).to.deep.equal([1.5, 2.5, 3.5]);
  });

  it("round-trips every typed array kind bit-exact, including unaligned views", () => {
    const buf = new ArrayBuffer(64);
    new Uint8Array(buf).forEach((_, i, a) => (a[i] = (i * 37) & 255));
    const kinds = [Int8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array];
    for (const K of kinds) {
      const v = new (K as any)(buf, 8, 4);
      const back = unpack<any>(pack({ v }));
      expect(back.v).to.be.instanceOf(K);
      expect(Buffer.from(back.v.buffer, back.v.byteOffset, back.v.byteLength).equals(Buffer.from(buf, 8, v.byteLength))).to.equal(true);
    }
    // Bytes stay msgpack's plain bin type (2 bytes of header), not an extension.
    const u8 = new Uint8Array(buf, 3, 40);
    const packed = pack(u8);
    expect(packed.byteLength).to.equal(42);
    expect(Buffer.from(unpack<Uint8Array>(packed)).equals(Buffer.from(buf, 3, 40))).to.equal(true);
  });

  it("round-trips tensors with dtype and shape", () => {
    const bytes = new Uint8Array(2 * 3 * 2).map((_, i) => i);
    const t = new Tensor("bf16", [2, 3], bytes);
    const back = unpack<Tensor>(pack(t));
    expect(back).to.be.instanceOf(Tensor);
    expect(back.dtype).to.equal("bf16");
    expect(back.shape).to.deep.equal([2, 3]);
    expect(Array.from(back.bytes)).to.deep.equal(Array.from(bytes));
    expect(() => new Tensor("f32", [3], new Uint8Array(5))).to.throw(/do not match/);
  });

  it("splits frames into chunks and reassembles them; a lost chunk fails loudly", () => {
    const data = new Uint8Array(10_000).map((_, i) => i % 251);
    const parts = [...chunks(data, 1500)];
    expect(parts.length).to.be.greaterThan(6);
    const asm = new ChunkAssembler();
    let whole: Uint8Array | undefined;
    for (const p of parts) whole = asm.add(p) ?? whole;
    expect(Buffer.from(whole!).equals(Buffer.from(data))).to.equal(true);
    const asm2 = new ChunkAssembler();
    asm2.add(parts[0]);
    expect(() => asm2.add(parts[2])).to.throw(/lost/);
  });

  it("turns errors into data and back into typed errors", () => {
    const d = toErrorData(new ActorDiedError("gone"));
    expect(fromErrorData(d)).to.be.instanceOf(ActorDiedError);
    const other = fromErrorData(toErrorData(Object.assign(new TypeError("x"), { code: 7 })));
    expect(other).to.be.instanceOf(RemoteMethodError);
    expect((other as RemoteMethodError).remote).to.include({ name: "TypeError", code: "7" });
    expect(fromErrorData(toErrorData("a string")).message).to.match(/a string/);
  });
});
