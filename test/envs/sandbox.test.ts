import { expect } from "chai";
import { spawn } from "node:child_process";
import { writeFileSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { DockerBackend, openBackend, SandboxUnavailableError, SANDBOX_LABEL, WarmPool, type Sandbox } from "../../envs/index.js";
import { ROOT } from "../helpers.js";
import { BASE_IMAGE, dockerEnv } from "./helpers.js";

describe("docker sandboxes", function () {
  this.timeout(120_000);
  let backend: DockerBackend;
  let sb: Sandbox;

  before(async () => {
    ({ backend } = await dockerEnv());
    sb = await backend.create({ image: BASE_IMAGE, workdir: "/testbed", limits: { pids: 128, memoryBytes: 256 * 1024 ** 2, fileBytes: 32 * 1024 ** 2 } });
  });
  after(() => sb?.close());

  it("runs commands in a persistent shell: exit code, stdout and stderr apart", async () => {
    const r = await sb.exec("echo out; echo err >&2; exit 3");
    expect(r).to.include({ exitCode: 3, stdout: "out\n", stderr: "err\n", timedOut: false, truncated: false });
    expect((await sb.exec("pwd")).stdout).to.equal("/testbed\n");
  });

  it("kills a command at its time limit, with what it started, and the shell survives", async () => {
    const r = await sb.exec("sleep 100000 & sleep 100000", { timeoutSec: 1 });
    expect(r.timedOut).to.equal(true);
    expect(await pidsOf(sb, "sleep 100000")).to.deep.equal([]);  // the background one too
    expect((await sb.exec("echo alive")).stdout).to.equal("alive\n");
  });

  it("returns at once when a command leaves a background process behind, and ends that process", async () => {
    const r = await sb.exec("sleep 1000 & echo started", { timeoutSec: 30 });
    expect(r.stdout).to.equal("started\n");
    expect(r.timedOut).to.equal(false);
    // It came back (well inside the test's timeout) without waiting for what it left (1000 s),
    // and ended it with its process group: nothing of one command runs on into the next.
    expect(await pidsOf(sb, "sleep 1000")).to.deep.equal([]);
  });

  it("caps endless output and says so", async () => {
    const r = await sb.exec("yes", { maxOutputBytes: 5000, timeoutSec: 20 });
    expect(r.truncated).to.equal(true);
    expect(r.stdout.length).to.equal(5000);
    expect(r.timedOut).to.equal(false);
  });

  it("writes and reads files byte for byte", async () => {
    const bytes = new Uint8Array(70_000).map((_, i) => (i * 7919) & 255);
    await sb.writeFile("/tmp/a/b/bin.dat", bytes);
    expect(Buffer.from(await sb.readFile("/tmp/a/b/bin.dat")).equals(Buffer.from(bytes))).to.equal(true);
    await sb.writeFile("rel.txt", "it's \"quoted\" $HOME `x`\n");
    expect((await sb.exec("cat /testbed/rel.txt")).stdout).to.equal("it's \"quoted\" $HOME `x`\n");
    await sb.exec("rm /testbed/rel.txt");
  });

  it("diff(): the repository's change against its base, edits, new files and deletions alike", async () => {
    const { tasks } = await dockerEnv();
    const s = await backend.create({ image: tasks[0].image, workdir: tasks[0].workdir });
    try {
      const tracked = (await s.exec("git ls-files | grep '\\.py$' | grep -v '^tests/' | head -2")).stdout.trim().split("\n");
      await s.exec(`rm ${tracked[0]} && echo '# more' >> ${tracked[1]} && echo new > NEW.txt`);
      const d = await s.diff();
      expect(d).to.include(`diff --git a/${tracked[0]} b/${tracked[0]}\ndeleted file mode`);
      expect(d).to.include(`+++ b/${tracked[1]}`);
      expect(d).to.include("diff --git a/NEW.txt b/NEW.txt\nnew file mode");
    } finally {
      await s.close();
    }
  });

  describe("hostile commands are contained and answered", () => {
    it("a fork bomb hits the pid limit and the sandbox still answers", async () => {
      const r = await sb.exec("bomb() { bomb | bomb & }; bomb", { timeoutSec: 5 });
      expect(r.exitCode).to.be.a("number");
      expect((await inspect(sb)).HostConfig.PidsLimit).to.equal(128);
      // The limit itself, seen from inside: forking until refused stops short of 128 processes
      // (the shell and the sandbox's own count too), refused with EAGAIN.
      const count = await sb.exec(`python3 -c "
import os, signal, time
kids, why = [], 'never refused'
for i in range(300):
    try:
        pid = os.fork()
    except OSError as e:
        why = type(e).__name__
        break
    if pid == 0:
        time.sleep(600)
        os._exit(0)
    kids.append(pid)
for k in kids:
    os.kill(k, signal.SIGKILL)
print(len(kids), why)
"`, { timeoutSec: 30 });
      const [forked, why] = count.stdout.trim().split(" ");
      expect(why, count.stdout + count.stderr).to.equal("BlockingIOError");
      expect(Number(forked)).to.be.within(100, 127);
      expect((await sb.exec("echo ok", { timeoutSec: 20 })).stdout).to.equal("ok\n");
    });

    it("allocating past the memory limit kills the command (the cgroup's OOM killer); the sandbox answers", async () => {
      // 400 MB touched page by page against a 256 MiB limit.
      const r = await sb.exec(`python3 -c "b = bytearray(400 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); print('allocated')"`, { timeoutSec: 60 });
      expect(r.stdout).to.not.include("allocated");
      expect(r.exitCode).to.equal(137);  // SIGKILL
      expect((await inspect(sb)).HostConfig.Memory).to.equal(256 * 1024 ** 2);
      expect((await sb.exec("echo ok")).stdout).to.equal("ok\n");
    });

    it("filling the disk stops at the file size limit", async () => {
      const r = await sb.exec("dd if=/dev/zero of=/tmp/big bs=1M count=100", { timeoutSec: 30 });
      expect(r.exitCode).to.not.equal(0);
      const size = Number((await sb.exec("wc -c < /tmp/big")).stdout.trim());
      expect(size).to.be.at.most(32 * 1024 ** 2);
      await sb.exec("rm -f /tmp/big");
    });

    it("has no network", async () => {
      // The loopback interface alone, and the engine says the container's network is none.
      expect((await sb.exec("ls /sys/class/net")).stdout.trim().split(/\s+/)).to.deep.equal(["lo"]);
      expect((await inspect(sb)).HostConfig.NetworkMode).to.equal("none");
      const py = await sb.exec("python3 -c \"import socket; socket.create_connection(('1.1.1.1', 80), timeout=3)\"", { timeoutSec: 20 });
      expect(py.exitCode).to.not.equal(0);
      expect(py.stderr).to.match(/unreachable|Network|Errno/);
    });

    it("cannot read the host's files", async () => {
      const secret = join(ROOT, ".troupe-host-secret");
      writeFileSync(secret, "host secret");
      try {
        // the split quote keeps the pattern itself out of the command file grep searches
        const r = await sb.exec(`cat ${secret}; grep -rs 'host sec''ret' /tmp /root /testbed /home /mnt /srv /opt /etc 2>/dev/null | head -1`, { timeoutSec: 60 });
        expect(r.stdout).to.not.include("host secret");
        // Nothing of the host is mounted into it: no volumes, no bind mounts.
        const info = await inspect(sb);
        expect(info.Mounts).to.deep.equal([]);
        expect(info.HostConfig.Binds ?? []).to.deep.equal([]);
      } finally {
        rmSync(secret, { force: true });
      }
    });

    it("rm -rf / inside breaks only the sandbox", async () => {
      const s = await backend.create({ image: BASE_IMAGE });
      try {
        // The sandbox may lose the very tools its shell uses: the call must still come back.
        const r = await s.exec("rm -rf --no-preserve-root / 2>/dev/null; echo done", { timeoutSec: 60 }).catch((e: Error) => e);
        expect(r instanceof Error ? r.name : typeof r.exitCode).to.be.oneOf(["number", "SandboxBrokenError"]);
      } finally {
        await s.close();
      }
      expect(existsSync("/bin/sh")).to.equal(true);
      expect(existsSync(join(ROOT, "package.json"))).to.equal(true);
    });
  });

  it("removes the container on close", async () => {
    const s = await backend.create({ image: BASE_IMAGE });
    const id = s.id;
    await s.close();
    await s.close();
    const list = await backend.docker.listContainers({ all: true, filters: { id: [id] } });
    expect(list).to.have.length(0);
  });

  it("a warm pool hands out each sandbox once and refills", async () => {
    const pool = new WarmPool(backend, { size: 2 });
    try {
      pool.warm({ image: BASE_IMAGE });
      expect(pool.readyCount({ image: BASE_IMAGE })).to.equal(2);
      const a = await pool.acquire({ image: BASE_IMAGE });
      const b = await pool.acquire({ image: BASE_IMAGE });
      expect(a.id).to.not.equal(b.id);
      expect(pool.readyCount({ image: BASE_IMAGE })).to.equal(2);
      await a.exec("touch /tmp/used");
      await a.close();
      const c = await pool.acquire({ image: BASE_IMAGE });
      expect((await c.exec("test -e /tmp/used && echo reused || echo fresh")).stdout).to.equal("fresh\n");
      await Promise.all([b.close(), c.close()]);
    } finally {
      await pool.close();
    }
  });

  it("after kill -9 of the owner, the next start removes its containers", async () => {
    const script = `import { DockerBackend } from "./dist/envs/index.js";
const b = await DockerBackend.connect();
const s = await b.create({ image: ${JSON.stringify(BASE_IMAGE)} });
console.log(s.id);
setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    const id = await new Promise<string>((resolve, reject) => {
      child.stdout!.once("data", (d) => resolve(String(d).trim()));
      child.once("exit", (c) => reject(new Error(`child exited ${c}`)));
    });
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const docker = new Docker();
    expect(await docker.listContainers({ all: true, filters: { id: [id] } })).to.have.length(1);
    await openBackend("docker");
    expect(await docker.listContainers({ all: true, filters: { id: [id], label: [SANDBOX_LABEL] } })).to.have.length(0);
  });

  it("a missing Docker daemon gives one clear error", async () => {
    const err = await DockerBackend.connect(new Docker({ socketPath: "/nonexistent/docker.sock" })).catch((e) => e);
    expect(err).to.be.instanceOf(SandboxUnavailableError);
    expect(err.message).to.match(/no Docker daemon answers at .*start dockerd/);
  });
});

/** The pids of the sandbox's processes that run exactly `command` (argv joined by spaces). */
async function pidsOf(sb: Sandbox, command: string): Promise<number[]> {
  const r = await sb.exec(`for p in /proc/[0-9]*; do [ "$(tr '\\0' ' ' < $p/cmdline 2>/dev/null)" = '${command} ' ] && echo \${p#/proc/}; done; true`);
  return r.stdout.split(/\s+/).filter(Boolean).map(Number);
}

/** The Docker engine's view of a sandbox's container. */
function inspect(sb: Sandbox): Promise<Docker.ContainerInspectInfo> {
  return new Docker().getContainer(sb.id).inspect();
}
