// A policy that answers from a script of replies: turn n of a conversation gets reply n. The
// turn is read off the prompt (how many assistant turns it opens), so the policy holds no
// state and a retried or resumed trajectory gets the same answers. Used by replay:gold and
// by tests that need a model with known behaviour.
import type { Completion, Policy, SamplingParams } from "./policy.js";
import { IM_END, IM_START, type Tokenizer } from "./tokenizer/index.js";

export class ScriptedPolicy implements Policy {
  private marker: number[];
  private end: number[];

  constructor(private tok: Tokenizer, private replies: string[], readonly name = "scripted") {
    if (!replies.length) throw new TypeError("ScriptedPolicy needs at least one reply");
    this.marker = tok.encode(`${IM_START}assistant`);
    this.end = tok.encode(IM_END);
  }

  async generate(prompt: number[], p: SamplingParams): Promise<Completion> {
    const turn = Math.max(0, countOccurrences(prompt, this.marker) - 1);
    const text = this.replies[Math.min(turn, this.replies.length - 1)];
    const tokens = [...this.tok.encode(text), ...this.end];
    const cut = tokens.slice(0, p.maxTokens);
    return { tokens: cut, logprobs: cut.map(() => 0), finish: cut.length < tokens.length ? "length" : "stop" };
  }
}

function countOccurrences(hay: number[], needle: number[]): number {
  let n = 0;
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    n++;
  }
  return n;
}
