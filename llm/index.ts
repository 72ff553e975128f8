// llm/: talking to a policy — the token-in/token-out interface, policies (native worker,
// scripted), tokenizers and the chat template.
export * from "./tokenizer/index.js";
export { SAMPLING_DEFAULTS, type Completion, type Policy, type SamplingParams, type Scorer } from "./policy.js";
export { ScriptedPolicy } from "./scripted-policy.js";
export { OpenAIClient, OpenAIError, type OpenAIClientOptions } from "./openai-client.js";
export { serveOpenAI, type OpenAIServer, type ServeOptions } from "./openai-server.js";
export { GenerationQueue } from "./batcher.js";
