// Tokenizers and Qwen3's chat template, against ids and strings known from Qwen3's own files;
// the hand renderer against Qwen3's real template run by @huggingface/jinja; a model folder's
// files through @huggingface/tokenizers, the byte tokenizer's among them.
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ByteTokenizer, encodeChat, HFTokenizer, makeTokenizer, modelTokenizer, Qwen3Tokenizer, renderChat, writeTokenizerFiles, type ChatMessage, type RenderOptions } from "../../llm/index.js";

describe("tokenizers and the chat template", function () {
  const qwen = new Qwen3Tokenizer();

  it("Qwen3 BPE: known ids for words and special tokens; decode inverts encode", () => {
    expect(qwen.vocabSize).to.equal(151669);
    expect(qwen.encode("Hello world!")).to.deep.equal([9707, 1879, 0]);
    expect(qwen.encode("<|im_start|>user\nhi<|im_end|>\n")).to.deep.equal([151644, 872, 198, 6023, 151645, 198]);
    expect(qwen.specialId("<|im_end|>")).to.equal(151645);
    expect(qwen.specialId("<think>")).to.equal(151667);
    expect(qwen.specialId("<|endoftext|>")).to.equal(151643);
    expect(qwen.specialId("user")).to.equal(undefined);
    const text = "def f(x):\n    return x ** 2  # ünïcödé ✓ 中文\n\n\tend";
    expect(qwen.decode(qwen.encode(text))).to.equal(text);
  });

  it("byte-level: UTF-8 bytes plus the ChatML specials, round trip", () => {
    const b = new ByteTokenizer();
    expect(b.vocabSize).to.equal(261);
    expect(b.encode("hé")).to.deep.equal([104, 195, 169]);
    const chat = renderChat([{ role: "user", content: "añb" }], { addGenerationPrompt: true });
    const ids = b.encode(chat);
    expect(ids[0]).to.equal(b.specialId("<|im_start|>"));
    expect(ids.filter((i) => i === b.specialId("<|im_end|>")).length).to.equal(1);
    expect(b.decode(ids)).to.equal(chat);
  });

  it("renders Qwen3's template: system, user, generation prompt, thinking off", () => {
    const msgs: ChatMessage[] = [{ role: "system", content: "You are helpful." }, { role: "user", content: "Hi" }];
    expect(renderChat(msgs, { addGenerationPrompt: true })).to.equal(
      "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
    );
    expect(renderChat(msgs, { addGenerationPrompt: true, enableThinking: false })).to.equal(
      "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
    );
  });

  it("multi-turn: old reasoning is dropped, the turn after the last query keeps it, tool results group into one user turn", () => {
    const msgs: ChatMessage[] = [
      { role: "user", content: "Q1" },
      { role: "assistant", content: "<think>\nplan A\n</think>\n\nA1" },
      { role: "user", content: "Q2" },
      { role: "assistant", content: "<think>\nplan B\n</think>\n\ncall" },
      { role: "tool", content: "out1" },
      { role: "tool", content: "out2" },
      { role: "assistant", content: "done" },
    ];
    expect(renderChat(msgs)).to.equal(
      "<|im_start|>user\nQ1<|im_end|>\n" +
      "<|im_start|>assistant\nA1<|im_end|>\n" +
      "<|im_start|>user\nQ2<|im_end|>\n" +
      "<|im_start|>assistant\n<think>\nplan B\n</think>\n\ncall<|im_end|>\n" +
      "<|im_start|>user\n<tool_response>\nout1\n</tool_response>\n<tool_response>\nout2\n</tool_response><|im_end|>\n" +
      "<|im_start|>assistant\n<think>\n\n</think>\n\ndone<|im_end|>\n",
    );
  });

  it("encodeChat: the ids of the rendered text, and a loss mask over exactly what the assistant wrote", () => {
    const msgs: ChatMessage[] = [
      { role: "system", content: "Fix the bug." },
      { role: "user", content: "The test fails." },
      { role: "assistant", content: "Let me look." },
      { role: "user", content: "ok" },
    ];
    const { ids, mask } = encodeChat(qwen, msgs);
    expect(ids).to.deep.equal(qwen.encode(renderChat(msgs)));
    expect(mask.length).to.equal(ids.length);
    const kept = ids.filter((_, i) => mask[i] === 1);
    expect(qwen.decode(kept)).to.equal("Let me look.<|im_end|>");
  });

  // Conversations that take every branch of Qwen3's template the agent uses (tools aside).
  const CHATS: [ChatMessage[], RenderOptions][] = [
    [[{ role: "system", content: "sys" }, { role: "user", content: "hi" }], { addGenerationPrompt: true }],
    [[{ role: "user", content: "hi" }], { addGenerationPrompt: true, enableThinking: false }],
    [[{ role: "system", content: "s" }, { role: "user", content: "q1" }, { role: "assistant", content: "<think>\nr1\n</think>\n\na1" }, { role: "user", content: "q2" }, { role: "assistant", content: "<think>\nr2\n</think>\n\na2" }], {}],
    [[{ role: "user", content: "q1" }, { role: "assistant", content: "a1" }, { role: "tool", content: "out1" }, { role: "tool", content: "out2" }, { role: "assistant", content: "a2" }], {}],
    [[{ role: "user", content: "q1" }, { role: "assistant", content: "a1", reasoning_content: "because" }], {}],
    [[{ role: "user", content: "q" }, { role: "assistant", content: "a" }, { role: "user", content: "<tool_response>\nx\n</tool_response>" }, { role: "assistant", content: "<think>\nr\n</think>\n\nb" }], { addGenerationPrompt: true }],
  ];

  it("the hand renderer (kept for the token-exact assistant mask) gives what Qwen3's own template gives under @huggingface/jinja", () => {
    expect(qwen.hasChatTemplate).to.equal(true);
    for (const [msgs, o] of CHATS) expect(renderChat(msgs, o), JSON.stringify(msgs)).to.equal(qwen.applyChatTemplate(msgs, o));
  });

  it("a model folder's tokenizer.json and template: the byte tokenizer's files give ByteTokenizer's ids under @huggingface/tokenizers", () => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-tok-"));
    try {
      expect(writeTokenizerFiles("bytes", dir)).to.deep.equal(["tokenizer.json", "tokenizer_config.json"]);
      const hf = new HFTokenizer(dir);
      const bytes = new ByteTokenizer();
      expect(hf.vocabSize).to.equal(bytes.vocabSize);
      const texts = ["hé", "def f(x):\n    return x ** 2  # ünïcödé ✓ 中文 🎉\n\n\tend  ", renderChat(CHATS[2][0], { addGenerationPrompt: true }), "<think>\n\n</think>\n\n<|endoftext|>"];
      for (const t of texts) {
        expect(hf.encode(t), t).to.deep.equal(bytes.encode(t));
        expect(hf.decode(bytes.encode(t))).to.equal(t);
      }
      for (const sp of ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>"]) expect(hf.specialId(sp)).to.equal(bytes.specialId(sp));
      expect(hf.applyChatTemplate(CHATS[0][0], CHATS[0][1])).to.equal(renderChat(CHATS[0][0], CHATS[0][1]));
      // A folder with a tokenizer.json is its own tokenizer; without one, its config's vocabulary says.
      expect(modelTokenizer(dir)).to.equal(dir);
      expect(makeTokenizer(dir).encode("añb")).to.deep.equal(bytes.encode("añb"));
      const bare = join(dir, "bare");
      writeTokenizerFiles("qwen3", bare);
      writeFileSync(join(dir, "config.json"), JSON.stringify({ vocab_size: 151936 }));
      rmSync(join(dir, "tokenizer.json"));
      expect(modelTokenizer(dir)).to.equal("qwen3");
      expect(new HFTokenizer(bare).encode("Hello world!")).to.deep.equal([9707, 1879, 0]);
      expect(() => new HFTokenizer(join(dir, "nothing"))).to.throw(/nothing: no tokenizer\.json/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
