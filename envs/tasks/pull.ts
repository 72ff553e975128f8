// Pulling the images a task set names (dataset rows: SWE-bench's, SWE-rebench's, SWE-smith's,
// R2E-Gym's images live in registries) through the Docker engine: only those missing, a few
// at a time, with progress, retrying what may pass (a registry that is down or overloaded) and
// not what cannot (an image that does not exist, a registry name that does not resolve).
import type Docker from "dockerode";
import { ImagePullError } from "../errors.js";
import { imageExists } from "./images.js";

export interface PullOptions {
  /** Images pulled at once (default 4). */
  parallel?: number;
  /** Further attempts after a failure that may pass (default 3). */
  retries?: number;
  /** The first wait before a retry; it doubles each time (default 2 s). */
  retryDelayMs?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export interface PullReport {
  image: string;
  pulled: boolean;
  ms: number;
}

interface Progress {
  id?: string;
  status?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
}

/** Failures that another attempt will not change. */
const PERMANENT = /not found|manifest unknown|unauthorized|denied|no such host|invalid reference|repository name must/i;
/** The engine reaches no registry at all (no name resolves, nothing answers). */
const NO_REGISTRY = /no such host|lookup .* on|network is unreachable|connection refused|i\/o timeout/i;

/** Pulls every image of `images` the engine does not have. Throws one error naming each failure. */
export async function pullMissing(docker: Docker, images: string[], opts: PullOptions = {}): Promise<PullReport[]> {
  const wanted = [...new Set(images)];
  const missing: string[] = [];
  const out: PullReport[] = [];
  for (const image of wanted) {
    if (await imageExists(docker, image)) out.push({ image, pulled: false, ms: 0 });
    else missing.push(image);
  }
  const failures: Array<[string, string]> = [];
  let next = 0;
  const worker = async () => {
    while (next < missing.length) {
      const image = missing[next++];
      const t = performance.now();
      try {
        await pullWithRetries(docker, image, opts);
        out.push({ image, pulled: true, ms: performance.now() - t });
        opts.log?.(`pulled ${image} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      } catch (e) {
        failures.push([image, (e as Error).message]);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.parallel ?? 4, missing.length)) }, worker));
  if (failures.length) {
    const noRegistry = failures.every(([, why]) => NO_REGISTRY.test(why));
    throw new ImagePullError(
      `cannot pull ${failures.length} of ${missing.length} missing image(s): ${failures.map(([i, why]) => `${i}: ${why}`).join("; ")}` +
      (noRegistry ? ". The Docker engine reaches no registry from here: load the images (docker load) or build them, then run again" : ""),
    );
  }
  return out;
}

async function pullWithRetries(docker: Docker, image: string, opts: PullOptions): Promise<void> {
  const retries = opts.retries ?? 3;
  let delay = opts.retryDelayMs ?? 2000;
  for (let attempt = 0; ; attempt++) {
    try {
      return await pullOnce(docker, image, opts.log);
    } catch (e) {
      const why = (e as Error).message;
      if (attempt >= retries || PERMANENT.test(why)) throw new Error(attempt > 0 ? `${why} (after ${attempt + 1} attempts)` : why);
      opts.log?.(`pulling ${image} failed (${why}); retrying in ${(delay / 1000).toFixed(1)} s`);
      await new Promise((r) => setTimeout(r, delay));
      delay *= 2;
    }
  }
}

function pullOnce(docker: Docker, image: string, log?: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.pull(image, (err: Error | null, stream: NodeJS.ReadableStream) => {
      if (err) return reject(new Error(cleanDockerError(err)));
      // Bytes downloaded of each layer, summed into one figure, said at most every 2 s.
      const layers = new Map<string, { current: number; total: number }>();
      let said = 0;
      const onProgress = (p: Progress) => {
        if (p.id && p.progressDetail?.total && p.status === "Downloading") layers.set(p.id, { current: p.progressDetail.current ?? 0, total: p.progressDetail.total });
        if (!log || performance.now() - said < 2000 || layers.size === 0) return;
        said = performance.now();
        const [cur, tot] = [...layers.values()].reduce(([c, t], l) => [c + l.current, t + l.total], [0, 0]);
        log(`pulling ${image}: ${Math.floor((100 * cur) / tot)}% of ${(tot / 1e6).toFixed(1)} MB (${layers.size} layer(s) so far)`);
      };
      docker.modem.followProgress(stream, (e: Error | null, res: Progress[]) => {
        const failed = e?.message ?? res?.find((r) => r.error)?.error;
        if (failed) reject(new Error(cleanDockerError(failed)));
        else resolve();
      }, onProgress);
    });
  });
}

/** dockerode's error text without its HTTP prefix ("(HTTP code 404) unexpected - … "). */
function cleanDockerError(e: Error | string): string {
  const s = typeof e === "string" ? e : ((e as { json?: { message?: string } }).json?.message ?? e.message);
  return s.replace(/^\(HTTP code \d+\)[^-]*- /, "").trim();
}
