// The docker backend: one container per sandbox (dockerode against the local engine or
// DOCKER_HOST), locked down, with a persistent shell opened through one `docker exec`.
import Docker from "dockerode";
import { PassThrough } from "node:stream";
import { SandboxUnavailableError } from "../errors.js";
import { creating, OWNER_LABEL, ownerId, ownerIsDead, SANDBOX_LABEL } from "./cleanup.js";
import { PGID_FILE, ShellSession } from "./shell.js";
import { ShellSandbox } from "./shell-sandbox.js";
import { resolveLimits, type SandboxBackend, type SandboxSpec } from "./types.js";

// PID 1 only waits; all work happens in the exec'd shell.
const IDLE = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"];

export class DockerBackend implements SandboxBackend {
  readonly name = "docker";

  constructor(readonly docker: Docker = new Docker()) {}

  /** Connects to the engine; a daemon that does not answer gives one clear error. */
  static async connect(docker: Docker = new Docker()): Promise<DockerBackend> {
    try {
      await docker.ping();
    } catch (e) {
      throw new SandboxUnavailableError(
        `no Docker daemon answers at ${process.env.DOCKER_HOST ?? "/var/run/docker.sock"} (${(e as Error).message}); ` +
        "start dockerd (Debian: apt-get install docker.io) or use the local backend (bubblewrap)",
      );
    }
    return new DockerBackend(docker);
  }

  create(spec: SandboxSpec): Promise<DockerSandbox> {
    return creating(() => this.make(spec));
  }

  private async make(spec: SandboxSpec): Promise<DockerSandbox> {
    const limits = resolveLimits(spec.limits);
    const workdir = spec.workdir ?? "/testbed";
    const container = await this.docker.createContainer({
      Image: spec.image,
      Cmd: IDLE,
      WorkingDir: workdir,
      Labels: { ...spec.labels, [SANDBOX_LABEL]: "1", [OWNER_LABEL]: ownerId() },
      NetworkDisabled: !spec.network,
      HostConfig: {
        NetworkMode: spec.network ?? "none",
        Memory: limits.memoryBytes,
        MemorySwap: limits.memoryBytes,
        PidsLimit: limits.pids,
        NanoCpus: Math.round(limits.cpus * 1e9),
        CapDrop: ["ALL"],
        SecurityOpt: ["no-new-privileges"],
        Ulimits: [{ Name: "fsize", Soft: limits.fileBytes, Hard: limits.fileBytes }],
      },
    });
    try {
      await container.start();
      return new DockerSandbox(container, spec.image, workdir, await openShell(container));
    } catch (e) {
      await container.remove({ force: true }).catch(() => undefined);
      throw e;
    }
  }

  async reap(): Promise<number> {
    const list = await this.docker.listContainers({ all: true, filters: { label: [SANDBOX_LABEL] } });
    const dead = list.filter((c) => ownerIsDead(c.Labels[OWNER_LABEL]));
    await Promise.all(dead.map((c) => this.docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
    return dead.length;
  }
}

export class DockerSandbox extends ShellSandbox {
  readonly backend = "docker";

  constructor(readonly container: Docker.Container, image: string, workdir: string, shell: ShellSession) {
    super(container.id.slice(0, 12), image, workdir, shell);
  }

  protected async remove(): Promise<void> {
    await this.container.remove({ force: true }).catch((e: { statusCode?: number }) => {
      if (e.statusCode !== 404 && e.statusCode !== 409) throw e;
    });
  }

  protected async reopen(): Promise<ShellSession | undefined> {
    const state = await this.container.inspect().then((i) => i.State, () => undefined);
    return state?.Running ? openShell(this.container) : undefined;
  }

  async lost(): Promise<string | undefined> {
    const state = await this.container.inspect().then((i) => i.State, (e: { statusCode?: number }) => (e.statusCode === 404 ? null : undefined));
    if (state === null) return "its container was removed from outside";
    // Out of memory is what ran inside asking for too much: the agent's doing.
    if (!state || state.Running || state.OOMKilled) return undefined;
    return `its container stopped from outside (exit code ${state.ExitCode})`;
  }

  /** The writable layer's size, as the engine measures it. */
  async diskBytes(): Promise<number> {
    const info = await this.container.inspect({ size: true } as never) as unknown as { SizeRw?: number };
    return info.SizeRw ?? 0;
  }
}

/** The sandbox's persistent shell: one `sh` started through `docker exec`. */
async function openShell(container: Docker.Container): Promise<ShellSession> {
  const exec = await container.exec({ Cmd: ["sh"], AttachStdin: true, AttachStdout: true, AttachStderr: true, WorkingDir: "/" });
  const stream = await exec.start({ hijack: true, stdin: true });
  const out = new PassThrough();
  const err = new PassThrough();
  container.modem.demuxStream(stream, out, err);
  stream.on("end", () => out.end());
  const interrupt = () => runOnce(container, `read p < ${PGID_FILE} && kill -9 -$p`);
  return ShellSession.open({ stdin: stream, stdout: out, stderr: err, interrupt }, `container ${container.id.slice(0, 12)}`);
}

/** A side command beside the shell (which is busy with the command to stop). */
async function runOnce(container: Docker.Container, script: string): Promise<void> {
  const exec = await container.exec({ Cmd: ["sh", "-c", script], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  await new Promise((r) => { stream.on("end", r); stream.on("error", r); stream.resume(); });
}
