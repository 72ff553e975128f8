// `npm run bench -- NAME`: runs one benchmark; its last output line is one JSON object.
const BENCHES: Record<string, () => Promise<Record<string, number>>> = {
  calls: async () => (await import("./calls.js")).run(),
  actors: async () => (await import("./actors.js")).run(),
  "env-step": async () => (await import("./env.js")).step(),
  "env-reset": async () => (await import("./env.js")).reset(),
  "env-scale": async () => (await import("./env-scale.js")).run(),
  reward: async () => (await import("./env.js")).reward(),
  learner: async () => (await import("./learner.js")).run(),
  "learner-torch": async () => (await import("./learner-torch.js")).run(),
  rollout: async () => (await import("./rollout.js")).run(),
  step: async () => (await import("./step.js")).run(),
  async: async () => (await import("./async.js")).run(),
  "deepswe-learning": async () => (await import("./learning.js")).run(),
  zero: async () => (await import("./zero.js")).run(),
};

const name = process.argv[2];
if (!name || !BENCHES[name]) {
  console.error(`usage: npm run bench -- NAME   (NAME: ${Object.keys(BENCHES).join(", ")})`);
  process.exit(2);
}
const result = await BENCHES[name]();
console.log(JSON.stringify(result));
process.exit(0);
