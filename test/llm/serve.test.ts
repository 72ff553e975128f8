// `node driver.js serve` as an OpenAI user meets it: the official `openai` client against the
// server over a saved checkpoint — models, completions and chat equal to the worker's own
// greedy generation, streaming that adds up to the same text, concurrent requests batched into
// one worker call, a bad request answered in OpenAI's error shape, SIGTERM ending it and its worker.
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { NativeWorker } from "../../gpu/index.js";
import { ByteTokenizer, encodeChat, END_OF_TEXT, IM_END, writeTokenizerFiles } from "../../llm/index.js";
import { ROOT, until } from "../helpers.js";
import { descendants } from "../leftovers.js";

const CONFIG = {
  vocab_size: new ByteTokenizer().vocabSize, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  head_dim: 16, max_position_embeddings: 4096, rope_theta: 10000, tie_word_embeddings: true,
};

/** `node driver.js serve DIR` on a free port, once it prints its URL. */
async function serve(ckpt: string, name: string): Promise<{ child: ChildProcess; url: string; client: OpenAI }> {
  const child = spawn(process.execPath, ["driver.js", "serve", ckpt, "--port", "0", "--name", name], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  await until("the server's URL", () => /at (http:\/\/\S+\/v1)/.test(out), 60_000);
  const url = /at (http:\/\/\S+\/v1)/.exec(out)![1];
  return { child, url, client: new OpenAI({ baseURL: url, apiKey: "unused", maxRetries: 0 }) };
}

describe("serve: an OpenAI-compatible server over a checkpoint", function () {
  this.timeout(120_000);
  const tok = new ByteTokenizer();
  let dir: string, child: ChildProcess, url: string, client: OpenAI, reference: NativeWorker;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "troupe-serve-"));
    reference = await NativeWorker.start();
    await reference.init(CONFIG, { seed: 3, initStd: 0.3 });
    await reference.save(join(dir, "ckpt"), { optimizer: false });
    ({ child, url, client } = await serve(join(dir, "ckpt"), "org/tiny"));
  });
  after(async () => {
    if (child.exitCode === null) child.kill("SIGKILL");
    await reference.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The worker's own greedy reply to `prompt`, stopping where the server does. */
  const greedy = async (prompt: number[], maxTokens: number, stop: number[] = []) => Array.from((await reference.generate([prompt], { maxTokens, temperature: 0, stop }))[0].tokens);

  it("models, completions and chat: the official client gets what the worker itself generates", async () => {
    expect((await client.models.list()).data.map((m) => m.id)).to.deep.equal(["org/tiny"]);
    const c = await client.completions.create({ model: "org/tiny", prompt: "hello", max_tokens: 12, temperature: 0 });
    expect(c.choices[0].text).to.equal(tok.decode(await greedy(tok.encode("hello"), 12)));
    expect(c.usage).to.deep.include({ prompt_tokens: 5, completion_tokens: 12 });
    const messages = [{ role: "user" as const, content: "say hi" }];
    const chat = await client.chat.completions.create({ model: "org/tiny", messages, max_tokens: 20, temperature: 0 });
    const stops = [IM_END, END_OF_TEXT].map((s) => tok.encode(s)[0]);
    const want = await greedy(encodeChat(tok, messages, { addGenerationPrompt: true }).ids, 20, stops);
    const body = stops.includes(want[want.length - 1]) ? want.slice(0, -1) : want;
    expect(chat.choices[0].message).to.deep.include({ role: "assistant", content: tok.decode(body) });
    expect(chat.choices[0].finish_reason).to.equal(body.length < want.length ? "stop" : "length");
  });

  it("a folder with its own tokenizer.json and chat_template.jinja: chats are rendered by that template under jinja", async () => {
    const ck = join(dir, "templated");
    await reference.save(ck, { optimizer: false });
    writeTokenizerFiles("bytes", ck);
    writeFileSync(join(ck, "chat_template.jinja"), "{% for m in messages %}<|im_start|>{{ m.role | upper }}: {{ m.content }}<|im_end|>{% endfor %}{% if add_generation_prompt %}<|im_start|>A:{% endif %}");
    const s = await serve(ck, "templated");
    try {
      const chat = await s.client.chat.completions.create({ model: "templated", messages: [{ role: "user", content: "say hi" }], max_tokens: 8, temperature: 0 });
      const prompt = tok.encode("<|im_start|>USER: say hi<|im_end|><|im_start|>A:");
      expect(chat.usage?.prompt_tokens).to.equal(prompt.length);
      const stops = [IM_END, END_OF_TEXT].map((x) => tok.encode(x)[0]);
      const want = await greedy(prompt, 8, stops);
      expect(chat.choices[0].message.content).to.equal(tok.decode(stops.includes(want[want.length - 1]) ? want.slice(0, -1) : want));
    } finally {
      s.child.kill("SIGTERM");
      await until("the server to stop", () => s.child.exitCode !== null || s.child.signalCode !== null, 20_000);
    }
  });

  it("streaming: the chunks add up to the reply, the last one says why it ended", async () => {
    const messages = [{ role: "user" as const, content: "count to three" }];
    const whole = await client.chat.completions.create({ model: "org/tiny", messages, max_tokens: 24, temperature: 0 });
    let text = "", finish: string | null = null, chunks = 0;
    for await (const chunk of await client.chat.completions.create({ model: "org/tiny", messages, max_tokens: 24, temperature: 0, stream: true })) {
      text += chunk.choices[0]?.delta?.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      chunks++;
    }
    expect(text).to.equal(whole.choices[0].message.content);
    expect(finish).to.equal(whole.choices[0].finish_reason);
    expect(chunks).to.be.above(2);
    let completion = "";
    for await (const chunk of await client.completions.create({ model: "org/tiny", prompt: "abc", max_tokens: 10, temperature: 0, stream: true })) completion += chunk.choices[0]?.text ?? "";
    expect(completion).to.equal(tok.decode(await greedy(tok.encode("abc"), 10)));
    // Tokens stream as they are sampled: when the first text arrives the worker is still
    // generating that request (3,000 tokens), and the chunks still add up to the whole reply.
    let first: { generating: number } | undefined, long = "";
    for await (const chunk of await client.completions.create({ model: "org/tiny", prompt: "x", max_tokens: 3000, temperature: 0, stream: true })) {
      const t = chunk.choices[0]?.text ?? "";
      if (t && !first) first = (await (await fetch(url.replace(/\/v1$/, "/health"))).json()) as { generating: number };
      long += t;
    }
    expect(first?.generating).to.equal(1);
    expect(long).to.equal(tok.decode(await greedy(tok.encode("x"), 3000)));
  });

  it("requests that wait while the worker is busy go to it as one batch, each answered as alone", async () => {
    const health = async () => (await (await fetch(url.replace(/\/v1$/, "/health"))).json()) as { requests: number; batches: number };
    const before = await health();
    // A long generation holds the worker; three short ones with the same sampling arrive meanwhile.
    const long = client.completions.create({ model: "org/tiny", prompt: "x", max_tokens: 3000, temperature: 0 });
    await new Promise((r) => setTimeout(r, 50));
    const prompts = ["one", "two", "three"];
    const short = await Promise.all(prompts.map((prompt) => client.completions.create({ model: "org/tiny", prompt, max_tokens: 8, temperature: 0 })));
    await long;
    const after = await health();
    expect(after.requests - before.requests).to.equal(4);
    expect(after.batches - before.batches).to.equal(2);
    for (let i = 0; i < prompts.length; i++) expect(short[i].choices[0].text).to.equal(tok.decode(await greedy(tok.encode(prompts[i]), 8)));
  });

  it("a bad request is a 400 in OpenAI's error shape; SIGTERM stops the server and its worker", async () => {
    const err = await client.chat.completions.create({ model: "org/tiny", messages: [], max_tokens: 4 }).then(() => undefined, (e) => e);
    expect(err).to.be.instanceOf(OpenAI.BadRequestError);
    expect(err.message).to.match(/messages must be a non-empty list/);
    const worker = [...descendants(child.pid!).entries()].find(([, p]) => /troupe-worker/.test(p.args))?.[0];
    expect(worker).to.be.a("number");
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    child.kill("SIGTERM");
    expect(await exited).to.equal(143);  // 128 + SIGTERM, as every command ends on a signal
    await until("the server's worker to end", () => {
      try {
        process.kill(worker!, 0);
        return false;
      } catch {
        return true;
      }
    }, 10_000);
  });
});
