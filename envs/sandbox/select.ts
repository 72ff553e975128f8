// Choosing a backend: docker wherever a daemon answers, else local (bubblewrap), else one
// message that says what to install.
import { SandboxUnavailableError } from "../errors.js";
import { DockerBackend } from "./docker.js";
import { LocalBackend } from "./local.js";
import type { SandboxBackend } from "./types.js";

export type BackendKind = "auto" | "docker" | "local";

export async function openBackend(kind: BackendKind = "auto", opts: { reap?: boolean } = {}): Promise<SandboxBackend> {
  let backend: SandboxBackend;
  if (kind === "docker") backend = await DockerBackend.connect();
  else if (kind === "local") backend = LocalBackend.connect();
  else {
    try {
      backend = await DockerBackend.connect();
    } catch (dockerErr) {
      if (!LocalBackend.available()) {
        throw new SandboxUnavailableError(
          `no sandbox backend: ${(dockerErr as Error).message}; and bubblewrap is not installed either ` +
          "(install one: apt-get install docker.io, then start dockerd; or apt-get install bubblewrap)",
        );
      }
      backend = new LocalBackend();
    }
  }
  // Leftovers of runs that were killed (kill -9, power loss) go before anything new starts.
  if (opts.reap !== false) await backend.reap();
  return backend;
}
