// A Hugging Face model folder's tokenizer: its tokenizer.json through @huggingface/tokenizers,
// and its chat template (tokenizer_config.json's `chat_template`, or `chat_template.jinja` as
// newer folders ship it) through @huggingface/jinja. Loading parses the folder's files once per
// process (Qwen3's tokenizer.json is 11 MB: about half a second).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Template } from "@huggingface/jinja";
import { Tokenizer as Engine } from "@huggingface/tokenizers";
import type { ChatMessage } from "./chat-template.js";
import type { Tokenizer } from "./tokenizer.js";

interface Loaded {
  engine: Engine;
  config: Record<string, unknown>;
  /** Every added token (special or not, e.g. Qwen3's <think>) by its text. */
  added: Map<string, number>;
  vocabSize: number;
  template?: Template;
}

const loaded = new Map<string, Loaded>();

function load(dir: string): Loaded {
  const hit = loaded.get(dir);
  if (hit) return hit;
  const file = join(dir, "tokenizer.json");
  if (!existsSync(file)) throw new TypeError(`${dir}: no tokenizer.json (a Hugging Face model folder has one)`);
  const readJson = (f: string) => JSON.parse(readFileSync(f, "utf8")) as Record<string, unknown>;
  const json = readJson(file);
  const config = existsSync(join(dir, "tokenizer_config.json")) ? readJson(join(dir, "tokenizer_config.json")) : {};
  const engine = new Engine(json, config);
  const added = new Map<string, number>();
  for (const [id, t] of engine.get_added_tokens_decoder()) added.set(t.content, id);
  let vocabSize = 0;
  for (const id of engine.get_vocab(true).values()) if (id >= vocabSize) vocabSize = id + 1;
  const source = existsSync(join(dir, "chat_template.jinja")) ? readFileSync(join(dir, "chat_template.jinja"), "utf8") : config.chat_template;
  const l: Loaded = { engine, config, added, vocabSize, ...(typeof source === "string" ? { template: new Template(source) } : {}) };
  loaded.set(dir, l);
  return l;
}

export interface TemplateOptions {
  addGenerationPrompt?: boolean;
  /** Qwen3's switch: false asks for an answer without thinking. */
  enableThinking?: boolean;
}

export class HFTokenizer implements Tokenizer {
  private l: Loaded;

  /** `name`: what configs call it ("qwen3" for the bundled files), else the folder. */
  constructor(readonly dir: string, readonly name: string = dir) {
    this.l = load(dir);
  }

  get vocabSize(): number {
    return this.l.vocabSize;
  }

  encode(text: string): number[] {
    return this.l.engine.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: ArrayLike<number>): string {
    return this.l.engine.decode(Array.from(ids), { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  specialId(token: string): number | undefined {
    return this.l.added.get(token);
  }

  get hasChatTemplate(): boolean {
    return this.l.template !== undefined;
  }

  /** The chat as the folder's own template renders it (transformers' apply_chat_template, untokenized). */
  applyChatTemplate(messages: ChatMessage[], o: TemplateOptions = {}): string {
    if (!this.l.template) throw new TypeError(`${this.dir}: the tokenizer has no chat template (tokenizer_config.json's chat_template or chat_template.jinja)`);
    const special = (k: string) => {
      const v = this.l.config[k];
      return typeof v === "string" ? v : (v as { content?: string } | null)?.content;
    };
    return this.l.template.render({
      messages, add_generation_prompt: o.addGenerationPrompt ?? false,
      ...(o.enableThinking === undefined ? {} : { enable_thinking: o.enableThinking }),
      bos_token: special("bos_token"), eos_token: special("eos_token"),
    });
  }
}
