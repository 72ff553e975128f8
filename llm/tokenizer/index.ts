// Tokenizers and the chat template.
export { ByteTokenizer, byteTokenizerJson } from "./byte-level.js";
export { copyTokenizerFiles, TOKENIZER_FILES, writeTokenizerFiles } from "./files.js";
export { encodeChat, parseChatML, renderChat, renderChatPieces, type ChatMessage, type ChatPiece, type RenderOptions } from "./chat-template.js";
export { HFTokenizer, type TemplateOptions } from "./hf.js";
export { Qwen3Tokenizer, QWEN3_TOKENIZER_DIR } from "./qwen3.js";
export { isTokenizerName, makeTokenizer, modelTokenizer, tokenizerForVocab, type TokenizerName } from "./by-name.js";
export { END_OF_TEXT, IM_END, IM_START, type Tokenizer } from "./tokenizer.js";
