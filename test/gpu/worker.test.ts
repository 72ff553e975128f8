// The native worker's process and protocol: bad requests are answered and the worker keeps
// serving; a crash is a typed error and restart() brings it back; tensors cross bit-exact.
import { expect } from "chai";
import { NativeWorker, WorkerCrashedError, WorkerError } from "../../gpu/index.js";
import { bytesEqual, TINY } from "./worker-helpers.js";

async function code(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => undefined, (x) => x);
  expect(e, "the request should have failed").to.be.instanceOf(WorkerError);
  return (e as WorkerError).code;
}

describe("native worker: process and protocol", function () {
  let w: NativeWorker;
  before(async () => {
    w = await NativeWorker.start();
  });
  after(() => w?.close());

  it("answers bad requests with an error naming what is wrong, and keeps serving", async () => {
    const pid = w.pid;
    expect(await code(w.request("no_such_op"))).to.equal("bad_request");
    expect(await code(w.generate([[1, 2]]))).to.equal("no_model");
    const bad = { ...TINY } as Record<string, unknown>;
    delete bad.vocab_size;
    const e = await w.init(bad as never).catch((x) => x);
    expect(e.code).to.equal("bad_config");
    expect(e.message).to.match(/vocab_size/);
    expect(await code(w.init({ ...TINY, num_key_value_heads: 3 }))).to.equal("bad_config");
    // Newer transformers write rotary settings as rope_parameters: the default type is read, others refused.
    const yarn = await w.init({ ...TINY, rope_parameters: { rope_type: "yarn", rope_theta: 10000, factor: 4 } }).catch((x) => x);
    expect(yarn.code).to.equal("bad_config");
    expect(yarn.message).to.match(/rope_type 'yarn'/);
    const { rope_theta: _, ...noTheta } = TINY;
    await w.init({ ...noTheta, rope_parameters: { rope_type: "default", rope_theta: 10000 } }, { seed: 1 });
    await w.init(TINY, { seed: 1 });
    // Tokens and lengths disagree.
    expect(await code(w.request("logprobs", {}, { tokens: { data: Int32Array.of(1, 2, 3), shape: [3] }, lengths: { data: Int32Array.of(5), shape: [1] } }))).to.equal("bad_request");
    // A token outside the vocabulary.
    const oov = await w.logprobs([[1, 64]]).catch((x) => x);
    expect(oov.code).to.equal("bad_request");
    expect(oov.message).to.match(/outside the vocabulary/);
    // NaN in an input tensor.
    const nan = await w.accumulate([{ tokens: [1, 2, 3], mask: [0, NaN, 1] }], { mode: "ce" }).catch((x) => x);
    expect(nan.code).to.equal("bad_request");
    expect(nan.message).to.match(/mask.*not a finite number/);
    // A tensor of the wrong dtype, a missing one.
    expect(await code(w.request("logprobs", {}, { tokens: { data: Float32Array.of(1, 2), shape: [2] }, lengths: { data: Int32Array.of(2), shape: [1] } }))).to.equal("bad_request");
    expect(await code(w.request("logprobs", {}, { tokens: { data: Int32Array.of(1, 2), shape: [2] } }))).to.equal("bad_request");
    // Missing checkpoint folder.
    const missing = await w.load("/nonexistent/checkpoint").catch((x) => x);
    expect(missing.code).to.equal("file");
    expect(missing.message).to.match(/nonexistent/);
    // set_weights: all or nothing.
    const before = await w.getWeights(["model.norm.weight"]);
    expect(await code(w.setWeights({
      "model.norm.weight": { data: new Float32Array(32).fill(2), shape: [32] },
      "model.layers.0.mlp.up_proj.weight": { data: new Float32Array(3), shape: [3] },
    }))).to.equal("bad_request");
    const after = await w.getWeights(["model.norm.weight"]);
    expect(bytesEqual(before["model.norm.weight"].data as Float32Array, after["model.norm.weight"].data as Float32Array)).to.equal(true);
    // Still the same process, still working.
    expect(w.pid).to.equal(pid);
    const r = await w.accumulate([{ tokens: [1, 2, 3], mask: [0, 1, 1] }], { mode: "ce" });
    expect(r.tokens).to.equal(2);
    expect((await w.info()).parameters).to.be.above(0);
  });

  it("weights cross the protocol bit-exact (NaN payloads aside, every float pattern, -0 included)", async () => {
    await w.init(TINY, { seed: 1 });
    const name = "model.layers.1.mlp.down_proj.weight";
    const data = new Float32Array(32 * 64);
    const u32 = new Uint32Array(data.buffer);
    for (let i = 0; i < u32.length; i++) u32[i] = (Math.imul(i + 1, 2654435761) >>> 0) & 0xbf7fffff;  // finite patterns
    data[0] = -0;
    data[1] = 1.401298464324817e-45;  // the smallest subnormal
    await w.setWeights({ [name]: { data, shape: [32, 64] } });
    const back = (await w.getWeights([name]))[name].data as Float32Array;
    expect(bytesEqual(back, data)).to.equal(true);
  });

  it("a crash is a WorkerCrashedError for the requests in flight and after; restart() brings a fresh worker", async () => {
    await w.init(TINY, { seed: 1 });
    // Killed with the request sent and unanswered (100,000 tokens without a cache take minutes).
    const slow = w.generate([[1, 2, 3]], { maxTokens: 100000, useCache: false });
    process.kill(w.pid!, "SIGKILL");
    const e = await slow.catch((x) => x);
    expect(e).to.be.instanceOf(WorkerCrashedError);
    expect(e.message).to.match(/SIGKILL/);
    expect(await w.info().catch((x) => x)).to.be.instanceOf(WorkerCrashedError);
    const oldPid = w.pid;
    await w.restart();
    expect(w.pid).to.not.equal(oldPid);
    const info = await w.info();
    expect(info.config).to.equal(undefined);  // a fresh process: the model must be loaded again
    await w.init(TINY, { seed: 1 });
    expect((await w.generate([[1, 2]], { maxTokens: 2 }))[0].tokens.length).to.equal(2);
  });
});
