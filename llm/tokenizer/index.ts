// Tokenizers and the chat template.
export { ByteTokenizer } from "./byte-level.js";
export { encodeChat, parseChatML, renderChat, renderChatPieces, type ChatMessage, type ChatPiece, type RenderOptions } from "./chat-template.js";
export { Qwen3Tokenizer } from "./qwen3.js";
export { makeTokenizer, tokenizerForVocab, type TokenizerName } from "./by-name.js";
export { END_OF_TEXT, IM_END, IM_START, type Tokenizer } from "./tokenizer.js";
