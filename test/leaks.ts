// The suite's last check: every process and sandbox it started is gone. `.mocharc.json` has
// `exit: true` (mocha ends even with handles open), so without this a leaked nats-server,
// host process, native worker or container would pass unseen. Loaded as a root hook plugin.
import { projectProcesses as processes, sandboxContainers as sandboxes } from "./leftovers.js";
import { until } from "./helpers.js";

let before = new Set<number>();
let containersBefore = new Set<string>();

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    before = new Set(processes().keys());
    containersBefore = new Set(await sandboxes());
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    // Shutdowns finish asynchronously (a host's grace period, a container's removal): wait for
    // the state, then name whatever is still there.
    const leftover = async () => {
      const procs = [...processes()].filter(([pid]) => !before.has(pid));
      const boxes = (await sandboxes()).filter((id) => !containersBefore.has(id));
      return { procs, boxes };
    };
    const clean = await until("the suite's processes and sandboxes to end", async () => {
      const l = await leftover();
      return l.procs.length === 0 && l.boxes.length === 0;
    }, 30_000).catch(() => false);
    if (!clean) {
      const { procs, boxes } = await leftover();
      throw new Error(`the suite left ${procs.length} process(es) and ${boxes.length} sandbox container(s) behind:\n` +
        [...procs.map(([pid, args]) => `  pid ${pid}: ${args.slice(0, 160)}`), ...boxes.map((id) => `  container ${id}`)].join("\n"));
    }
  },
};
