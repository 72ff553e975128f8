// The local backend (bubblewrap), for machines without Docker: the same sandbox interface and
// the same bundled tasks, run on the base root file system folder.
import { expect } from "chai";
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import {
  buildLocalImages, ensureBaseRootfs, LocalBackend, loadTasks, SandboxUnavailableError, SWEEnv, validateTask,
  type Sandbox,
} from "../../envs/index.js";

const sandboxDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith("troupe-sbx-"));

describe("local sandboxes (bubblewrap)", function () {
  this.timeout(120_000);
  let backend: LocalBackend;
  let rootfs: string;
  let sb: Sandbox;

  before(async () => {
    // No Docker needed: the root file system is debootstrap's (made once, cached).
    rootfs = await ensureBaseRootfs();
    backend = LocalBackend.connect();
    sb = await backend.create({ image: rootfs, workdir: "/testbed", limits: { fileBytes: 16 * 1024 ** 2, memoryBytes: 256 * 1024 ** 2 } });
  });
  after(() => sb?.close());

  it("runs commands: exit code, stdout and stderr apart, in the workdir", async () => {
    const r = await sb.exec("echo out; echo err >&2; pwd; exit 4");
    expect(r).to.include({ exitCode: 4, stdout: "out\n/testbed\n", stderr: "err\n", timedOut: false, truncated: false });
  });

  it("kills a command and what it started at the time limit; the shell survives", async () => {
    const r = await sb.exec("sleep 1000 & sleep 1000", { timeoutSec: 1 });
    expect(r.timedOut).to.equal(true);
    const left = await sb.exec("for p in /proc/[0-9]*; do cat $p/comm 2>/dev/null; done | grep -c '^sleep$'");
    expect(left.stdout.trim()).to.equal("0");
  });

  it("stops endless output at the cap at once, not at the time limit", async () => {
    const r = await sb.exec("yes", { maxOutputBytes: 3000, timeoutSec: 60 });
    expect(r.truncated).to.equal(true);
    expect(r.stdout.length).to.equal(3000);
    expect(r.timedOut).to.equal(false);  // ended by the cap, not by the 60 s limit
  });

  it("refuses memory past its limit (an address-space rlimit): the allocation fails, a smaller one works", async () => {
    const big = await sb.exec(`python3 -c "b = bytearray(400 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); print('allocated')"`, { timeoutSec: 60 });
    expect(big.stdout).to.not.include("allocated");
    expect(big.stderr).to.match(/MemoryError/);
    const small = await sb.exec(`python3 -c "b = bytearray(100 * 1024 * 1024); print('allocated')"`, { timeoutSec: 60 });
    expect(small.stdout).to.equal("allocated\n");
  });

  it("has a read-only root, a writable workdir, no network and a file size limit", async () => {
    expect((await sb.exec("touch /etc/x")).exitCode).to.not.equal(0);
    expect((await sb.exec("touch /testbed/x && echo ok")).stdout).to.equal("ok\n");
    expect((await sb.exec("ls /sys/class/net 2>/dev/null || cat /proc/net/dev")).stdout).to.not.match(/eth|ens|wlan|docker/);
    const dd = await sb.exec("dd if=/dev/zero of=/testbed/big bs=1M count=64", { timeoutSec: 30 });
    expect(dd.exitCode).to.not.equal(0);
  });

  it("removes its folder on close", async () => {
    const before = sandboxDirs().length;
    const s = await backend.create({ image: rootfs });
    expect(sandboxDirs().length).to.equal(before + 1);
    await s.close();
    expect(sandboxDirs().length).to.equal(before);
  });

  it("an image that was never built for it gives one clear error", async () => {
    const err = await backend.create({ image: "troupe-task-nothing:0" }).catch((e: Error) => e);
    expect(err).to.be.instanceOf(SandboxUnavailableError);
    expect((err as Error).message).to.match(/images build --backend local/);
  });

  it("runs bundled tasks: gold scores 1, the base 0, and an env works end to end", async () => {
    const task = (await loadTasks("bundled:validation")).tasks.find((t) => t.id.startsWith("cronlite"))!;
    await buildLocalImages([task]);
    const v = await validateTask(backend, task);
    expect(v, v.detail).to.include({ gold: 1, base: 0, ok: true });
    const env = new SWEEnv(backend);
    try {
      expect(await env.reset(task)).to.equal(task.problemStatement);
      const step = await env.step({ name: "execute_bash", params: { cmd: "git status --short" } });
      expect(step.observation).to.match(/not allowed/);
      const view = await env.step({ name: "file_editor", params: { command: "view", path: "/testbed" } });
      expect(view.observation).to.include("tests");
      expect((await env.reward()).reward).to.equal(0);
    } finally {
      await env.close();
    }
  });
});
