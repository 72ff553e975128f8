// What the project's processes and sandboxes leave on this machine: the suite's last check
// (leaks.ts) and the chaos harness count them.
import { execFileSync } from "node:child_process";
import Docker from "dockerode";
import { SANDBOX_LABEL } from "../envs/index.js";

/** What the project starts: the runtime's servers and hosts, workers, bubblewrap sandboxes. */
const STARTED = /(^|\/)(nats-server|troupe-worker|bwrap|chromium)( |$)|host-main\.js/;

/** Running processes the project starts, by pid (this process excluded). */
export function projectProcesses(): Map<number, string> {
  const out = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
  const found = new Map<number, string>();
  for (const line of out.split("\n")) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (m && STARTED.test(m[2]) && Number(m[1]) !== process.pid) found.set(Number(m[1]), m[2]);
  }
  return found;
}

/** The processes under `root` (its descendants, however deep): pid → parent pid and command line. */
export function descendants(root: number): Map<number, { ppid: number; args: string }> {
  const all = new Map<number, { ppid: number; args: string }>();
  for (const line of execFileSync("ps", ["-eo", "pid=,ppid=,args="], { encoding: "utf8" }).split("\n")) {
    const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    if (m) all.set(Number(m[1]), { ppid: Number(m[2]), args: m[3] });
  }
  const under = new Map<number, { ppid: number; args: string }>();
  for (const [pid, p] of all) {
    for (let q: number | undefined = p.ppid; q; q = all.get(q)?.ppid) {
      if (q === root) {
        under.set(pid, p);
        break;
      }
    }
  }
  return under;
}

/** Sandbox containers (running or not), by short id; none where no Docker engine answers. */
export async function sandboxContainers(opts: { running?: boolean } = {}): Promise<string[]> {
  const docker = new Docker();
  try {
    await docker.ping();
  } catch {
    return [];
  }
  return (await docker.listContainers({ all: !opts.running, filters: { label: [SANDBOX_LABEL] } })).map((c) => c.Id.slice(0, 12));
}
