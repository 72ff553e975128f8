// The OpenAI-compatible client against real local servers: llm/openai-server.ts serving the
// native tiny model, and plain HTTP servers that misbehave on purpose.
import { expect } from "chai";
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NativeWorker } from "../../gpu/index.js";
import { encodeChat, IM_END, OpenAIClient, OpenAIError, parseChatML, Qwen3Tokenizer, renderChat, serveOpenAI, type ChatMessage } from "../../llm/index.js";
import { parsePolicySpec } from "../../actors/index.js";
import { TINY } from "../gpu/worker-helpers.js";

function listen(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  return new Promise((r) => server.listen(0, "127.0.0.1", () => r({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server })));
}

describe("OpenAI-compatible client", function () {
  const workers: NativeWorker[] = [];
  const closers: (() => Promise<void>)[] = [];
  let urls: string[] = [];
  before(async () => {
    for (let i = 0; i < 2; i++) {
      const w = await NativeWorker.start();
      await w.init(TINY, { seed: 9, initStd: 0.5 });
      workers.push(w);
      const s = await serveOpenAI(w, { model: "tiny" });
      closers.push(s.close);
      urls.push(s.url);
    }
  });
  after(async () => {
    await Promise.all(closers.map((c) => c()));
    await Promise.all(workers.map((w) => w.close()));
  });

  it("token ids in and out over HTTP equal the worker's own generation (same seed), with log-probs", async () => {
    const client = new OpenAIClient({ endpoints: [urls[0]], model: "tiny" });
    const prompt = [1, 2, 3, 4, 5];
    const got = await client.session("t#0").generate(prompt, { maxTokens: 12, temperature: 1, seed: 4, stop: [] });
    const [want] = await workers[0].generate([prompt], { maxTokens: 12, seed: 4 });
    expect(got.tokens).to.deep.equal(Array.from(want.tokens));
    expect(got.logprobs).to.deep.equal(Array.from(want.logprobs));
    expect(got.finish).to.equal("length");
  });

  it("Scorer over HTTP: a continuation's log-prob from echo equals the worker's own; a server that does not echo is a clear error", async () => {
    const client = new OpenAIClient({ endpoints: [urls[0]], model: "tiny" });
    const prompt = [5, 9, 2, 7, 7, 1];
    const conts = [[3], [4, 8]];
    const got = await client.continuationLogprobs(prompt, conts);
    const want = (await workers[0].logprobs(conts.map((c) => [...prompt, ...c]))).map((l) => l.subarray(prompt.length).reduce((a, x) => a + x, 0));
    expect(got[0]).to.be.closeTo(want[0], 1e-5);
    expect(got[1]).to.be.closeTo(want[1], 1e-5);
    expect(got[0]).to.be.below(0);
    const plain = await listen((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ choices: [{ logprobs: { tokens: ["token_id:1"], token_logprobs: [-0.5] } }] }));
    });
    try {
      const err = await new OpenAIClient({ endpoints: [plain.url], model: "x" }).continuationLogprobs(prompt, conts).then(() => undefined, (e) => e);
      expect(err).to.be.instanceOf(OpenAIError);
      expect(err.message).to.match(/did not return the prompt's log-probs.*echo/);
    } finally {
      plain.server.close();
    }
  });

  it("/update_weights_from_disk: both servers load a checkpoint, their replies then carry its version and match its weights; a bad path fails with the reason", async () => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-weights-"));
    const other = await NativeWorker.start();
    try {
      await other.init(TINY, { seed: 31, initStd: 0.5 });
      await other.save(join(dir, "v7"), { optimizer: false });
      const client = new OpenAIClient({ endpoints: urls, model: "tiny" });
      const session = client.session("w#0");
      await session.generate([1, 2, 3], { maxTokens: 2, seed: 1, stop: [] });
      expect(session.version).to.equal(0);
      await client.updateWeightsFromDisk(join(dir, "v7"), 7);
      const prompt = [1, 2, 3, 4, 5];
      const got = await session.generate(prompt, { maxTokens: 12, temperature: 1, seed: 4, stop: [] });
      expect(session.version).to.equal(7);
      const [want] = await other.generate([prompt], { maxTokens: 12, seed: 4 });
      expect(got.tokens).to.deep.equal(Array.from(want.tokens));
      const err = await client.updateWeightsFromDisk(join(dir, "nowhere"), 8).catch((e) => e);
      expect(err).to.be.instanceOf(OpenAIError);
      expect(err.message).to.match(/update_weights_from_disk failed: .*nowhere/);
    } finally {
      // Back to the weights the other tests expect.
      for (const w of workers) await w.init(TINY, { seed: 9, initStd: 0.5 });
      await other.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("sessions stick to an endpoint and new ones spread over the least loaded", async () => {
    const client = new OpenAIClient({ endpoints: urls, model: "tiny" });
    const keys = ["a", "b", "c", "d"];
    for (const k of keys) await client.session(k).generate([1, 2], { maxTokens: 2 });
    const first = keys.map((k) => client.endpointOf(k));
    expect(new Set(first).size).to.equal(2);  // spread
    for (const k of keys) await client.session(k).generate([1, 2, 3], { maxTokens: 2 });
    expect(keys.map((k) => client.endpointOf(k))).to.deep.equal(first);  // sticky
  });

  it("a session moves off an endpoint that is far busier than the idlest", async () => {
    const canned = (delay: number) => listen((req, res) => {
      req.resume();
      req.on("end", () => setTimeout(() => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ choices: [{ finish_reason: "stop", logprobs: { tokens: ["token_id:1"], token_logprobs: [-1] } }] }));
      }, delay));
    });
    const [slow, fast] = [await canned(300), await canned(0)];
    try {
      const client = new OpenAIClient({ endpoints: [slow.url, fast.url], model: "m" });
      const s = client.session("s");
      // Both idle: the session lands on the first; piling requests on it makes it move.
      const inflight = Array.from({ length: 6 }, () => s.generate([1], { maxTokens: 1 }));
      expect(client.endpointOf("s")).to.equal(fast.url);
      await Promise.all(inflight);
      client.release("s");
      expect(client.endpointOf("s")).to.equal(undefined);
    } finally {
      await Promise.all([slow, fast].map((x) => new Promise((r) => x.server.close(r))));
    }
  });

  it("retries 503s with backoff, fails at once on a 400, and times out a silent server", async () => {
    let calls = 0;
    const flaky = await listen((req, res) => {
      calls++;
      if (calls <= 2) {
        res.writeHead(503);
        res.end("busy");
        return;
      }
      const chunks: Buffer[] = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ choices: [{ finish_reason: "stop", logprobs: { tokens: ["token_id:7", "token_id:8"], token_logprobs: [-0.5, -0.25] } }] }));
      });
    });
    const bad = await listen((_req, res) => {
      calls++;
      res.writeHead(400);
      res.end('{"error":"bad"}');
    });
    const silent = await listen(() => undefined);
    try {
      const ok = await new OpenAIClient({ endpoints: [flaky.url], model: "m", backoffMs: 10 }).session("x").generate([1], { maxTokens: 2 });
      expect(ok).to.deep.equal({ tokens: [7, 8], logprobs: [-0.5, -0.25], finish: "stop" });
      expect(calls).to.equal(3);
      calls = 0;
      const e = await new OpenAIClient({ endpoints: [bad.url], model: "m", backoffMs: 10 }).session("x").generate([1], { maxTokens: 2 }).catch((x) => x);
      expect(e).to.be.instanceOf(OpenAIError);
      expect(e.status).to.equal(400);
      expect(calls).to.equal(1);
      const t = await new OpenAIClient({ endpoints: [silent.url], model: "m", timeoutMs: 200, retries: 0 }).session("x").generate([1], { maxTokens: 2 }).catch((x) => x);
      expect(t).to.be.instanceOf(Error);
      expect(t.name).to.match(/TimeoutError|AbortError/);
    } finally {
      for (const s of [flaky, bad, silent]) s.server.closeAllConnections?.();
      await Promise.all([flaky, bad, silent].map((s) => new Promise((r) => s.server.close(r))));
    }
  });

  it("interop: a name with '/', a base URL with /v1, the key from OPENAI_API_KEY, SGLang's token_ids, Retry-After honoured, a timeout retried once", async () => {
    expect(parsePolicySpec("openai:http://h:8000:Qwen/Qwen3-8B")).to.deep.equal({ kind: "openai", urls: ["http://h:8000"], model: "Qwen/Qwen3-8B" });
    expect(parsePolicySpec("openai:http://a:1/v1,http://b:2:m")).to.deep.equal({ kind: "openai", urls: ["http://a:1/v1", "http://b:2"], model: "m" });
    expect(() => parsePolicySpec("openai:http://h:8000")).to.throw(TypeError, /openai:URL\[,URL…\]:NAME/);
    const seen: { url?: string; auth?: string; body: Record<string, unknown>; at: number }[] = [];
    let refuse = 1;
    // Answers as SGLang does with return_token_ids: the ids per choice, log-probs without ids.
    const sglang = await listen((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        seen.push({ url: req.url, auth: req.headers.authorization, body: JSON.parse(body), at: Date.now() });
        if (refuse-- > 0) {
          res.writeHead(429, { "retry-after": "1" });
          return void res.end('{"error":"slow down"}');
        }
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ choices: [{ finish_reason: "stop", token_ids: [7, 8, 9], logprobs: { tokens: ["a", "b", "c"], token_logprobs: [-0.5, -0.25, -1] } }] }));
      });
    });
    let silentCalls = 0;
    const silent = await listen(() => void silentCalls++);
    const key = process.env.OPENAI_API_KEY;
    process.env.OPENAI_API_KEY = "sk-test-123";
    try {
      const got = await new OpenAIClient({ endpoints: [`${sglang.url}/v1/`], model: "Qwen/Qwen3-8B", backoffMs: 5 }).session("x").generate([1, 2], { maxTokens: 3 });
      expect(got).to.deep.equal({ tokens: [7, 8, 9], logprobs: [-0.5, -0.25, -1], finish: "stop" });
      expect(seen.map((x) => x.url)).to.deep.equal(["/v1/completions", "/v1/completions"]);
      expect(seen.every((x) => x.auth === "Bearer sk-test-123")).to.equal(true);
      expect(seen[0].body).to.deep.include({ model: "Qwen/Qwen3-8B", return_token_ids: true, return_tokens_as_token_ids: true });
      // Retry-After: 1 s, where the backoff alone would have waited a few milliseconds.
      expect(seen[1].at - seen[0].at).to.be.at.least(900);
      const t = await new OpenAIClient({ endpoints: [silent.url], model: "m", timeoutMs: 200, retries: 3, backoffMs: 5 }).session("x").generate([1], { maxTokens: 2 }).catch((x) => x);
      expect(t.name).to.equal("TimeoutError");
      expect(silentCalls).to.equal(2);
    } finally {
      if (key === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = key;
      for (const s of [sglang, silent]) s.server.closeAllConnections?.();
      await Promise.all([sglang, silent].map((s) => new Promise((r) => s.server.close(r))));
    }
  });

  it("a chat-only server: the prompt's ids become its messages, the reply's text is encoded again and marked not token-exact", async () => {
    const tok = new Qwen3Tokenizer();
    const messages: ChatMessage[] = [
      { role: "system", content: "You fix bugs." },
      { role: "user", content: "Fix it." },
      { role: "assistant", content: "<think>\nlook first\n</think>\n\n<function=execute_bash><parameter=cmd>ls</parameter></function>" },
      { role: "user", content: "<tool_response>\na.py\n</tool_response>" },
    ];
    // What a hosted model is shown: the turns, without the earlier reasoning.
    const shown = messages.map((m) => (m.role === "assistant" ? { ...m, content: m.content.split("</think>\n\n")[1] } : m));
    expect(parseChatML(renderChat(messages, { addGenerationPrompt: true }))).to.deep.equal(shown);
    let got: Record<string, any> | undefined, path: string | undefined;
    const chat = await listen((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        got = JSON.parse(body);
        path = req.url;
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ choices: [{ index: 0, message: { role: "assistant", content: "Done: <function=finish><parameter=command>submit</parameter></function>" }, finish_reason: "stop" }] }));
      });
    });
    try {
      const policy = new OpenAIClient({ endpoints: [`${chat.url}/v1`], model: "gpt-x" }).chatSession("t", tok);
      const c = await policy.generate(encodeChat(tok, messages, { addGenerationPrompt: true }).ids, { maxTokens: 200, temperature: 0.5 });
      expect(path).to.equal("/v1/chat/completions");
      expect(got).to.deep.include({ model: "gpt-x", messages: shown, max_tokens: 200, temperature: 0.5 });
      expect(c.tokens).to.deep.equal([...tok.encode("Done: <function=finish><parameter=command>submit</parameter></function>"), tok.specialId(IM_END)]);
      expect(c.finish).to.equal("stop");
      expect(policy.tokenExact).to.equal(false);
      expect(policy.name).to.equal("openai-chat:gpt-x");
      expect(parsePolicySpec("openai-chat:https://api.example.com/v1:gpt-x")).to.deep.equal({ kind: "openai", urls: ["https://api.example.com/v1"], model: "gpt-x", chat: true });
    } finally {
      await new Promise((r) => chat.server.close(r));
    }
  });
});
