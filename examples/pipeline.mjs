// Counters and a pipeline of stages on an embedded cluster.
//   node examples/pipeline.mjs
import { init, actorClass } from "troupe";

const Counter = actorClass(new URL("./actors/counter.mjs", import.meta.url), "Counter");
const Splitter = actorClass(new URL("./actors/stages.mjs", import.meta.url), "Splitter");
const WordCounter = actorClass(new URL("./actors/stages.mjs", import.meta.url), "WordCounter");

const cluster = await init();
try {
  // Two counters; 100 increments each, sent all at once, arrive in order.
  const a = await cluster.actor(Counter, [0], { name: "a" });
  const b = await cluster.actor(Counter, [1000]);
  const results = await Promise.all(Array.from({ length: 100 }, () => a.incr(1)));
  console.log(`counter a: last reply ${results.at(-1)}, replies in order: ${results.every((v, i) => v === i + 1)}`);
  console.log(`counter b: ${await b.incr(5)}`);
  const again = await cluster.getActor("a");
  console.log(`named lookup of 'a': ${await again.get()}`);

  // A pipeline: the splitter holds a handle to the counter stage.
  const counter = await cluster.actor(WordCounter, []);
  const splitter = await cluster.actor(Splitter, [counter]);
  const text = "the quick brown fox jumps over the lazy dog the end";
  console.log(`words sent through the pipeline: ${await splitter.process(text)}`);
  console.log(`top words: ${JSON.stringify(await counter.top(2))}`);
  const streamed = [];
  for await (const w of await splitter.words("streamed one word at a time")) streamed.push(w);
  console.log(`streamed: ${streamed.join(" | ")}`);
} finally {
  await cluster.shutdown();
}
