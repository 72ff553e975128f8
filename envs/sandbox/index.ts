// Sandboxes: one interface, docker and local (bubblewrap) backends, a warm pool, cleanup.
export type { Sandbox, SandboxBackend, SandboxSpec, SandboxLimits, ExecOptions, ExecResult } from "./types.js";
export { DEFAULT_LIMITS } from "./types.js";
export { DockerBackend, DockerSandbox } from "./docker.js";
export { LocalBackend, LocalSandbox } from "./local.js";
export { WarmPool, type WarmPoolOptions } from "./pool.js";
export { openBackend, type BackendKind } from "./select.js";
export { closeAllSandboxes, OWNER_LABEL, processGone, SANDBOX_LABEL } from "./cleanup.js";
export { shellQuote } from "./shell.js";
export { cacheDir, localImageDir, resolveLocalImage, type LocalImage } from "./local-images.js";
