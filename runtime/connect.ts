// Connecting to the cluster's NATS: address, credentials and TLS. Credentials given to a
// cluster are handed to the processes it spawns through the environment (never argv, which
// other users can read in `ps`).
import { redact } from "./redact.js";
import { readFileSync } from "node:fs";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { nkeyAuthenticator, type ConnectionOptions } from "@nats-io/nats-core";
import { ConfigError } from "./errors.js";

export interface ClusterAuth {
  token?: string;
  user?: string;
  pass?: string;
  /** Path to an nkey seed file (starts with "SU"). */
  nkeySeedFile?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
}

export interface ClusterAddress extends ClusterAuth {
  /** nats://host:port (credentials may be embedded: nats://user:pass@host:port, nats://token@host:port). */
  url: string;
}

const ENV = {
  url: "TROUPE_CLUSTER",
  token: "TROUPE_NATS_TOKEN",
  user: "TROUPE_NATS_USER",
  pass: "TROUPE_NATS_PASS",
  nkeySeedFile: "TROUPE_NATS_NKEY_SEED_FILE",
  ca: "TROUPE_NATS_TLS_CA",
  cert: "TROUPE_NATS_TLS_CERT",
  key: "TROUPE_NATS_TLS_KEY",
} as const;

/** The environment that lets a child process reach the same cluster with the same credentials. */
export function addressToEnv(a: ClusterAddress): Record<string, string> {
  const env: Record<string, string> = { [ENV.url]: a.url };
  if (a.token) env[ENV.token] = a.token;
  if (a.user) env[ENV.user] = a.user;
  if (a.pass) env[ENV.pass] = a.pass;
  if (a.nkeySeedFile) env[ENV.nkeySeedFile] = a.nkeySeedFile;
  if (a.tls?.caFile) env[ENV.ca] = a.tls.caFile;
  if (a.tls?.certFile) env[ENV.cert] = a.tls.certFile;
  if (a.tls?.keyFile) env[ENV.key] = a.tls.keyFile;
  return env;
}

/** Credentials and TLS given in the environment (only the variables that are set). */
export function authFromEnv(env: NodeJS.ProcessEnv = process.env): ClusterAuth {
  const out: ClusterAuth = {};
  if (env[ENV.token]) out.token = env[ENV.token];
  if (env[ENV.user]) Object.assign(out, { user: env[ENV.user], pass: env[ENV.pass] });
  if (env[ENV.nkeySeedFile]) out.nkeySeedFile = env[ENV.nkeySeedFile];
  if (env[ENV.ca] || env[ENV.cert]) out.tls = { caFile: env[ENV.ca], certFile: env[ENV.cert], keyFile: env[ENV.key] };
  return out;
}

/** Reads an address from the environment (set by addressToEnv, or by an operator). */
export function addressFromEnv(env: NodeJS.ProcessEnv = process.env): ClusterAddress | undefined {
  const url = env[ENV.url];
  return url ? { url, ...authFromEnv(env) } : undefined;
}

/** Splits credentials embedded in the URL out of it (the client wants them as options). */
export function parseClusterUrl(raw: string): ClusterAddress {
  let u: URL;
  try {
    u = new URL(raw.includes("://") ? raw : `nats://${raw}`);
  } catch {
    throw new ConfigError(`--cluster ${redact(raw)}: not a NATS address (expected nats://HOST:PORT)`);
  }
  if (!["nats:", "tls:"].includes(u.protocol)) throw new ConfigError(`--cluster ${redact(raw)}: scheme must be nats:// or tls://`);
  const out: ClusterAddress = { url: `${u.protocol}//${u.hostname}:${u.port || 4222}` };
  const user = decodeURIComponent(u.username);
  const pass = decodeURIComponent(u.password);
  if (user && pass) Object.assign(out, { user, pass });
  else if (user) out.token = user;
  if (u.protocol === "tls:") out.tls = {};
  return out;
}

/** See connectCluster. */
const PENDING_WRITE_BYTES = 8 * 1024;

export async function connectCluster(a: ClusterAddress, name: string, extra: Partial<ConnectionOptions> = {}): Promise<NatsConnection> {
  const opts: ConnectionOptions = {
    servers: a.url.replace(/^tls:/, "nats:"),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 10_000,
    // The client writes to its socket at the end of each microtask checkpoint, or as soon as
    // this many bytes are pending. Under load a turn produces many batches of calls or replies
    // (outbox.ts); written as they fill, the other process starts on the first ones while this
    // one still produces the rest, instead of the two taking turns being idle. 8 KiB against
    // the client's 32 KiB default: pipelined calls 0.95x → 1.3x the raw NATS echo (bench calls).
    // (A connection option the client reads but does not declare in its types.)
    ...({ pendingLimit: PENDING_WRITE_BYTES } as Partial<ConnectionOptions>),
    ...extra,
  };
  if (a.token) opts.token = a.token;
  if (a.user) Object.assign(opts, { user: a.user, pass: a.pass });
  if (a.nkeySeedFile) {
    let seed: Uint8Array;
    try {
      seed = new TextEncoder().encode(readFileSync(a.nkeySeedFile, "utf8").trim());
    } catch (e) {
      throw new ConfigError(`nkey seed file ${a.nkeySeedFile}: ${(e as Error).message}`);
    }
    opts.authenticator = nkeyAuthenticator(seed);
  }
  if (a.tls) opts.tls = { caFile: a.tls.caFile, certFile: a.tls.certFile, keyFile: a.tls.keyFile };
  try {
    return await connect(opts);
  } catch (e) {
    const msg = (e as Error).message;
    if (/auth/i.test(msg)) throw new ConfigError(`cannot join cluster ${a.url}: authentication rejected (${msg}); give --cluster credentials (token, user/password or nkey)`, { cause: e });
    // A TLS server that requires client certificates drops a handshake without one, which the
    // client only sees as its connect timing out: say what to check.
    const hint = a.tls && /timeout/i.test(msg) ? ` (over TLS: is the server's CA right, and does it require a client certificate? ${ENV.cert}/${ENV.key})` : "";
    throw new ConfigError(`cannot join cluster ${a.url}: ${msg}${hint}`, { cause: e });
  }
}
