// Images for the local (bubblewrap) backend. There is no image store without Docker, so an
// "image" is either a root file system folder, or a tag such as `troupe-task-x:<hash>` that
// `images build --backend local` recorded under the cache: the root file system it runs on and a
// seed folder that becomes the sandbox's workdir (copied per sandbox; the root stays read-only).
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { SandboxUnavailableError } from "../errors.js";

export interface LocalImage {
  rootfs: string;
  /** Host folder copied into the workdir of each sandbox (absent: the rootfs's own workdir). */
  seed?: string;
}

/** Troupe's cache: root file systems and local images ($TROUPE_CACHE, else ~/.cache/troupe). */
export function cacheDir(): string {
  return process.env.TROUPE_CACHE ?? join(homedir(), ".cache", "troupe");
}

/** Where a tag's local image lives. */
export function localImageDir(tag: string): string {
  return join(cacheDir(), "local-images", tag.replace(/[^A-Za-z0-9._-]/g, "_"));
}

export function resolveLocalImage(image: string): LocalImage {
  if (existsSync(join(image, "bin"))) return { rootfs: image };
  const meta = join(localImageDir(image), "image.json");
  if (!existsSync(meta)) {
    throw new SandboxUnavailableError(
      `image ${image} is neither a root file system folder nor built for the local backend ` +
      "(node driver.js images build --backend local --tasks …)",
    );
  }
  return JSON.parse(readFileSync(meta, "utf8")) as LocalImage;
}
