// Qwen3's chat template (ChatML with thinking blocks), rendered in code rather than by a Jinja
// engine. It follows the template shipped in Qwen3's tokenizer_config.json, tools aside:
//   <|im_start|>{role}\n{content}<|im_end|>\n   per message (a leading system message first)
//   tool results become a user turn of <tool_response>…</tool_response> blocks
//   an assistant turn before the last real user query loses its <think>…</think> block; after
//   it, the reasoning is kept (in the last turn always, with an empty block if none)
//   the generation prompt is <|im_start|>assistant\n, plus an empty think block when thinking
//   is turned off.
import { IM_END, IM_START, type Tokenizer } from "./tokenizer.js";

export interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string;
  /** Qwen3's separate field for an assistant's thinking; otherwise read from <think>…</think>. */
  reasoning_content?: string;
}

export interface RenderOptions {
  addGenerationPrompt?: boolean;
  /** false adds Qwen3's empty think block after the generation prompt. Default true. */
  enableThinking?: boolean;
}

/** One stretch of rendered text; `assistant` marks what the model itself wrote. */
export interface ChatPiece {
  text: string;
  assistant: boolean;
}

const isToolResponse = (m: ChatMessage) => m.role === "user" && m.content.startsWith("<tool_response>") && m.content.endsWith("</tool_response>");

export function renderChatPieces(messages: ChatMessage[], opts: RenderOptions = {}): ChatPiece[] {
  const out: ChatPiece[] = [];
  const emit = (text: string, assistant = false) => out.push({ text, assistant });
  let lastQuery = messages.length - 1;
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i].role === "user" && !isToolResponse(messages[i])) {
      lastQuery = i;
      break;
    }
  }
  messages.forEach((m, i) => {
    if (m.role === "user" || m.role === "system") {
      if (m.role === "system" && i !== 0) emit(`${IM_START}system\n${m.content}${IM_END}\n`);
      else emit(`${IM_START}${m.role}\n${m.content}${IM_END}\n`);
    } else if (m.role === "assistant") {
      let content = m.content;
      let reasoning = m.reasoning_content ?? "";
      if (m.reasoning_content === undefined && content.includes("</think>")) {
        const [before] = content.split("</think>");
        reasoning = before.replace(/\n+$/, "").split("<think>").pop()!.replace(/^\n+/, "");
        content = content.split("</think>").pop()!.replace(/^\n+/, "");
      }
      emit(`${IM_START}assistant\n`);
      const last = i === messages.length - 1;
      if (i > lastQuery && (last || reasoning)) {
        emit(`<think>\n${reasoning.replace(/^\n+|\n+$/g, "")}\n</think>\n\n${content.replace(/^\n+/, "")}${IM_END}`, true);
      } else emit(`${content}${IM_END}`, true);
      emit("\n");
    } else {
      const first = i === 0 || messages[i - 1].role !== "tool";
      const lastTool = i === messages.length - 1 || messages[i + 1].role !== "tool";
      emit(`${first ? `${IM_START}user` : ""}\n<tool_response>\n${m.content}\n</tool_response>${lastTool ? `${IM_END}\n` : ""}`);
    }
  });
  if (opts.addGenerationPrompt) emit(`${IM_START}assistant\n${opts.enableThinking === false ? "<think>\n\n</think>\n\n" : ""}`);
  return out;
}

/**
 * The messages of a rendered chat, for a server that takes messages rather than ids: each
 * `<|im_start|>role\n…<|im_end|>` turn; a trailing generation prompt is dropped, and so are
 * assistant turns' think blocks (a hosted model is not shown another model's reasoning).
 */
export function parseChatML(text: string): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const turn of text.split(IM_START).slice(1)) {
    const nl = turn.indexOf("\n");
    const role = turn.slice(0, nl < 0 ? turn.length : nl) as ChatMessage["role"];
    const end = turn.indexOf(IM_END);
    if (end < 0) continue;  // the generation prompt
    let content = turn.slice(nl + 1, end);
    if (role === "assistant") content = content.replace(/^<think>[\s\S]*?<\/think>\s*/, "");
    out.push({ role, content });
  }
  return out;
}

/** The chat as one string (what Hugging Face's apply_chat_template returns with tokenize=False). */
export function renderChat(messages: ChatMessage[], opts: RenderOptions = {}): string {
  return renderChatPieces(messages, opts).map((p) => p.text).join("");
}

/**
 * Token ids of a chat and a loss mask (1 on what assistant turns wrote, their <|im_end|>
 * included). Pieces are encoded one by one, so the ids of a conversation only ever grow at
 * the end as turns are added: what the policy generated is kept token for token.
 */
export function encodeChat(tok: Tokenizer, messages: ChatMessage[], opts: RenderOptions = {}): { ids: number[]; mask: number[] } {
  const ids: number[] = [];
  const mask: number[] = [];
  for (const p of renderChatPieces(messages, opts)) {
    const t = tok.encode(p.text);
    ids.push(...t);
    for (let i = 0; i < t.length; i++) mask.push(p.assistant ? 1 : 0);
  }
  return { ids, mask };
}
