// Generation by the native worker: the KV cache changes nothing, seeds reproduce, and the
// log-probs it reports are the ones the logprobs op (and so the learner) computes.
import { expect } from "chai";
import { NativeWorker } from "../../gpu/index.js";
import { maxAbsDiff, sequences, TINY } from "./worker-helpers.js";

describe("native worker: generation", function () {
  let w: NativeWorker;
  const prompts = sequences(3, 1, 64, 5).map((_, i) => sequences(1, 3 + 2 * i, 64, 11 + i)[0]);
  before(async () => {
    w = await NativeWorker.start();
    // A wide init so the next-token distributions are far from uniform.
    await w.init(TINY, { seed: 42, initStd: 0.5 });
  });
  after(() => w?.close());

  it("with the KV cache equals recomputing every prefix: greedy and sampled (top-k, top-p)", async () => {
    for (const opts of [{ temperature: 0 }, { temperature: 1, topK: 20, topP: 0.9, seed: 7 }, { temperature: 0.7, seed: 3 }]) {
      const cached = await w.generate(prompts, { ...opts, maxTokens: 12 });
      const full = await w.generate(prompts, { ...opts, maxTokens: 12, useCache: false });
      expect(cached).to.have.length(prompts.length);
      cached.forEach((g, i) => {
        expect([...g.tokens], JSON.stringify(opts)).to.deep.equal([...full[i].tokens]);
        expect(maxAbsDiff(g.logprobs, full[i].logprobs)).to.be.below(1e-4);
        expect(g.tokens.length).to.equal(12);
        expect(g.finish).to.equal("length");
      });
    }
  });

  it("a fixed seed reproduces tokens and log-probs exactly; another seed differs; the others in the batch do not change a sequence's draw", async () => {
    const a = await w.generate(prompts, { maxTokens: 16, seed: 123 });
    const b = await w.generate(prompts, { maxTokens: 16, seed: 123 });
    const c = await w.generate(prompts, { maxTokens: 16, seed: 124 });
    a.forEach((g, i) => {
      expect([...g.tokens]).to.deep.equal([...b[i].tokens]);
      expect([...g.logprobs]).to.deep.equal([...b[i].logprobs]);
    });
    expect(a.map((g) => [...g.tokens])).to.not.deep.equal(c.map((g) => [...g.tokens]));
    // Another prompt in the last slot leaves the others' samples as they were.
    const swapped = await w.generate([prompts[0], prompts[1], [9, 9, 9, 9]], { maxTokens: 16, seed: 123 });
    expect([...swapped[0].tokens]).to.deep.equal([...a[0].tokens]);
    expect([...swapped[1].tokens]).to.deep.equal([...a[1].tokens]);
  });

  it("stops at a stop token (included) and reports why each sequence ended", async () => {
    const free = await w.generate(prompts, { maxTokens: 10, temperature: 0 });
    const stopAt = free[0].tokens[3];
    const out = await w.generate(prompts, { maxTokens: 10, temperature: 0, stop: [stopAt] });
    const first = [...free[0].tokens].indexOf(stopAt);
    expect([...out[0].tokens]).to.deep.equal([...free[0].tokens.slice(0, first + 1)]);
    expect(out[0].finish).to.equal("stop");
  });

  it("streams: each step's tokens reach onTokens as they are sampled, adding up to what the reply holds", async () => {
    const free = await w.generate(prompts, { maxTokens: 10, temperature: 0 });
    const stop = [free[1].tokens[2]];
    const seen: number[][] = prompts.map(() => []);
    const steps: number[] = [];
    const out = await w.generate(prompts, { maxTokens: 10, temperature: 0, stop, onTokens: (rows, tokens) => {
      steps.push(rows.length);
      rows.forEach((r, i) => seen[r].push(tokens[i]));
    } });
    expect(seen).to.deep.equal(out.map((g) => [...g.tokens]));
    // One call per step, each with the sequences still going: the stopped one drops out.
    expect(steps).to.have.length(10);
    expect(steps[0]).to.equal(3);
    expect(steps[steps.length - 1]).to.equal(out.filter((g) => g.finish === "length").length);
  });

  it("ends at the model's context length, and refuses a prompt that already fills it", async () => {
    const long = sequences(1, 500, 64, 3)[0];  // TINY's context is 512
    const [g] = await w.generate([long], { maxTokens: 100, seed: 1 });
    expect(g.tokens.length).to.equal(12);
    expect(g.finish).to.equal("length");
    const e = await w.generate([sequences(1, 512, 64, 4)[0]], { maxTokens: 4 }).catch((x) => x);
    expect(e.code).to.equal("bad_request");
    expect(e.message).to.match(/context is 512/);
  });

  it("top-k 1 is greedy", async () => {
    const greedy = await w.generate(prompts, { maxTokens: 8, temperature: 0 });
    const k1 = await w.generate(prompts, { maxTokens: 8, temperature: 1, topK: 1, seed: 9 });
    expect(k1.map((g) => [...g.tokens])).to.deep.equal(greedy.map((g) => [...g.tokens]));
  });

  it("the log-probs of sampled tokens (temperature 1) match the logprobs op on the whole sequence", async () => {
    const gen = await w.generate(prompts, { maxTokens: 10, seed: 5 });
    const full = prompts.map((p, i) => [...p, ...gen[i].tokens]);
    const lps = await w.logprobs(full);
    expect(lps.map((lp) => lp.length)).to.deep.equal(full.map((f) => f.length));
    lps.forEach((lp, i) => {
      expect(lp[0]).to.equal(0);
      expect(maxAbsDiff(lp.slice(prompts[i].length), gen[i].logprobs)).to.be.below(1e-4);
    });
  });
});
