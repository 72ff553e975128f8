// Tokenizers and Qwen3's chat template, against ids and strings known from Qwen3's own files.
import { expect } from "chai";
import { ByteTokenizer, encodeChat, Qwen3Tokenizer, renderChat, type ChatMessage } from "../../llm/index.js";

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
});
