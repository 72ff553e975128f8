// An OpenAI-compatible completions server over a native worker: POST /v1/completions with
// token ids (or text, given a tokenizer), log-probs, and vLLM's return_tokens_as_token_ids and
// stop_token_ids. Serves a local checkpoint to any OpenAI-style client, and the HTTP client's
// tests. GET /v1/models lists the one model.
import { createServer, type Server } from "node:http";
import type { NativeWorker } from "../gpu/index.js";
import type { Tokenizer } from "./tokenizer/index.js";

export interface ServeOptions {
  model: string;
  port?: number;
  host?: string;
  tokenizer?: Tokenizer;
}

export async function serveOpenAI(worker: NativeWorker, o: ServeOptions): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const reply = (status: number, v: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(v));
    };
    if (req.method === "GET" && req.url === "/v1/models") return reply(200, { object: "list", data: [{ id: o.model, object: "model" }] });
    if (req.method !== "POST" || req.url !== "/v1/completions") return reply(404, { error: { message: `no route ${req.method} ${req.url}` } });
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      let b: Record<string, any>;
      try {
        b = JSON.parse(Buffer.concat(chunks).toString());
      } catch {
        return reply(400, { error: { message: "the body is not JSON" } });
      }
      const prompt: number[] | undefined = Array.isArray(b.prompt) && b.prompt.every((x: unknown) => Number.isInteger(x)) ? b.prompt
        : typeof b.prompt === "string" && o.tokenizer ? o.tokenizer.encode(b.prompt) : undefined;
      if (!prompt?.length) return reply(400, { error: { message: "prompt must be a non-empty list of token ids (or text, when the server has a tokenizer)" } });
      try {
        const [g] = await worker.generate([prompt], {
          maxTokens: b.max_tokens ?? 16, temperature: b.temperature ?? 1, topP: b.top_p ?? 1, topK: b.top_k ?? 0, stop: b.stop_token_ids ?? [], seed: b.seed,
        });
        const ids = Array.from(g.tokens);
        reply(200, {
          id: `cmpl-${Date.now()}`, object: "text_completion", model: o.model,
          choices: [{
            index: 0, text: o.tokenizer ? o.tokenizer.decode(ids) : "", finish_reason: g.finish,
            logprobs: { tokens: b.return_tokens_as_token_ids ? ids.map((t) => `token_id:${t}`) : ids.map((t) => (o.tokenizer ? o.tokenizer.decode([t]) : String(t))), token_logprobs: Array.from(g.logprobs) },
          }],
          usage: { prompt_tokens: prompt.length, completion_tokens: ids.length, total_tokens: prompt.length + ids.length },
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
