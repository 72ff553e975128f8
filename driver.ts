// The command line: `node driver.js COMMAND …`. Exit codes: 0 success, 1 the work failed,
// 2 bad usage. Errors go to stderr as one line that names what and where.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { authFromEnv, ConfigError, formatResources, init, NodeAgent, parseClusterUrl, parseResources } from "./runtime/index.js";

const HELP = `troupe — an actor runtime over NATS, and a trainer for coding agents on it

usage:
  node driver.js node --cluster nats://HOST:4222 [--resources gpu=8,cpu=64,…] [--allow-modules DIR,…] [--no-head]
      join a machine to a cluster: advertise its resources, host actors, run tasks
  node driver.js status [--cluster nats://HOST:4222]
      print the nodes, their resources and the actors of a cluster
  node driver.js --help           (and --help after any command)

shared flags:
  --cluster URL    nats://[user:pass@|token@]HOST:PORT; omit for an embedded cluster
                   (credentials also from TROUPE_NATS_TOKEN, TROUPE_NATS_USER/PASS,
                    TROUPE_NATS_NKEY_SEED_FILE; TLS from TROUPE_NATS_TLS_CA/CERT/KEY)

tests: npm test        benchmarks: npm run bench -- NAME
`;

const COMMAND_HELP: Record<string, string> = {
  node: `usage: node driver.js node --cluster URL [--resources NAME=N,…] [--allow-modules DIR,…] [--no-head] [--node-timeout-ms MS]
  Joins this machine to the cluster at URL and runs until SIGINT/SIGTERM.
  --resources       advertised resources, e.g. gpu=8,cpu=64 (detected where not given)
  --allow-modules   directories actor modules may be loaded from, besides the working directory
  --no-head         never become the cluster's head (scheduler)
`,
  status: `usage: node driver.js status [--cluster URL]
  Prints the cluster's nodes, their total and available resources, and actor counts.
`,
};

class UsageError extends Error {}

function parse(argv: string[], options: NonNullable<ParseArgsConfig["options"]>): { values: Record<string, string | boolean | undefined> } {
  try {
    const r = parseArgs({ args: argv, options: { help: { type: "boolean", short: "h" }, ...options }, allowPositionals: false, strict: true });
    return { values: r.values as Record<string, string | boolean | undefined> };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

async function nodeCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    cluster: { type: "string" },
    resources: { type: "string" },
    "allow-modules": { type: "string" },
    "no-head": { type: "boolean" },
    "node-timeout-ms": { type: "string" },
  });
  if (values.help) return help("node");
  if (!values.cluster) throw new UsageError("node: --cluster nats://HOST:PORT is required");
  const address = { ...parseClusterUrl(values.cluster as string), ...authFromEnv() };
  const node = await NodeAgent.start({
    address,
    resources: values.resources ? parseResources(values.resources as string) : undefined,
    allowModules: values["allow-modules"] ? (values["allow-modules"] as string).split(",") : undefined,
    headCandidate: !values["no-head"],
    nodeTimeoutMs: values["node-timeout-ms"] ? Number(values["node-timeout-ms"]) : undefined,
  });
  console.log(`node ${node.id} joined ${address.url}`);
  await new Promise<void>((resolve) => {
    for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => resolve());
  });
  await node.stop();
  return 0;
}

async function statusCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { cluster: { type: "string" } });
  if (values.help) return help("status");
  const cluster = await init(values.cluster ? { cluster: { ...parseClusterUrl(values.cluster as string), ...authFromEnv() } } : {});
  try {
    const info = await cluster.info();
    for (const n of info.nodes) {
      console.log(`${n.id}  ${n.hostname}  actors=${n.actors}  total ${formatResources(n.total)}  available ${formatResources(n.available)}`);
    }
    console.log(`actors: ${JSON.stringify(info.actors)}  placement groups: ${info.groups}`);
  } finally {
    await cluster.shutdown();
  }
  return 0;
}

function help(cmd?: string): number {
  process.stdout.write(cmd ? COMMAND_HELP[cmd] : HELP);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === "--help" || cmd === "-h" || cmd === "help") return help();
  if (cmd === "node") return nodeCommand(rest);
  if (cmd === "status") return statusCommand(rest);
  if (cmd === "--recipe" || cmd.startsWith("--recipe=")) {
    throw new UsageError("--recipe: no recipes are available in this version yet (the deepswe recipe is being built)");
  }
  throw new UsageError(`unknown command '${cmd}' (see node driver.js --help)`);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    if (e instanceof UsageError) {
      console.error(`troupe: ${e.message}`);
      process.exit(2);
    }
    console.error(`troupe: ${e instanceof ConfigError ? "" : `${(e as Error).name}: `}${(e as Error).message}`);
    process.exit(e instanceof ConfigError ? 2 : 1);
  },
);
