// A policy behind OpenAI-compatible servers (vLLM, SGLang, llm/openai-server.ts): the
// completions endpoint with token ids in and out, so trajectories stay token-exact — asked for
// both ways the servers give them (vLLM's return_tokens_as_token_ids in the log-probs, and the
// `return_token_ids` both vLLM and SGLang answer with per-choice `token_ids`). Several
// endpoints: each trajectory (session) sticks to one, for the server's prefix cache, and new
// sessions go to the least loaded; a session moves only when its endpoint is far busier than
// the idlest. A base URL may end in /v1 or not; the key comes from OPENAI_API_KEY unless given.
// Timeouts; retries on 429, 5xx and network errors with jittered exponential backoff, or after
// the server's Retry-After; a timed-out request is retried once, not until the retries run out.
import { SAMPLING_DEFAULTS, type Completion, type Policy, type SamplingParams } from "./policy.js";
import { IM_END, parseChatML, type Tokenizer } from "./tokenizer/index.js";

export interface OpenAIClientOptions {
  /** Base URLs, e.g. http://host:8000 (the /v1/completions path is appended). */
  endpoints: string[];
  model: string;
  apiKey?: string;
  timeoutMs?: number;
  retries?: number;
  /** First backoff; doubles each retry. */
  backoffMs?: number;
}

/** The server answered in a way that cannot be used (bad request, no token ids, …). */
export class OpenAIError extends Error {
  override name = "OpenAIError";
  /** `retryAfterMs`: how long the server asked to wait (its Retry-After header). */
  constructor(message: string, readonly status?: number, readonly retryAfterMs?: number) {
    super(message);
  }
}

/** A Retry-After header (seconds, or an HTTP date) in milliseconds from now. */
function retryAfterMs(h: string | null): number | undefined {
  if (!h) return undefined;
  const s = Number(h);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(h);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

interface Endpoint {
  url: string;
  inFlight: number;
  sessions: number;
}

export class OpenAIClient {
  private eps: Endpoint[];
  private sticky = new Map<string, Endpoint>();

  constructor(private o: OpenAIClientOptions) {
    if (!o.endpoints.length) throw new TypeError("OpenAIClient needs at least one endpoint");
    // The paths appended start with /v1 (and SGLang's weight update sits at the root).
    this.eps = o.endpoints.map((u) => ({ url: u.replace(/\/+$/, "").replace(/\/v1$/, ""), inFlight: 0, sessions: 0 }));
    this.o = { ...o, apiKey: o.apiKey ?? process.env.OPENAI_API_KEY };
  }

  /**
   * A policy whose calls all go to one endpoint while it is not overloaded. Its `version` is
   * the weights' version of its last reply, where the server reports one (SGLang and Troupe's
   * server do, as `weight_version`; vLLM does not).
   */
  session(key: string): Policy {
    const policy: { -readonly [K in keyof Policy]: Policy[K] } = {
      name: `openai:${this.o.model}`,
      generate: async (prompt, params) => {
        const { completion, version } = await this.complete(key, prompt, params);
        policy.version = version;
        return completion;
      },
    };
    return policy;
  }

  /**
   * A policy over /v1/chat/completions, for hosted models that speak only chat: the prompt's
   * ids decoded into messages (parseChatML), the reply's text encoded again with `tok` and
   * ended with <|im_end|> — the ids are not the model's own (`tokenExact: false`) and the
   * log-probs are unknown (0).
   */
  chatSession(key: string, tok: Tokenizer): Policy {
    return {
      name: `openai-chat:${this.o.model}`, tokenExact: false,
      generate: async (prompt, p) => {
        const body = {
          model: this.o.model, messages: parseChatML(tok.decode(prompt)), max_tokens: p.maxTokens,
          temperature: p.temperature ?? SAMPLING_DEFAULTS.temperature, top_p: p.topP ?? SAMPLING_DEFAULTS.topP, ...(p.seed !== undefined ? { seed: p.seed } : {}),
        };
        const r = await this.request(this.pick(key), "/v1/chat/completions", body) as { choices?: { message?: { content?: string | null }; finish_reason?: string }[] };
        const c = r.choices?.[0];
        if (typeof c?.message?.content !== "string") throw new OpenAIError("the chat completion has no choices[0].message.content");
        const finish = c.finish_reason === "length" ? "length" : "stop";
        const end = tok.specialId(IM_END);
        const tokens = [...tok.encode(c.message.content), ...(finish === "stop" && end !== undefined ? [end] : [])].slice(0, p.maxTokens);
        return { tokens, logprobs: tokens.map(() => 0), finish };
      },
    };
  }

  /**
   * Every endpoint loads the weights in `modelPath` (a checkpoint folder it can read) and
   * reports `version` with its completions from then on: SGLang's /update_weights_from_disk.
   */
  async updateWeightsFromDisk(modelPath: string, version: number): Promise<void> {
    await Promise.all(this.eps.map(async (ep) => {
      // A refusal comes as HTTP 400 with {success: false, message}: both say why.
      const fail = (why: string, status?: number) => new OpenAIError(`${ep.url}: /update_weights_from_disk failed: ${why}`, status);
      const r = (await this.post(ep.url, "/update_weights_from_disk", { model_path: modelPath, weight_version: String(version) }).catch((e: OpenAIError) => {
        throw fail(e.message, e.status);
      })) as { success?: boolean; message?: string };
      if (r.success !== true) throw fail(r.message ?? JSON.stringify(r).slice(0, 200));
    }));
  }

  /** Ends a session (its trajectory is over): forget its endpoint. */
  release(key: string): void {
    const ep = this.sticky.get(key);
    if (ep) ep.sessions--;
    this.sticky.delete(key);
  }

  /** Which endpoint a session uses now. */
  endpointOf(key: string): string | undefined {
    return this.sticky.get(key)?.url;
  }

  /** Least loaded: fewest requests in flight, then fewest sessions. */
  private idlest(): Endpoint {
    return this.eps.reduce((a, b) => (b.inFlight < a.inFlight || (b.inFlight === a.inFlight && b.sessions < a.sessions) ? b : a));
  }

  private pick(key: string): Endpoint {
    const idlest = this.idlest();
    const cur = this.sticky.get(key);
    if (cur && cur.inFlight <= 2 * idlest.inFlight + 2) return cur;
    if (cur) cur.sessions--;
    idlest.sessions++;
    this.sticky.set(key, idlest);
    return idlest;
  }

  async complete(key: string, prompt: number[], p: SamplingParams): Promise<{ completion: Completion; version?: number }> {
    const body = {
      model: this.o.model, prompt, max_tokens: p.maxTokens, temperature: p.temperature ?? SAMPLING_DEFAULTS.temperature, top_p: p.topP ?? SAMPLING_DEFAULTS.topP,
      ...(p.topK ? { top_k: p.topK } : {}), ...(p.seed !== undefined ? { seed: p.seed } : {}),
      ...(p.stop?.length ? { stop_token_ids: p.stop } : {}),
      logprobs: 1, return_tokens_as_token_ids: true, return_token_ids: true, skip_special_tokens: false,
    };
    return parseCompletion(await this.request(this.pick(key), "/v1/completions", body));
  }

  /**
   * Scorer: the log-prob of each continuation after `prompt`, from the completions endpoint's
   * `echo` (the prompt's own token log-probs, as vLLM returns them with `echo: true` and
   * `logprobs`), one request per continuation, all to one endpoint (they share the prompt).
   */
  async continuationLogprobs(prompt: number[], continuations: number[][]): Promise<number[]> {
    const ep = this.idlest();
    return Promise.all(continuations.map(async (cont) => {
      const r = await this.request(ep, "/v1/completions", {
        model: this.o.model, prompt: [...prompt, ...cont], max_tokens: 1, temperature: 0, echo: true, logprobs: 1, return_tokens_as_token_ids: true,
      });
      const lps = (r as { choices?: { logprobs?: { token_logprobs?: (number | null)[] } }[] }).choices?.[0]?.logprobs?.token_logprobs;
      const tail = lps?.slice(prompt.length, prompt.length + cont.length);
      if (!tail || tail.length !== cont.length || tail.some((x) => typeof x !== "number")) {
        throw new OpenAIError(`the server did not return the prompt's log-probs (a completion with echo: true and logprobs must list one per prompt token; got ${lps?.length ?? "none"} for ${prompt.length + cont.length})`);
      }
      return (tail as number[]).reduce((a, x) => a + x, 0);
    }));
  }

  /**
   * A POST to `path`, retried on 429, 5xx and network errors: after the server's
   * Retry-After when it sends one (at most a minute), else a jittered exponential backoff, so
   * that clients refused together do not come back together. A timeout is retried once: a
   * server that took the whole timeout is unlikely to answer the next in time.
   */
  private async request(ep: Endpoint, path: string, body: unknown): Promise<unknown> {
    const retries = this.o.retries ?? 3;
    let backoff = this.o.backoffMs ?? 500, timeouts = 0;
    for (let attempt = 0; ; attempt++) {
      let wait = backoff * (0.5 + Math.random());
      ep.inFlight++;
      try {
        return await this.post(ep.url, path, body);
      } catch (e) {
        const timedOut = (e as Error).name === "TimeoutError";
        const retryable = !(e instanceof OpenAIError) || e.status === 429 || (e.status ?? 0) >= 500;
        if (!retryable || attempt >= retries || (timedOut && ++timeouts > 1)) throw e;
        if (e instanceof OpenAIError && e.retryAfterMs !== undefined) wait = Math.min(e.retryAfterMs, 60_000);
      } finally {
        ep.inFlight--;
      }
      await new Promise((r) => setTimeout(r, wait));
      backoff *= 2;
    }
  }

  private async post(url: string, path: string, body: unknown): Promise<unknown> {
    const res = await fetch(`${url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(this.o.apiKey ? { authorization: `Bearer ${this.o.apiKey}` } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.o.timeoutMs ?? 600_000),
    });
    const text = await res.text();
    if (!res.ok) throw new OpenAIError(`${url}: HTTP ${res.status}: ${text.slice(0, 300)}`, res.status, retryAfterMs(res.headers.get("retry-after")));
    try {
      return JSON.parse(text);
    } catch {
      throw new OpenAIError(`${url}: the reply is not JSON: ${text.slice(0, 100)}`, 502);
    }
  }
}

/**
 * Token ids come as "token_id:N" strings (vLLM's return_tokens_as_token_ids); the weights'
 * version, where the server reports one, as `weight_version` (top level or in `meta_info`).
 */
function parseCompletion(r: unknown): { completion: Completion; version?: number } {
  const c = (r as { choices?: { finish_reason?: string; token_ids?: unknown; logprobs?: { tokens?: string[]; token_logprobs?: (number | null)[] } }[] }).choices?.[0];
  if (!c) throw new OpenAIError("the completion has no choices");
  const ids = Array.isArray(c.token_ids) && c.token_ids.every((x) => Number.isInteger(x)) ? c.token_ids as number[] : undefined;
  const toks = c.logprobs?.tokens;
  if (!ids && !toks) throw new OpenAIError("the completion has neither token_ids nor logprobs.tokens: the server must return token ids (return_token_ids, or logprobs with return_tokens_as_token_ids)");
  const tokens = ids ?? toks!.map((t) => {
    const m = /^token_id:(\d+)$/.exec(t);
    if (!m) throw new OpenAIError(`token '${t.slice(0, 20)}' is not an id: the server ignored return_tokens_as_token_ids`);
    return Number(m[1]);
  });
  const given = c.logprobs?.token_logprobs ?? [];
  // Log-probs that do not line up with the ids are none (0: unknown), never a shifted guess.
  const logprobs = given.length === tokens.length ? given.map((x) => x ?? 0) : tokens.map(() => 0);
  const meta = r as { weight_version?: unknown; meta_info?: { weight_version?: unknown } };
  const v = Number(meta.weight_version ?? meta.meta_info?.weight_version);
  return { completion: { tokens, logprobs, finish: c.finish_reason === "length" ? "length" : "stop" }, version: Number.isInteger(v) ? v : undefined };
}
