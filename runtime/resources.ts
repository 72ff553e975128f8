// Resources: named amounts (cpu, memory in bytes, gpu, custom names). Fractions allowed.
import { execFileSync } from "node:child_process";
import { availableParallelism, totalmem } from "node:os";
import { ConfigError } from "./errors.js";

export type Resources = Record<string, number>;

const EPS = 1e-9;

export function fits(available: Resources, demand: Resources): boolean {
  for (const k in demand) if ((demand[k] ?? 0) > (available[k] ?? 0) + EPS) return false;
  return true;
}

export function subtract(a: Resources, b: Resources): Resources {
  const out = { ...a };
  for (const k in b) out[k] = (out[k] ?? 0) - b[k];
  return out;
}

export function add(a: Resources, b: Resources): Resources {
  const out = { ...a };
  for (const k in b) out[k] = (out[k] ?? 0) + b[k];
  return out;
}

/** Drops zero entries so that `{cpu: 0}` and `{}` mean the same demand. */
export function normalize(r: Resources | undefined, where: string): Resources {
  const out: Resources = {};
  for (const [k, v] of Object.entries(r ?? {})) {
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new ConfigError(`${where}: resource '${k}' must be a number >= 0, got ${String(v)}`);
    if (v > 0) out[k] = v;
  }
  return out;
}

/** Parses "gpu=8,cpu=64,memory=256e9,tpu_slice=1". */
export function parseResources(spec: string, where = "--resources"): Resources {
  const out: Resources = {};
  for (const part of spec.split(",").map((s) => s.trim()).filter(Boolean)) {
    const m = /^([A-Za-z_][\w.-]*)=(.+)$/.exec(part);
    const v = m ? Number(m[2]) : NaN;
    if (!m || !Number.isFinite(v) || v < 0) throw new ConfigError(`${where}: '${part}' is not NAME=NUMBER (e.g. gpu=8,cpu=64)`);
    out[m[1]] = v;
  }
  return out;
}

export function format(r: Resources): string {
  return Object.entries(r).map(([k, v]) => `${k}=${k === "memory" ? `${(v / 2 ** 30).toFixed(1)}GiB` : +v.toFixed(3)}`).join(",") || "nothing";
}

/** GPU indices through nvidia-smi; none when it is absent or fails. */
export function detectGpus(): number[] {
  try {
    const out = execFileSync("nvidia-smi", ["--query-gpu=index", "--format=csv,noheader"], { encoding: "utf8", timeout: 5000, stdio: ["ignore", "pipe", "ignore"] });
    return out.split("\n").map((s) => s.trim()).filter(Boolean).map(Number).filter((n) => Number.isInteger(n));
  } catch {
    return [];
  }
}

/** What this machine has: CPUs, memory, GPUs; overridden by explicit values. */
export function detectResources(overrides: Resources = {}): Resources {
  const gpus = detectGpus();
  const r: Resources = { cpu: availableParallelism(), memory: totalmem() };
  if (gpus.length) r.gpu = gpus.length;
  return { ...r, ...overrides };
}
