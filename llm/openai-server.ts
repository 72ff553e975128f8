// An OpenAI-compatible server over a native worker (`node driver.js serve`, and the engine of
// external mode's tests): GET /v1/models and /health; POST /v1/completions with token ids (or
// text, given a tokenizer), log-probs, `echo` (the prompt's tokens and their log-probs first,
// as vLLM gives them: null for the first), vLLM's return_tokens_as_token_ids and
// stop_token_ids; POST /v1/chat/completions (the model's chat template, given a tokenizer);
// `stream: true` on both (server-sent events, each token's text sent as the worker samples it).
// Concurrent requests are batched into the worker
// (batcher.ts). POST /update_weights_from_disk takes new weights from a checkpoint folder as
// SGLang's endpoint of that name does ({model_path, weight_version} → {success, message}), so a
// training run can use this server as its engine; every completion then says which weights
// made it (`weight_version`, as SGLang reports it).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { GenerateOptions, Generation, NativeWorker } from "../gpu/index.js";
import { GenerationQueue } from "./batcher.js";
import { SAMPLING_DEFAULTS } from "./policy.js";
import { encodeChat, END_OF_TEXT, HFTokenizer, IM_END, type ChatMessage, type Tokenizer } from "./tokenizer/index.js";

export interface ServeOptions {
  model: string;
  port?: number;
  host?: string;
  tokenizer?: Tokenizer;
}

export interface OpenAIServer {
  url: string;
  server: Server;
  /** Requests taken and worker calls made (batching). */
  stats: GenerationQueue["stats"];
  close: () => Promise<void>;
}

/** A request the server refuses: HTTP 400 with OpenAI's error shape. */
class BadRequest extends Error {}

export async function serveOpenAI(worker: NativeWorker, o: ServeOptions): Promise<OpenAIServer> {
  const queue = new GenerationQueue(worker);
  let weightVersion = "0";
  const stopIds = [IM_END, END_OF_TEXT].map((s) => o.tokenizer?.specialId(s)).filter((id): id is number => id !== undefined);

  async function completions(b: Record<string, any>, res: ServerResponse): Promise<void> {
    const prompt: number[] | undefined = Array.isArray(b.prompt) && b.prompt.every((x: unknown) => Number.isInteger(x)) ? b.prompt
      : typeof b.prompt === "string" && o.tokenizer ? o.tokenizer.encode(b.prompt) : undefined;
    if (!prompt?.length) throw new BadRequest("prompt must be a non-empty list of token ids (or text, when the server has a tokenizer)");
    const head = { id: `cmpl-${Date.now()}`, object: "text_completion", created: Math.floor(Date.now() / 1000), model: o.model, weight_version: weightVersion };
    const opts = sampling(b, []);
    const none: Generation = { tokens: new Int32Array(0), logprobs: new Float32Array(0), finish: "length" };
    if (b.stream) {
      const sse = eventStream(res);
      const text = new TextDeltas(o.tokenizer);
      const send = (t: string, finish: string | null = null) => (t || finish) && sse.send({ ...head, choices: [{ index: 0, text: t, finish_reason: finish }] });
      if (b.echo) send(o.tokenizer?.decode(prompt) ?? "");
      const g = b.max_tokens === 0 ? none : await queue.generate(prompt, opts, (id) => send(text.push(id)));
      send(text.flush());
      send("", g.finish);
      return sse.end();
    }
    const g = b.max_tokens === 0 ? none : await queue.generate(prompt, opts);
    const echoed = b.echo ? Array.from((await worker.logprobs([prompt]))[0], (x, i) => (i === 0 ? null : x)) : [];
    const ids = [...(b.echo ? prompt : []), ...Array.from(g.tokens)];
    reply(res, 200, {
      ...head,
      choices: [{
        index: 0, text: o.tokenizer ? o.tokenizer.decode(ids) : "", finish_reason: g.finish, token_ids: Array.from(g.tokens),
        logprobs: { tokens: b.return_tokens_as_token_ids ? ids.map((t) => `token_id:${t}`) : ids.map((t) => (o.tokenizer ? o.tokenizer.decode([t]) : String(t))), token_logprobs: [...echoed, ...Array.from(g.logprobs)] },
      }],
      usage: { prompt_tokens: prompt.length, completion_tokens: g.tokens.length, total_tokens: prompt.length + g.tokens.length },
    });
  }

  async function chat(b: Record<string, any>, res: ServerResponse): Promise<void> {
    const tok = o.tokenizer;
    if (!tok) throw new BadRequest("this server has no tokenizer: chat completions need one");
    const messages = b.messages as ChatMessage[];
    if (!Array.isArray(messages) || !messages.length || !messages.every((m) => ["system", "user", "assistant", "tool"].includes(m?.role) && typeof m.content === "string")) {
      throw new BadRequest("messages must be a non-empty list of {role: system|user|assistant|tool, content: string}");
    }
    // The model folder's own template when its tokenizer has one (a server needs no assistant mask).
    const enableThinking = typeof b.chat_template_kwargs?.enable_thinking === "boolean" ? b.chat_template_kwargs.enable_thinking as boolean : undefined;
    const prompt = tok instanceof HFTokenizer && tok.hasChatTemplate
      ? tok.encode(tok.applyChatTemplate(messages, { addGenerationPrompt: true, enableThinking }))
      : encodeChat(tok, messages, { addGenerationPrompt: true, enableThinking }).ids;
    const head = { id: `chatcmpl-${Date.now()}`, created: Math.floor(Date.now() / 1000), model: o.model, weight_version: weightVersion };
    if (b.stream) {
      const sse = eventStream(res);
      const text = new TextDeltas(tok);
      const send = (delta: Record<string, string>, finish: string | null = null) => sse.send({ ...head, object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }] });
      const content = (t: string) => t && send({ content: t });
      send({ role: "assistant", content: "" });
      // A stop token ends the reply and is not part of it.
      const g = await queue.generate(prompt, sampling(b, stopIds), (id) => stopIds.includes(id) || content(text.push(id)));
      content(text.flush());
      send({}, g.finish);
      return sse.end();
    }
    const g = await queue.generate(prompt, sampling(b, stopIds));
    const ids = Array.from(g.tokens);
    const body = g.finish === "stop" && stopIds.includes(ids[ids.length - 1]) ? ids.slice(0, -1) : ids;
    reply(res, 200, {
      ...head, object: "chat.completion",
      choices: [{
        index: 0, message: { role: "assistant", content: tok.decode(body) }, finish_reason: g.finish,
        logprobs: b.logprobs ? { content: body.map((t, i) => ({ token: tok.decode([t]), logprob: g.logprobs[i], bytes: null, top_logprobs: [] })) } : null,
      }],
      usage: { prompt_tokens: prompt.length, completion_tokens: ids.length, total_tokens: prompt.length + ids.length },
    });
  }

  async function updateWeights(b: Record<string, any>, res: ServerResponse): Promise<void> {
    if (typeof b.model_path !== "string" || !b.model_path) return reply(res, 400, { success: false, message: "model_path (a checkpoint folder) is required" });
    try {
      // The worker runs one request at a time: completions before this one finish on the old
      // weights, those after it start on the new.
      await worker.load(b.model_path, { optimizer: false });
      weightVersion = b.weight_version === undefined ? weightVersion : String(b.weight_version);
      reply(res, 200, { success: true, message: `loaded ${b.model_path}`, weight_version: weightVersion });
    } catch (e) {
      reply(res, 400, { success: false, message: (e as Error).message });
    }
  }

  const routes: Record<string, (b: Record<string, any>, res: ServerResponse) => Promise<void>> = {
    "/v1/completions": completions, "/v1/chat/completions": chat, "/update_weights_from_disk": updateWeights,
  };
  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/v1/models") return reply(res, 200, { object: "list", data: [{ id: o.model, object: "model", created: 0, owned_by: "troupe" }] });
    if (req.method === "GET" && req.url === "/health") return reply(res, 200, { status: "ok", model: o.model, weight_version: weightVersion, ...queue.stats });
    const route = req.method === "POST" ? routes[req.url ?? ""] : undefined;
    if (!route) return reply(res, 404, error(`no route ${req.method} ${req.url}`, "not_found"));
    void readJson(req).then((b) => route(b, res)).catch((e: Error) => {
      const code = (e as { code?: string }).code;
      const bad = e instanceof BadRequest || code === "bad_request" || code === "no_model";
      if (!res.headersSent) reply(res, bad ? 400 : 500, error(e.message, bad ? "invalid_request_error" : "server_error"));
      else res.end();
    });
  });
  await new Promise<void>((r) => server.listen(o.port ?? 0, o.host ?? "127.0.0.1", r));
  const addr = server.address() as { port: number };
  return {
    url: `http://${o.host ?? "127.0.0.1"}:${addr.port}`, server, stats: queue.stats,
    close: () => new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/** A request's sampling, OpenAI's names (and vLLM's top_k, stop_token_ids) to the worker's. */
function sampling(b: Record<string, any>, stop: number[]): GenerateOptions {
  const maxTokens = b.max_completion_tokens ?? b.max_tokens ?? 16;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new BadRequest(`max_tokens must be a positive integer, got ${JSON.stringify(maxTokens)}`);
  if (b.n !== undefined && b.n !== 1) throw new BadRequest("n must be 1 (ask again for more samples)");
  return {
    maxTokens, temperature: b.temperature ?? SAMPLING_DEFAULTS.temperature, topP: b.top_p ?? SAMPLING_DEFAULTS.topP, topK: b.top_k ?? SAMPLING_DEFAULTS.topK,
    stop: [...stop, ...(Array.isArray(b.stop_token_ids) ? b.stop_token_ids : [])], ...(b.seed !== undefined ? { seed: b.seed } : {}),
  };
}

/**
 * The text each token adds, decoded as tokens come: a token that ends inside a multi-byte
 * character adds nothing until the character is whole, so the pieces join to the whole text.
 */
class TextDeltas {
  private pending: number[] = [];
  constructor(private tok: Tokenizer | undefined) {}

  push(id: number): string {
    if (!this.tok) return "";
    this.pending.push(id);
    const text = this.tok.decode(this.pending);
    if (text.endsWith("\uFFFD")) return "";
    this.pending = [];
    return text;
  }

  /** What is held back at the end (bytes that never made a whole character). */
  flush(): string {
    const text = this.tok && this.pending.length ? this.tok.decode(this.pending) : "";
    this.pending = [];
    return text;
  }
}

/** Server-sent events: the head now, then each chunk as it is sent. */
function eventStream(res: ServerResponse): { send: (chunk: unknown) => void; end: () => void } {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  return { send: (c) => res.write(`data: ${JSON.stringify(c)}\n\n`), end: () => res.end("data: [DONE]\n\n") };
}

function reply(res: ServerResponse, status: number, v: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(v));
}

function error(message: string, type: string) {
  return { error: { message, type, param: null, code: null } };
}

function readJson(req: IncomingMessage): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", reject);
    req.on("end", () => {
      try {
        const b = JSON.parse(Buffer.concat(chunks).toString());
        if (typeof b !== "object" || b === null || Array.isArray(b)) throw new Error();
        resolve(b);
      } catch {
        reject(new BadRequest("the body is not a JSON object"));
      }
    });
  });
}
