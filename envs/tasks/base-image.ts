// The base image every local task builds on: a minimal Debian root file system (debootstrap)
// with python3, pytest and git, imported into Docker. Its tag is a hash of how it is made, so
// changing the recipe below makes a new image and an unchanged one is never rebuilt.
import { createHash } from "node:crypto";

export const BASE_SUITE = "bookworm";
export const BASE_MIRROR = process.env.TROUPE_DEBIAN_MIRROR ?? "http://deb.debian.org/debian";
export const BASE_PACKAGES = ["python3", "python3-pytest", "git", "ca-certificates"];
const RECIPE_VERSION = 1;

export const BASE_IMAGE_REPO = "troupe-base";

export function baseImageTag(): string {
  const h = createHash("sha256").update(JSON.stringify([RECIPE_VERSION, BASE_SUITE, BASE_PACKAGES])).digest("hex").slice(0, 12);
  return `${BASE_IMAGE_REPO}:${h}`;
}
