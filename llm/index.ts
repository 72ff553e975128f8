// llm/: talking to a policy. So far: tokenizers and the chat template.
export * from "./tokenizer/index.js";
