// An OpenAI-compatible completions server over a native worker: POST /v1/completions with
// token ids (or text, given a tokenizer), log-probs, `echo` (the prompt's tokens and their
// log-probs first, as vLLM gives them: null for the first), and vLLM's
// return_tokens_as_token_ids and stop_token_ids. Serves a local checkpoint to any OpenAI-style client, and the HTTP client's
// tests. GET /v1/models lists the one model. POST /update_weights_from_disk takes new weights
// from a checkpoint folder as SGLang's endpoint of that name does ({model_path, weight_version}
// → {success, message}), so a training run can use this server as its engine; every completion
// then says which weights made it (`weight_version`, as SGLang reports it).
import { createServer, type Server } from "node:http";
import type { NativeWorker } from "../gpu/index.js";
import type { Tokenizer } from "./tokenizer/index.js";
import { SAMPLING_DEFAULTS } from "./policy.js";

export interface ServeOptions {
  model: string;
  port?: number;
  host?: string;
  tokenizer?: Tokenizer;
}

export async function serveOpenAI(worker: NativeWorker, o: ServeOptions): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  let weightVersion = "0";
  const server = createServer((req, res) => {
    const reply = (status: number, v: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(v));
    };
    if (req.method === "GET" && req.url === "/v1/models") return reply(200, { object: "list", data: [{ id: o.model, object: "model" }] });
    const routes = ["/v1/completions", "/update_weights_from_disk"];
    if (req.method !== "POST" || !routes.includes(req.url ?? "")) return reply(404, { error: { message: `no route ${req.method} ${req.url}` } });
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      let b: Record<string, any>;
      try {
        b = JSON.parse(Buffer.concat(chunks).toString());
      } catch {
        return reply(400, { error: { message: "the body is not JSON" } });
      }
      if (req.url === "/update_weights_from_disk") {
        if (typeof b.model_path !== "string" || !b.model_path) return reply(400, { success: false, message: "model_path (a checkpoint folder) is required" });
        try {
          // The worker runs one request at a time: completions before this one finish on the
          // old weights, those after it start on the new.
          await worker.load(b.model_path, { optimizer: false });
          weightVersion = b.weight_version === undefined ? weightVersion : String(b.weight_version);
          return reply(200, { success: true, message: `loaded ${b.model_path}`, weight_version: weightVersion });
        } catch (e) {
          return reply(400, { success: false, message: (e as Error).message });
        }
      }
      const prompt: number[] | undefined = Array.isArray(b.prompt) && b.prompt.every((x: unknown) => Number.isInteger(x)) ? b.prompt
        : typeof b.prompt === "string" && o.tokenizer ? o.tokenizer.encode(b.prompt) : undefined;
      if (!prompt?.length) return reply(400, { error: { message: "prompt must be a non-empty list of token ids (or text, when the server has a tokenizer)" } });
      try {
        const version = weightVersion;
        const g = b.max_tokens === 0 ? { tokens: [], logprobs: [], finish: "length" } : (await worker.generate([prompt], {
          maxTokens: b.max_tokens ?? 16, temperature: b.temperature ?? SAMPLING_DEFAULTS.temperature, topP: b.top_p ?? SAMPLING_DEFAULTS.topP, topK: b.top_k ?? SAMPLING_DEFAULTS.topK, stop: b.stop_token_ids ?? [], seed: b.seed,
        }))[0];
        const echoed = b.echo ? Array.from((await worker.logprobs([prompt]))[0], (x, i) => (i === 0 ? null : x)) : [];
        const ids = [...(b.echo ? prompt : []), ...Array.from(g.tokens)];
        reply(200, {
          id: `cmpl-${Date.now()}`, object: "text_completion", model: o.model, weight_version: version,
          choices: [{
            index: 0, text: o.tokenizer ? o.tokenizer.decode(ids) : "", finish_reason: g.finish,
            logprobs: { tokens: b.return_tokens_as_token_ids ? ids.map((t) => `token_id:${t}`) : ids.map((t) => (o.tokenizer ? o.tokenizer.decode([t]) : String(t))), token_logprobs: [...echoed, ...Array.from(g.logprobs)] },
          }],
          usage: { prompt_tokens: prompt.length, completion_tokens: g.tokens.length, total_tokens: prompt.length + g.tokens.length },
        });
      } catch (e) {
        const code = (e as { code?: string }).code;
        reply(code === "bad_request" || code === "no_model" ? 400 : 500, { error: { message: (e as Error).message } });
      }
    });
  });
  await new Promise<void>((r) => server.listen(o.port ?? 0, o.host ?? "127.0.0.1", r));
  const addr = server.address() as { port: number };
  return { url: `http://${o.host ?? "127.0.0.1"}:${addr.port}`, server, close: () => new Promise((r) => server.close(() => r())) };
}
