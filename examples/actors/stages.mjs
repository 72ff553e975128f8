// Stages of a small text pipeline. Each stage is an actor holding a handle to the next one:
// handles travel inside calls like any other value.
export class Splitter {
  constructor(next) {
    this.next = next;
  }
  // An async generator: the caller receives words one by one as a stream.
  async *words(text) {
    for (const w of text.split(/\s+/).filter(Boolean)) yield w;
  }
  async process(text) {
    const words = text.split(/\s+/).filter(Boolean);
    return this.next.count(words);
  }
}

export class WordCounter {
  constructor() {
    this.counts = new Map();
  }
  count(words) {
    for (const w of words) this.counts.set(w.toLowerCase(), (this.counts.get(w.toLowerCase()) ?? 0) + 1);
    return words.length;
  }
  top(n = 3) {
    return [...this.counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, n);
  }
}
