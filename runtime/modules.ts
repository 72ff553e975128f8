// Which actor and task modules a node agrees to load: files under the allowed roots only
// (by default the working directory of the node and Troupe's own package), so a cluster
// client cannot make a node import arbitrary code from elsewhere on its disk.
import { realpathSync } from "node:fs";
import { dirname, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ConfigError } from "./errors.js";

/** Troupe's package root (…/dist/runtime/modules.js → …). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export function defaultModuleRoots(): string[] {
  return [process.cwd(), PACKAGE_ROOT];
}

/** Normalizes what a user passes (URL, file URL string, path) into a file:// URL string. */
export function moduleUrl(m: string | URL): string {
  if (m instanceof URL) return m.href;
  if (/^file:\/\//.test(m)) return m;
  if (/^[a-z]+:/i.test(m)) throw new ConfigError(`actor module ${m}: only file modules can be loaded`);
  return pathToFileURL(resolve(m)).href;
}

export class ModulePolicy {
  private roots: string[];
  constructor(roots: string[]) {
    this.roots = roots.map((r) => {
      try {
        return realpathSync(resolve(r));
      } catch {
        return resolve(r);
      }
    });
  }

  /** Throws ConfigError unless the module is under an allowed root. Returns the URL to import. */
  check(url: string): string {
    if (!url.startsWith("file://")) throw new ConfigError(`module ${url}: only file:// modules can be loaded`);
    let path: string;
    try {
      path = realpathSync(fileURLToPath(url));
    } catch {
      throw new ConfigError(`module ${url}: no such file on this node`);
    }
    if (!this.roots.some((r) => path === r || path.startsWith(r + sep))) {
      throw new ConfigError(`module ${path} is outside the paths this node allows (${this.roots.join(", ")}); start the node with --allow-modules to add one`);
    }
    return pathToFileURL(path).href;
  }
}
