// Building images: the base image (debootstrap + docker import) and one image per local task
// (the repository at its base state in /testbed, committed to git so diffs and hidden-test
// restores work). Both are cached by content hash: an image that exists is not built again.
import Docker from "dockerode";
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ImageBuildError } from "../errors.js";
import { cacheDir, localImageDir, type LocalImage } from "../sandbox/local-images.js";
import { BASE_MIRROR, BASE_PACKAGES, BASE_SUITE, baseImageTag } from "./base-image.js";
import { listFiles } from "./folder.js";
import type { Task } from "./task.js";

export interface BuildReport {
  image: string;
  built: boolean;
  ms: number;
}

/** The root file system folder of the base image (kept: the local backend runs on it too). */
export function baseRootfsDir(): string {
  return join(cacheDir(), "rootfs", baseImageTag().split(":")[1]);
}

export async function imageExists(docker: Docker, tag: string): Promise<boolean> {
  try {
    await docker.getImage(tag).inspect();
    return true;
  } catch {
    return false;
  }
}

/** Makes the base root file system folder with debootstrap (needs root), unless it is there. */
export async function ensureBaseRootfs(log: (s: string) => void = () => undefined): Promise<string> {
  const dir = baseRootfsDir();
  if (existsSync(join(dir, ".troupe-complete"))) return dir;
  if (process.getuid?.() !== 0) throw new ImageBuildError(`building the base file system needs root (debootstrap into ${dir})`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  log(`debootstrap ${BASE_SUITE} (${BASE_PACKAGES.join(", ")}) into ${dir}`);
  await run("debootstrap", ["--variant=minbase", `--include=${BASE_PACKAGES.join(",")}`, BASE_SUITE, dir, BASE_MIRROR]);
  mkdirSync(join(dir, "testbed"), { recursive: true });
  // Keep interpreter caches out of the agent's diff and the image small.
  writeFileSync(join(dir, "etc", "gitignore"), "__pycache__/\n*.pyc\n.pytest_cache/\n");
  writeFileSync(join(dir, "etc", "gitconfig"), "[core]\n\texcludesFile = /etc/gitignore\n[user]\n\tname = troupe\n\temail = troupe@localhost\n");
  rmSync(join(dir, "var", "cache", "apt", "archives"), { recursive: true, force: true });
  writeFileSync(join(dir, ".troupe-complete"), new Date().toISOString());
  return dir;
}

export async function buildBaseImage(docker: Docker, log: (s: string) => void = () => undefined): Promise<BuildReport> {
  const tag = baseImageTag();
  const t = performance.now();
  if (await imageExists(docker, tag)) return { image: tag, built: false, ms: performance.now() - t };
  const dir = await ensureBaseRootfs(log);
  log(`docker import ${tag}`);
  const tar = spawn("tar", ["-C", dir, "--exclude=./.troupe-complete", "-c", "."], { stdio: ["ignore", "pipe", "pipe"] });
  const [repo, version] = tag.split(":");
  const stream: NodeJS.ReadableStream = await (docker.importImage as (f: unknown, o: unknown) => Promise<NodeJS.ReadableStream>)(tar.stdout, {
    repo, tag: version,
    changes: ["ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "ENV PYTHONDONTWRITEBYTECODE=1", "WORKDIR /testbed"],
  } as never);
  await follow(docker, stream, `importing ${tag}`);
  return { image: tag, built: true, ms: performance.now() - t };
}

const REPO_FILTER = (p: string) => !/(^|\/)(__pycache__|\.git|\.pytest_cache)$/.test(p);

/** The commands that turn a copied repository into the task's base state, in the image. */
function baseStateScript(workdir: string): string {
  return `cd ${workdir} && git init -q && if [ -s /tmp/base.patch ]; then git apply /tmp/base.patch; fi` +
    " && git add -A && git commit -q -m base";
}

/** Builds a local task's image on the base image (which must exist). */
export async function buildTaskImage(docker: Docker, task: Task): Promise<BuildReport> {
  const t = performance.now();
  const src = task.folder;
  if (!src) throw new ImageBuildError(`task ${task.id} has no local folder to build from (its image ${task.image} must be pulled or loaded)`);
  if (await imageExists(docker, task.image)) return { image: task.image, built: false, ms: performance.now() - t };
  const ctx = mkdtempSync(join(tmpdir(), "troupe-build-"));
  try {
    cpSync(src.repoDir, join(ctx, "repo"), { recursive: true, filter: REPO_FILTER });
    writeFileSync(join(ctx, "base.patch"), src.basePatch ?? "");
    writeFileSync(join(ctx, "Dockerfile"), [
      `FROM ${src.baseImage}`,
      `COPY repo ${task.workdir}`,
      "COPY base.patch /tmp/base.patch",
      `RUN ${baseStateScript(task.workdir)} && rm -f /tmp/base.patch`,
      `WORKDIR ${task.workdir}`,
      "",
    ].join("\n"));
    const stream = await docker.buildImage({ context: ctx, src: listFiles(ctx) }, { t: task.image, networkmode: "none", rm: true, forcerm: true });
    await follow(docker, stream, `building ${task.image} (task ${task.id})`);
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
  return { image: task.image, built: true, ms: performance.now() - t };
}

/**
 * Builds a task's image from its Docker build context (Harbor's environment/), offline as every
 * build here is: a Dockerfile that downloads something fails, and says so.
 */
export async function buildContextImage(docker: Docker, task: Task): Promise<BuildReport> {
  const t = performance.now();
  const ctx = task.buildContext!;
  if (await imageExists(docker, task.image)) return { image: task.image, built: false, ms: performance.now() - t };
  const stream = await docker.buildImage({ context: ctx, src: listFiles(ctx) }, { t: task.image, networkmode: "none", rm: true, forcerm: true });
  await follow(docker, stream, `building ${task.image} from ${ctx} (task ${task.id}; builds have no network)`);
  return { image: task.image, built: true, ms: performance.now() - t };
}

/** Builds the base image and every local task's image that is missing. */
export async function buildImages(docker: Docker, tasks: Task[], log: (s: string) => void = () => undefined): Promise<BuildReport[]> {
  const out = [await buildBaseImage(docker, log)];
  for (const task of tasks) {
    if (!task.folder && !task.buildContext) continue;
    const r = task.folder ? await buildTaskImage(docker, task) : await buildContextImage(docker, task);
    if (r.built) log(`built ${r.image} in ${(r.ms / 1000).toFixed(1)} s`);
    out.push(r);
  }
  return out;
}

/**
 * The same image for the local backend: the task's repository at its base state in a seed
 * folder, made with bubblewrap on the base root file system (its git, not the host's), and
 * recorded under the task's image tag, so that tasks name one image for both backends.
 */
export async function buildLocalTaskImage(task: Task, rootfs: string): Promise<BuildReport> {
  const t = performance.now();
  const src = task.folder;
  if (!src) throw new ImageBuildError(`task ${task.id} has no local folder to build from`);
  const dir = localImageDir(task.image);
  if (existsSync(join(dir, "image.json"))) return { image: task.image, built: false, ms: performance.now() - t };
  // Built beside its final place, then renamed: a crash leaves no half-made image behind.
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const seed = join(tmp, "seed");
    cpSync(src.repoDir, seed, { recursive: true, filter: REPO_FILTER });
    writeFileSync(join(tmp, "base.patch"), src.basePatch ?? "");
    await run("bwrap", [
      "--ro-bind", rootfs, "/", "--bind", seed, task.workdir, "--tmpfs", "/tmp", "--ro-bind", join(tmp, "base.patch"), "/tmp/base.patch",
      "--proc", "/proc", "--dev", "/dev", "--unshare-all", "--die-with-parent", "--new-session", "--chdir", "/",
      "sh", "-c", baseStateScript(task.workdir),
    ]);
    const image: LocalImage = { rootfs, seed: join(dir, "seed") };
    writeFileSync(join(tmp, "image.json"), JSON.stringify(image, null, 2));
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return { image: task.image, built: true, ms: performance.now() - t };
}

/** The base root file system and every local task's image for the local backend. */
export async function buildLocalImages(tasks: Task[], log: (s: string) => void = () => undefined): Promise<BuildReport[]> {
  const t = performance.now();
  const rootfs = await ensureBaseRootfs(log);
  const out: BuildReport[] = [{ image: rootfs, built: false, ms: performance.now() - t }];
  for (const task of tasks) {
    if (task.buildContext) throw new ImageBuildError(`task ${task.id} is built from a Dockerfile (${task.buildContext}): it needs the Docker backend`);
    if (!task.folder) continue;
    const r = await buildLocalTaskImage(task, rootfs);
    if (r.built) log(`built local image of ${task.id} in ${(r.ms / 1000).toFixed(1)} s`);
    out.push(r);
  }
  return out;
}

function follow(docker: Docker, stream: NodeJS.ReadableStream, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, res: Array<{ error?: string; errorDetail?: { message?: string } }>) => {
      const failed = err?.message ?? res?.find((r) => r.error)?.error;
      if (failed) reject(new ImageBuildError(`${what}: ${failed}`));
      else resolve();
    });
  });
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    p.stderr!.on("data", (d) => (err = (err + d).slice(-2000)));
    p.on("error", (e) => reject(new ImageBuildError(`${cmd} cannot start: ${e.message}${cmd === "debootstrap" ? " (apt-get install debootstrap)" : ""}`)));
    p.on("exit", (code) => (code === 0 ? resolve() : reject(new ImageBuildError(`${cmd} failed (exit ${code}): ${err.trim().split("\n").slice(-3).join(" | ")}`))));
  });
}
