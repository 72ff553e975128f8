// The command line: `node driver.js COMMAND …`. Exit codes: 0 success, 1 the work failed,
// 2 bad usage. Errors go to stderr as one line that names what and where.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { authFromEnv, ConfigError, formatResources, init, NodeAgent, onTeardown, parseClusterUrl, parseResources, redact, redactValue, setInterruptNote, stopping } from "./runtime/index.js";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { LearnerGroupError, readPredictions, readTrajectories, resolveConfig, runArith, runDeepSWE, runEval, scorePredictions, summaryTable, TOY_VERIFIER, trainVerifier, writeView, type DeepSWEConfig } from "./recipes/index.js";
import { exportCheckpoint, exportProblem, NativeWorker, workerBackend, type WorkerBackend } from "./gpu/index.js";
import { isTokenizerName, makeTokenizer, modelTokenizer, serveOpenAI, tokenizerForVocab, writeTokenizerFiles, type TokenizerName } from "./llm/index.js";
import { SELECTORS, type Selector } from "./rl/index.js";
import { buildImages, buildLocalImages, closeAllSandboxes, DockerBackend, EnvError, loadUsableTasks, openBackend, pullMissing, TaskFormatError, validateTasks, type BackendKind, type BuildReport, type SandboxBackend, type Task } from "./envs/index.js";

const HELP = `troupe — an actor runtime over NATS, and a trainer for coding agents on it

usage:
  node driver.js node --cluster nats://HOST:4222 [--resources gpu=8,cpu=64,…] [--allow-modules DIR,…] [--no-head]
      join a machine to a cluster: advertise its resources, host actors, run tasks
  node driver.js status [--cluster nats://HOST:4222]
      print the nodes, their resources and the actors of a cluster
  node driver.js images build [--tasks SPEC] [--backend auto|docker|local]
      build the base image and the image of every local task (cached by content hash)
  node driver.js images pull --tasks SPEC [--parallel N]
      pull the images a dataset's rows name, ahead of a run (those missing only)
  node driver.js validate-tasks --tasks SPEC [--parallel N] [--backend auto|docker|local]
      check every task: its gold patch must score 1, its untouched repository 0
  node driver.js eval --tasks SPEC --model MODEL [--k N] [--parallel N] [--out DIR]
      run a policy on tasks: pass@1, pass@k, selection among the k; rows, trajectories, traces in DIR
  node driver.js score --tasks SPEC --predictions FILE [--parallel N] [--out DIR]
      score any agent's SWE-bench predictions file in Troupe's sandboxes, as the harness does
  node driver.js --recipe deepswe [--profile laptop|cluster|smoke] [--config FILE.yaml|.json] [--init CHECKPOINT_DIR]
                 [--set key.path=value]… [key.path=value]… [--print-config] [--out DIR]
  node driver.js --recipe deepswe --resume RUN_DIR
      the main job: DeepSWE's rollout-then-train RL (laptop profile: embedded cluster, bundled
      tasks, a tiny model warmed up on gold demonstrations)
  node driver.js --recipe arith [--out DIR] [--steps N] [--seed N] [--backend reference|torch] [--device cpu|cuda|auto] [--async]
      prove the trainer on a CPU: a tiny model learns addition by RL alone (about 20 s)
  node driver.js --recipe verifier --data DIR[,DIR…] [--tasks SPEC] [--init CHECKPOINT_DIR] [--epochs N] [--out DIR]
      train an execution-free verifier (eval --verifier) on trajectories labelled by their rewards
  node driver.js export CHECKPOINT_DIR OUT [--dtype bf16|fp32] [--max-shard-size BYTES]
      a checkpoint in Hugging Face's consolidated layout, for transformers and vLLM
  node driver.js serve CHECKPOINT_DIR [--port N]
      an OpenAI-compatible server (completions, chat, streaming) over a checkpoint
  node driver.js view RUN_DIR [--out FILE.html]
      a run or an evaluation as one self-contained HTML page: curves, trajectories, traces
  node driver.js --help           (and --help after any command)

shared flags:
  --cluster URL    nats://[user:pass@|token@]HOST:PORT; omit for an embedded cluster
                   (credentials also from TROUPE_NATS_TOKEN, TROUPE_NATS_USER/PASS,
                    TROUPE_NATS_NKEY_SEED_FILE; TLS from TROUPE_NATS_TLS_CA/CERT/KEY)
  --tasks SPEC     bundled | bundled:train | bundled:validation | FILE.jsonl | FILE.parquet | TASK_FOLDER

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

COMMAND_HELP.images = `usage: node driver.js images build [--tasks SPEC] [--backend auto|docker|local]
       node driver.js images pull --tasks SPEC [--parallel N]
  build: the base image (debootstrap + docker import; needs root the first time) and one image
  per local task of SPEC (default: bundled). Images that exist are not built again.
  --backend local builds them for bubblewrap instead (no Docker needed); auto (the default)
  means docker when a daemon answers, else local.
  pull: every image SPEC's rows name that the Docker engine lacks, N at a time (default 4),
  with progress; a registry that fails is retried (3 times, waits doubling from 2 s), an image
  that does not exist is not. Every run (eval, score, validate-tasks, the recipes) pulls what
  it lacks the same way before it starts.
`;
COMMAND_HELP["validate-tasks"] = `usage: node driver.js validate-tasks --tasks SPEC [--parallel N] [--backend auto|docker|local] [--network NAME]
  For every task, runs the hidden tests twice: after the gold patch (must score 1) and on the
  untouched repository (must score 0); the base state must also fail every FAIL_TO_PASS test and
  pass every PASS_TO_PASS test. Prints a table; exits 1 when any task fails.
  --network NAME  scoring sandboxes join Docker network NAME (default: none, as always for
                  agents). The harness scores with network; an install step that needs a
                  package index can only run so. The scored code then has that network's reach.
`;

COMMAND_HELP.score = `usage: node driver.js score --tasks SPEC --predictions FILE [--parallel N] [--out DIR] [--backend auto|docker|local] [--network NAME]
  Scores a predictions file in SWE-bench's format (JSON lines or a JSON array of instance_id,
  model_name_or_path, model_patch) made by any agent: each patch applied in a fresh sandbox of
  its task's image, the hidden tests run and read. DIR (default runs/score-<time>) receives
  the harness's report.json and instance_reports.json. Exits 1 when an instance could not be
  scored (its patch did not apply, its tests did not run); the reasons are printed.
  --network NAME  scoring sandboxes join Docker network NAME (default: none, as always for
                  agents). The harness scores with network; an install step that needs a
                  package index can only run so. The scored code then has that network's reach.
`;
COMMAND_HELP.eval = `usage: node driver.js eval --tasks SPEC --model MODEL [--k N] [--parallel N] [--out DIR]
                         [--backend auto|docker|local] [--cluster URL] [--temperature T] [--max-steps N]
                         [--max-response-tokens N] [--select RULE[,RULE…]] [--verifier MODEL]
                         [--repro MODEL] [--repro-tests N] [--tokenizer DIR]
       node driver.js eval --resume DIR
  Runs k rollouts of MODEL on every task of SPEC over N env actors and reports pass@1 (the mean
  over k), pass@k and what each selection RULE picks among the k (test-time scaling):
    oracle      a correct candidate when there is one (pass@k: an upper bound, never submitted)
    regression  the most regression tests (PASS_TO_PASS) passing
    verifier    the highest P(YES) of the execution-free verifier (--verifier MODEL: a model
                asked whether the final patch resolves the issue, scored from its log-probs)
    repro       the most reproduction tests passing (--repro MODEL writes N scripts per task,
                --repro-tests N, default 2, from the issue alone; those that pass on the
                unchanged repository reproduce nothing and are dropped; replay:gold writes the
                task's hidden FAIL_TO_PASS tests instead: a check of the mechanism, not a score)
    hybrid      the verifier's top half, then the most regression passes, then the most
                reproduction passes, then P(YES)
    random      one drawn per task (fixed by the task id)
  An empty patch is chosen only when every candidate is one; ties go to the lowest rollout index.
  Default: regression,oracle,random, after hybrid,verifier with --verifier and repro with
  --repro. The submitted candidate is the choice of the first rule listed (oracle aside) that
  made one (a verifier that failed on a task chooses nothing there); each task's row
  in results.jsonl lists every candidate (index, patch hash, scores) and every rule's choice.
  MODEL: replay:gold (each task's gold patch as tool calls), native:CHECKPOINT_DIR,
  openai:URL[,URL…]:NAME (OpenAI-compatible servers with token ids, e.g. vLLM, SGLang; NAME may
  hold '/'; the Qwen3 tokenizer; OPENAI_API_KEY sent when set), or openai-chat:URL:NAME (a
  chat-only API, e.g. a hosted model: the reply's text encoded again, not token-exact).
  --tokenizer DIR: the model folder whose tokenizer.json an openai model's ids are in (default:
  Qwen3's); a native checkpoint uses its own tokenizer files, else its vocabulary's.
  DIR (default runs/eval-<time>) receives results.jsonl (a row per task as soon as its k
  rollouts are in), trajectories.jsonl (with each final patch), traces.jsonl, and SWE-bench's
  predictions.jsonl and report.json. --resume DIR continues a crashed evaluation with the same
  flags, skipping finished tasks. Exits 1 when any trajectory ended in an error or its tests did
  not run (the reason is printed).
`;

COMMAND_HELP.serve = `usage: node driver.js serve CHECKPOINT_DIR [--port N] [--host H] [--name NAME] [--backend reference|torch] [--device cpu|cuda|auto]
  Serves the checkpoint (a run's RUN_DIR/checkpoints/step-N, or any Qwen3 folder) with an
  OpenAI-compatible API until interrupted: GET /v1/models and /health; POST /v1/completions
  (token ids or text, log-probs, echo, stream) and /v1/chat/completions (the chat template, stream);
  POST /update_weights_from_disk as SGLang's. Concurrent requests with the same sampling are
  batched into one worker call. --port 0 (the default 8000 otherwise) takes a free port; the URL
  is printed. NAME (default: the folder's name) is the model's served name.
`;

COMMAND_HELP.view = `usage: node driver.js view RUN_DIR [--out FILE.html]
  Writes one HTML file (default RUN_DIR/view.html) that opens offline in a browser: a deepswe
  run's reward and solve-rate curves per step, or an evaluation's pass rates and selection
  rules; a table of every trajectory (task, reward, termination, steps, tokens, policy version)
  with filters; each trajectory as its conversation (decoded replies with the tool call each
  made, observations, the final diff, the hidden tests' statuses) beside its trace as a
  waterfall of spans; an evaluation's k candidates of a task side by side. #t=N in the URL
  opens trajectory N.
`;

COMMAND_HELP.export = `usage: node driver.js export CHECKPOINT_DIR OUT [--dtype bf16|fp32] [--max-shard-size BYTES]
  Writes the checkpoint's weights (a run's RUN_DIR/checkpoints/step-N, sharded optimizer state
  or not) to the new folder OUT in Hugging Face's layout: config.json, model-0000K-of-0000N
  .safetensors of at most BYTES each (default 5 GiB) with model.safetensors.index.json, and the
  tokenizer's files: the checkpoint's own (Troupe's checkpoints carry them), else those its
  vocabulary means (Qwen3's, from the run's model.init folder when it has them; a byte model's
  tokenizer.json and Qwen3's chat template).
  --dtype  bf16 (default, Qwen3's published dtype) or fp32 (the master weights bit for bit)
`;

class UsageError extends Error {}

/** A flag that must be a positive integer (`what` names it in the error), or its default. */
function positiveInt(what: string, value: string | undefined, dflt: number): number {
  const v = value === undefined ? dflt : Number(value);
  if (!Number.isInteger(v) || v < 1) throw new UsageError(`${what} must be a positive integer, got ${value}`);
  return v;
}

function parse(argv: string[], options: NonNullable<ParseArgsConfig["options"]>, allowPositionals = false): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options: { help: { type: "boolean", short: "h" }, ...options }, allowPositionals, strict: true });
    return { values: r.values as Record<string, string | boolean | string[] | undefined>, positionals: r.positionals };
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
  // The sandboxes of actors hosted here: leftovers of dead owners are removed when the node
  // starts (opening the backend reaps them), every minute while it runs, and once its hosts are
  // stopped when it stops. A machine without a sandbox backend hosts no sandboxes.
  const sandboxes = await openBackend("auto").catch(() => undefined);
  const reap = () => sandboxes?.reap().then(() => undefined, () => undefined) ?? Promise.resolve();
  const reaper = setInterval(() => void reap(), 60_000);
  reaper.unref();
  const node = await NodeAgent.start({
    address,
    resources: values.resources ? parseResources(values.resources as string) : undefined,
    allowModules: values["allow-modules"] ? (values["allow-modules"] as string).split(",") : undefined,
    headCandidate: !values["no-head"],
    nodeTimeoutMs: values["node-timeout-ms"] ? Number(values["node-timeout-ms"]) : undefined,
  });
  console.log(`node ${node.id} joined ${address.url}`);
  // One stop, whichever path asks first (this command on a signal, or the process teardown):
  // the hosts stop (their actors' onStop closes their sandboxes), then what is left goes.
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= (async () => {
    clearInterval(reaper);
    await node.stop();
    await reap();
  })());
  onTeardown("node", stop, () => undefined);
  await new Promise<void>((resolve) => {
    for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => resolve());
  });
  await stop();
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
    console.log(`actors: ${JSON.stringify(info.actors)}  placement groups: ${info.groups}  waiting for room: ${info.waiting}`);
  } finally {
    await cluster.shutdown();
  }
  return 0;
}

async function exportCommand(argv: string[]): Promise<number> {
  const at = argv.findIndex((a) => a.startsWith("-"));
  const [src, out, ...extra] = at < 0 ? argv : argv.slice(0, at);
  const { values } = parse(at < 0 ? [] : argv.slice(at), { dtype: { type: "string" }, "max-shard-size": { type: "string" } });
  if (values.help) return help("export");
  if (!src || !out || extra.length) throw new UsageError("export: give CHECKPOINT_DIR and OUT (node driver.js export RUN_DIR/checkpoints/step-N OUT)");
  const dtype = (values.dtype as string | undefined) ?? "bf16";
  if (dtype !== "bf16" && dtype !== "fp32") throw new UsageError(`export: --dtype must be bf16 or fp32, not '${dtype}'`);
  const problem = exportProblem(src, out);
  if (problem) throw new UsageError(problem);
  const maxShardBytes = positiveInt("--max-shard-size", values["max-shard-size"] as string | undefined, 5 * 2 ** 30);
  // An older checkpoint without tokenizer files: Qwen3's may be in the folder the run started from.
  const runConfig = join(src, "..", "..", "config.json");
  const init = existsSync(runConfig) ? (JSON.parse(readFileSync(runConfig, "utf8")) as { model?: { init?: string } }).model?.init : undefined;
  const tokenizer = checkpointTokenizer(src, "export");
  const r = await exportCheckpoint(src, out, { dtype, maxShardBytes, writeTokenizer: (d) => writeTokenizerFiles(tokenizer, d, init) });
  console.log(`exported ${src} to ${out}: ${r.files.length} weight file(s) in ${dtype}, ${r.tokenizerFiles.length ? `tokenizer files ${r.tokenizerFiles.join(", ")}` : "no tokenizer files (none known for this model)"}`);
  return 0;
}

async function viewCommand(argv: string[]): Promise<number> {
  const at = argv.findIndex((a) => a.startsWith("-"));
  const [dir, ...extra] = at < 0 ? argv : argv.slice(0, at);
  const { values } = parse(at < 0 ? [] : argv.slice(at), { out: { type: "string" } });
  if (values.help) return help("view");
  if (!dir || extra.length) throw new UsageError("view: give one RUN_DIR (node driver.js view runs/deepswe-…)");
  let r;
  try {
    r = writeView(dir, values.out as string | undefined);
  } catch (e) {
    if (e instanceof TypeError) throw new UsageError(`view: ${e.message}`);
    throw e;
  }
  console.log(`wrote ${r.out}: ${r.trajectories} trajectories of ${r.tasks} tasks${r.steps ? `, ${r.steps} steps` : ""} (open it in a browser; it needs no network)`);
  return 0;
}

async function serveCommand(argv: string[]): Promise<number> {
  const at = argv.findIndex((a) => a.startsWith("-"));
  const [dir, ...extra] = at < 0 ? argv : argv.slice(0, at);
  const { values } = parse(at < 0 ? [] : argv.slice(at), { port: { type: "string" }, host: { type: "string" }, name: { type: "string" }, backend: { type: "string" }, device: { type: "string" } });
  if (values.help) return help("serve");
  if (!dir || extra.length) throw new UsageError("serve: give one CHECKPOINT_DIR (node driver.js serve RUN_DIR/checkpoints/step-N)");
  const tokenizer = checkpointTokenizer(dir, "serve");
  const port = values.port === undefined ? 8000 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`serve: --port must be a port number, got ${values.port}`);
  const backend = (values.backend ?? "reference") as string, device = (values.device ?? "auto") as string;
  if (backend !== "reference" && backend !== "torch") throw new UsageError(`serve: --backend must be reference or torch, got ${backend}`);
  if (device !== "cpu" && device !== "cuda" && device !== "auto") throw new UsageError(`serve: --device must be cpu, cuda or auto, got ${device}`);
  const worker = await NativeWorker.start(workerBackend({ backend, device } as WorkerBackend));
  let server;
  try {
    await worker.load(dir, { optimizer: false });
    const name = (values.name as string | undefined) ?? basename(resolve(dir));
    server = await serveOpenAI(worker, { model: name, port, host: (values.host as string | undefined) ?? "127.0.0.1", tokenizer: makeTokenizer(tokenizer) });
    console.log(`serving ${dir} as '${name}' at ${server.url}/v1 (chat and completions; GET /health)`);
  } catch (e) {
    await worker.close();
    throw e;
  }
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= (async () => {
    await server.close();
    await worker.close();
  })());
  onTeardown("serve", stop, () => undefined);
  await new Promise<void>((done) => {
    for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => done());
  });
  await stop();
  return 0;
}

/** Loads --tasks; malformed rows are reported (with file:line and field) and skipped. */
function tasksFrom(spec: string): Promise<Task[]> {
  return loadUsableTasks(spec, (e) => console.error(`troupe: skipped a task: ${e.message}`));
}

async function imagesCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "--help" || sub === "-h") return help("images");
  if (sub === "pull") return imagesPull(rest);
  if (sub !== "build") throw new UsageError("images: the subcommands are 'build' and 'pull' (node driver.js images build|pull [--tasks SPEC])");
  const { values } = parse(rest, { tasks: { type: "string" }, backend: { type: "string" } });
  if (values.help) return help("images");
  const tasks = await tasksFrom((values.tasks as string | undefined) ?? "bundled");
  const { reports } = await backendWithImages(values.backend as string | undefined, tasks);
  const built = reports.filter((r) => r.built).length;
  console.log(`${reports.length} images ready (${built} built, ${reports.length - built} cached)`);
  return 0;
}

async function imagesPull(argv: string[]): Promise<number> {
  const { values } = parse(argv, { tasks: { type: "string" }, parallel: { type: "string" } });
  if (values.help) return help("images");
  if (!values.tasks) throw new UsageError("images pull: --tasks SPEC is required");
  const parallel = positiveInt("images pull: --parallel", values.parallel as string | undefined, 4);
  const tasks = await tasksFrom(values.tasks as string);
  const backend = await DockerBackend.connect();
  const reports = await pullMissing(backend.docker, registryImages(tasks), { parallel, log: (s) => console.error(s) });
  const pulled = reports.filter((r) => r.pulled).length;
  console.log(`${reports.length} images ready (${pulled} pulled, ${reports.length - pulled} already here)`);
  return 0;
}

/** The images that come from a registry: every task's but those built here (task folders, Harbor environments). */
function registryImages(tasks: Task[]): string[] {
  return tasks.filter((t) => !t.folder && !t.buildContext).map((t) => t.image);
}

async function validateCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { tasks: { type: "string" }, parallel: { type: "string" }, backend: { type: "string" }, network: { type: "string" } });
  if (values.help) return help("validate-tasks");
  if (!values.tasks) throw new UsageError("validate-tasks: --tasks SPEC is required");
  const parallel = positiveInt("validate-tasks: --parallel", values.parallel as string | undefined, 2);
  const tasks = await tasksFrom(values.tasks as string);
  const { backend } = await backendWithImages(values.backend as string | undefined, tasks);
  const width = Math.max(4, ...tasks.map((t) => t.id.length));
  setInterruptNote("the tasks printed above were validated, the others not: run it again, or on those alone");
  console.log(`${"task".padEnd(width)}  gold  base  result`);
  const results = await validateTasks(backend, tasks, parallel, (v) =>
    console.log(`${v.id.padEnd(width)}  ${v.gold}     ${v.base}     ${v.ok ? "ok" : `FAIL ${v.detail}`}${v.warning ? ` (warning: ${v.warning})` : ""}`), { network: values.network as string | undefined });
  const bad = results.filter((v) => !v.ok).length;
  console.log(`${results.length - bad}/${results.length} tasks valid`);
  return bad ? 1 : 0;
}

/** The flags an evaluation runs with, kept in DIR/eval.json so that --resume DIR runs the same. */
const EVAL_FLAGS = ["tasks", "model", "k", "parallel", "backend", "cluster", "temperature", "max-steps", "max-response-tokens", "select", "verifier", "repro", "repro-tests", "tokenizer"] as const;

async function evalCommand(argv: string[]): Promise<number> {
  const parsed = parse(argv, {
    tasks: { type: "string" }, model: { type: "string" }, k: { type: "string" }, parallel: { type: "string" }, out: { type: "string" },
    backend: { type: "string" }, cluster: { type: "string" }, temperature: { type: "string" }, "max-steps": { type: "string" },
    "max-response-tokens": { type: "string" }, resume: { type: "string" }, select: { type: "string" }, verifier: { type: "string" },
    repro: { type: "string" }, "repro-tests": { type: "string" }, tokenizer: { type: "string" },
  });
  if (parsed.values.help) return help("eval");
  const resume = parsed.values.resume as string | undefined;
  let values = parsed.values;
  if (resume) {
    try {
      values = { ...JSON.parse(readFileSync(join(resume, "eval.json"), "utf8")), resume };
    } catch (e) {
      throw new UsageError(`eval --resume ${resume}: no readable eval.json there (${(e as Error).message})`);
    }
  }
  if (!values.tasks) throw new UsageError("eval: --tasks SPEC is required");
  if (!values.model) throw new UsageError("eval: --model is required (replay:gold, native:CHECKPOINT_DIR, openai:URL:NAME)");
  const int = (name: string, dflt: number) => positiveInt(`eval: --${name}`, values[name] as string | undefined, dflt);
  const temperature = values.temperature === undefined ? 1 : Number(values.temperature);
  if (!(temperature >= 0)) throw new UsageError(`eval: --temperature must be a number ≥ 0, got ${values.temperature}`);
  const select = values.select === undefined ? undefined : (values.select as string).split(",").map((x) => x.trim());
  const unknown = select?.filter((x) => !(SELECTORS as readonly string[]).includes(x));
  if (unknown?.length || select?.length === 0) throw new UsageError(`eval: --select ${unknown?.join(",") ?? ""}: rules are ${SELECTORS.join(", ")}`);
  const tokenizer = values.tokenizer as string | undefined;
  if (tokenizer !== undefined && !isTokenizerName(tokenizer)) throw new UsageError(`eval: --tokenizer ${tokenizer}: not qwen3, bytes, or a model folder holding a tokenizer.json`);
  const tasks = await tasksFrom(values.tasks as string);
  const backend = values.backend as string | undefined;
  await backendWithImages(backend, tasks);
  const out = resume ?? (values.out as string | undefined) ?? `runs/eval-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  setInterruptNote(`finished tasks are kept; resume with: node driver.js eval --resume ${out}`);
  if (!resume) {
    mkdirSync(out, { recursive: true });
    // Credentials stay out of the run folder: a resumed run takes them from TROUPE_NATS_* again.
    writeFileSync(join(out, "eval.json"), JSON.stringify(Object.fromEntries(EVAL_FLAGS.filter((f) => values[f] !== undefined).map((f) => [f, redactValue(values[f])])), null, 2));
  }
  let summary;
  try {
    summary = await runEval({
      tasks, model: values.model as string, k: int("k", 1), parallel: int("parallel", 2), out, backend: backend as BackendKind | undefined,
      cluster: values.cluster as string | undefined, temperature, maxSteps: int("max-steps", 50),
      maxResponseTokens: int("max-response-tokens", 32768), resume: !!resume, select: select as Selector[] | undefined, verifier: values.verifier as string | undefined,
      repro: values.repro as string | undefined, reproTests: int("repro-tests", 2), tokenizer,
    });
  } catch (e) {
    if (e instanceof TypeError) throw new UsageError(`eval: ${e.message}`);
    throw e;
  }
  console.log(summaryTable(summary));
  for (const r of summary.rows) if (r.error) console.error(`${r.task_id}: ${r.errors} error(s): ${r.error}`);
  console.log(`results in ${out}/results.jsonl; predictions in ${out}/predictions.jsonl; SWE-bench's report in ${out}/report.json`);
  return summary.errors ? 1 : 0;
}

async function scoreCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { tasks: { type: "string" }, predictions: { type: "string" }, parallel: { type: "string" }, out: { type: "string" }, backend: { type: "string" }, network: { type: "string" } });
  if (values.help) return help("score");
  if (!values.tasks) throw new UsageError("score: --tasks SPEC is required");
  if (!values.predictions) throw new UsageError("score: --predictions FILE is required");
  let predictions;
  try {
    predictions = readPredictions(values.predictions as string);
  } catch (e) {
    throw new UsageError(`score: ${(e as Error).message}`);
  }
  const parallel = positiveInt("score: --parallel", values.parallel as string | undefined, 2);
  const tasks = await tasksFrom(values.tasks as string);
  const { backend } = await backendWithImages(values.backend as string | undefined, tasks);
  const out = (values.out as string | undefined) ?? `runs/score-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  const network = values.network as string | undefined;
  const s = await scorePredictions({ tasks, predictions, backend, parallel, out, network, onResult: (id, verdict) => console.log(`${id}  ${verdict}`) });
  for (const id of s.skipped) console.error(`troupe: skipped a prediction for ${id}: not among the tasks of ${values.tasks}`);
  const r = s.report;
  console.log(`${r.submitted_instances} submitted of ${r.total_instances}: ${r.resolved_instances} resolved, ${r.unresolved_instances} unresolved, ` +
    `${r.empty_patch_instances} empty patches, ${r.error_instances} errors; report in ${out}/report.json`);
  return r.error_instances ? 1 : 0;
}

async function recipeCommand(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "deepswe") return deepsweCommand(rest);
  if (name === "verifier") return verifierCommand(rest);
  if (name !== "arith") throw new UsageError(`--recipe: unknown recipe '${name ?? ""}' (available: deepswe, arith, verifier)`);
  const { values } = parse(rest, { out: { type: "string" }, steps: { type: "string" }, seed: { type: "string" }, cluster: { type: "string" }, backend: { type: "string" }, device: { type: "string" }, async: { type: "boolean" } });
  if (values.help) return help();
  const backend = (values.backend ?? "reference") as string, device = (values.device ?? "auto") as string;
  if (backend !== "reference" && backend !== "torch") throw new UsageError(`--recipe arith: --backend must be reference or torch, got ${backend}`);
  if (device !== "cpu" && device !== "cuda" && device !== "auto") throw new UsageError(`--recipe arith: --device must be cpu, cuda or auto, got ${device}`);
  const steps = positiveInt("--recipe arith: --steps", values.steps as string | undefined, 200);
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (!Number.isInteger(seed)) throw new UsageError(`--recipe arith: --seed must be an integer, got ${values.seed}`);
  const out = (values.out as string | undefined) ?? `runs/arith-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  setInterruptNote(`the steps in ${out}/metrics.jsonl are whole; arith has no resume: run it again`);
  const rows = await runArith({ out, steps, seed, cluster: values.cluster as string | undefined, worker: { backend, device } as WorkerBackend, async: values.async ? {} : undefined });
  const mean = (a: typeof rows) => a.reduce((x, r) => x + r.reward_mean, 0) / Math.max(1, a.length);
  const w = Math.min(10, rows.length);
  console.log(`reward: ${mean(rows.slice(0, w)).toFixed(3)} over the first ${w} steps, ${mean(rows.slice(-w)).toFixed(3)} over the last ${w}`);
  console.log(`metrics in ${out}/metrics.jsonl`);
  return 0;
}

COMMAND_HELP.verifier = `usage: node driver.js --recipe verifier --data DIR[,DIR…] [--tasks SPEC] [--init CHECKPOINT_DIR]
                         [--epochs N] [--lr X] [--held-out F] [--seed N] [--out DIR]
  Trains an execution-free verifier on the trajectories of eval or run folders (DIR/
  trajectories.jsonl), each labelled by its reward: the verification prompt eval --verifier
  asks, then YES (reward 1) or NO, the loss on the answer alone. Failed trajectories and empty
  patches are skipped; a share F of the tasks (default 0.25) is held out; the training classes
  are balanced. Prints accuracy and AUC of P(YES) on the held-out trajectories before and after,
  writes DIR/verifier.json and the checkpoint DIR/verifier (for eval --verifier native:DIR).
  --tasks  where the problem statements come from (default: the first folder's eval.json tasks)
  --init   the model to train (default: a tiny random byte-level model: on a laptop this proves
           the mechanism, not a verifier's quality)
`;

async function verifierCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    data: { type: "string" }, tasks: { type: "string" }, init: { type: "string" }, epochs: { type: "string" }, lr: { type: "string" },
    "held-out": { type: "string" }, seed: { type: "string" }, out: { type: "string" }, cluster: { type: "string" },
  });
  if (values.help) return help("verifier");
  if (!values.data) throw new UsageError("--recipe verifier: --data DIR[,DIR…] is required (eval or run folders with trajectories.jsonl)");
  const dirs = (values.data as string).split(",");
  let spec = values.tasks as string | undefined;
  if (!spec) {
    try {
      spec = (JSON.parse(readFileSync(join(dirs[0], "eval.json"), "utf8")) as { tasks?: string }).tasks;
    } catch {
      /* said below */
    }
    if (!spec) throw new UsageError(`--recipe verifier: --tasks SPEC is required (${dirs[0]} has no eval.json naming its tasks)`);
  }
  const lr = values.lr === undefined ? 1e-3 : Number(values.lr);
  const heldOut = values["held-out"] === undefined ? 0.25 : Number(values["held-out"]);
  if (!(lr > 0)) throw new UsageError(`--recipe verifier: --lr must be a number > 0, got ${values.lr}`);
  if (!(heldOut > 0 && heldOut < 1)) throw new UsageError(`--recipe verifier: --held-out must be between 0 and 1, got ${values["held-out"]}`);
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (!Number.isInteger(seed)) throw new UsageError(`--recipe verifier: --seed must be an integer, got ${values.seed}`);
  let data;
  try {
    data = readTrajectories(dirs);
  } catch (e) {
    throw new UsageError(`--recipe verifier: ${(e as Error).message}`);
  }
  const init = values.init as string | undefined;
  const tokenizer = init ? checkpointTokenizer(init, "--init") : tokenizerForVocab(TOY_VERIFIER.vocab_size);
  const out = (values.out as string | undefined) ?? `runs/verifier-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  setInterruptNote("nothing is kept of a verifier's training cut short: run it again");
  let r;
  try {
    r = await trainVerifier({
      trajectories: data.trajectories, tasks: await tasksFrom(spec), out, init, config: init ? undefined : TOY_VERIFIER, tokenizer, agentTokenizer: data.tokenizer,
      epochs: positiveInt("--recipe verifier: --epochs", values.epochs as string | undefined, 20), lr, heldOut, seed, cluster: values.cluster as string | undefined,
      progress: (l) => console.error(l),
    });
  } catch (e) {
    if (e instanceof TypeError) throw new UsageError(`--recipe verifier: ${e.message}`);
    throw e;
  }
  const f = (x: { accuracy: number; auc: number }) => `accuracy ${x.accuracy.toFixed(3)}, AUC ${x.auc.toFixed(3)}`;
  console.log(`held out (${r.examples.held_out} trajectories of ${r.tasks.held_out.length} tasks): before ${f(r.before)}; after ${f(r.after)}`);
  console.log(`verifier in ${r.checkpoint} (eval --verifier native:${r.checkpoint}); report in ${out}/verifier.json`);
  return 0;
}

/**
 * `--init DIR`: start from a checkpoint folder (a real Qwen3 one included) instead of the
 * warm-up. Its config.json picks the tokenizer: a Qwen3 vocabulary means Qwen3's BPE. Later
 * `--set`s still override all three.
 */
function initSets(dir: string | undefined): string[] {
  if (!dir) return [];
  return [`model.init=${JSON.stringify(dir)}`, "warmup.epochs=0", `model.tokenizer=${JSON.stringify(checkpointTokenizer(dir, "--init"))}`];
}

/**
 * The tokenizer of a checkpoint folder: its own tokenizer.json, else what its vocabulary means
 * (llm's modelTokenizer); `what` names the folder in the error when it is not one.
 */
function checkpointTokenizer(dir: string, what: string): TokenizerName {
  try {
    return modelTokenizer(dir);
  } catch (e) {
    throw new UsageError(`${what} ${dir}: not a checkpoint folder (no readable config.json: ${(e as Error).message})`);
  }
}

async function deepsweCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    profile: { type: "string" }, config: { type: "string" }, set: { type: "string", multiple: true }, out: { type: "string" },
    resume: { type: "string" }, cluster: { type: "string" }, init: { type: "string" }, "print-config": { type: "boolean" },
  }, true);
  if (values.help) return help();
  // Bare key.path=value arguments, as verl's and rLLM's users pass overrides, are --sets.
  const bare = positionals.filter((p) => p.indexOf("=") < 1);
  if (bare.length) throw new UsageError(`--recipe deepswe: unexpected argument '${bare[0]}' (overrides are key.path=value, or --set key.path=value)`);
  const resume = values.resume as string | undefined;
  let config;
  if (resume) {
    let saved: unknown;
    try {
      saved = JSON.parse(readFileSync(join(resume, "config.json"), "utf8"));
    } catch (e) {
      throw new UsageError(`--resume ${resume}: no readable config.json there (${(e as Error).message})`);
    }
    config = resolveConfig((saved as { profile?: string }).profile ?? "laptop", saved as Record<string, unknown>, []);
  } else {
    let file: Record<string, unknown> | undefined;
    if (values.config) {
      // YAML 1.2 reads JSON too: one parser for both kinds of file.
      let text: string;
      try {
        text = readFileSync(values.config as string, "utf8");
      } catch (e) {
        throw new UsageError(`--config ${values.config}: ${(e as Error).message}`);
      }
      try {
        file = parseYaml(text);
      } catch (e) {
        throw new UsageError(`--config ${values.config}: not valid YAML or JSON: ${(e as Error).message.split("\n")[0].replace(/:$/, "")}`);
      }
      if (typeof file !== "object" || file === null || Array.isArray(file)) throw new UsageError(`--config ${values.config}: expected a mapping of settings at the top`);
    }
    config = resolveConfig((values.profile as string | undefined) ?? "laptop", file, [...initSets(values.init as string | undefined), ...((values.set as string[] | undefined) ?? []), ...positionals]);
  }
  if (values["print-config"]) {
    process.stdout.write(stringifyYaml(config));
    return 0;
  }
  if (!values.cluster) await preflight(config);
  const out = resume ?? (values.out as string | undefined) ?? `runs/deepswe-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  const tasks = { train: await tasksFrom(config.tasks.train), validation: await tasksFrom(config.tasks.validation) };
  await backendWithImages(config.backend, [...tasks.train, ...tasks.validation]);
  setInterruptNote(`the step in progress is not recorded; resume with: node driver.js --recipe deepswe --resume ${out}`);
  const rows = await runDeepSWE({ config, out, resume: !!resume, cluster: values.cluster as string | undefined, log: (l) => console.error(l), tasks }).catch((e: Error) => {
    if (e instanceof LearnerGroupError) e.message += `; the step is not recorded, the checkpoints are whole: resume with node driver.js --recipe deepswe --resume ${out}`;
    throw e;
  });
  const last = rows[rows.length - 1];
  console.log(`${rows.length} steps; last step reward ${last ? last.reward_mean.toFixed(3) : "-"}${last?.val_reward !== undefined ? `, validation ${last.val_reward.toFixed(3)}` : ""}`);
  console.log(`run folder: ${out} (metrics.jsonl, trajectories.jsonl, traces.jsonl, checkpoints/, plot.html, a TensorBoard event file); read it with: node driver.js view ${out}`);
  return 0;
}

/**
 * What an embedded run checks before it starts anything (on a cluster, the learners' machines
 * would have to answer): the checkpoint it starts from is one, and this machine's worker can
 * run the learner's backend on its device (a worker built without CUDA cannot serve `cuda`).
 */
async function preflight(c: DeepSWEConfig): Promise<void> {
  if (c.model.init) {
    try {
      readFileSync(join(c.model.init, "config.json"));
    } catch (e) {
      throw new UsageError(`model.init ${c.model.init}: not a checkpoint folder (no readable config.json: ${(e as Error).message})`);
    }
  }
  let worker: NativeWorker;
  try {
    worker = await NativeWorker.start(workerBackend(c.learner));
  } catch (e) {
    const words = /its last words: (?:troupe-worker: )?(.*)$/.exec((e as Error).message);
    throw new UsageError(`learner (backend ${c.learner.backend}, device ${c.learner.device}): ${words ? words[1] : (e as Error).message}`);
  }
  await worker.close();
}

/** Opens the sandbox backend asked for and builds the tasks' images for it. */
async function backendWithImages(kind = "auto", tasks: Task[]): Promise<{ backend: SandboxBackend; reports: BuildReport[] }> {
  if (!["auto", "docker", "local"].includes(kind)) throw new UsageError(`--backend must be auto, docker or local, got '${kind}'`);
  const backend = await openBackend(kind as BackendKind);
  const log = (s: string) => console.error(s);
  // On SIGINT/SIGTERM the cluster stops first (its hosts close what they can), then this
  // process's own sandboxes (validate-tasks and score open them here) and whatever sandbox is
  // left without a live owner go: an interrupted run leaves no container behind.
  onTeardown("sandboxes", () => closeAllSandboxes().then(() => backend.reap()).then(() => undefined), () => undefined);
  if (!(backend instanceof DockerBackend)) return { backend, reports: await buildLocalImages(tasks, log) };
  const reports = await buildImages(backend.docker, tasks, log);
  await pullMissing(backend.docker, registryImages(tasks), { log });
  return { backend, reports };
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
  if (cmd === "images") return imagesCommand(rest);
  if (cmd === "validate-tasks") return validateCommand(rest);
  if (cmd === "eval") return evalCommand(rest);
  if (cmd === "score") return scoreCommand(rest);
  if (cmd === "export") return exportCommand(rest);
  if (cmd === "serve") return serveCommand(rest);
  if (cmd === "view") return viewCommand(rest);
  if (cmd === "--recipe" || cmd.startsWith("--recipe=")) return recipeCommand(cmd.startsWith("--recipe=") ? [cmd.slice(9), ...rest] : rest);
  throw new UsageError(`unknown command '${cmd}' (see node driver.js --help)`);
}

// After SIGINT/SIGTERM the teardown (runtime/lifecycle.ts) owns the exit: what the command
// does as its calls fail meanwhile (returns, throws) must not exit first with another code.
main(process.argv.slice(2)).then(
  (code) => {
    if (!stopping()) process.exit(code);
  },
  (e) => {
    if (stopping()) return;
    if (e instanceof UsageError) {
      console.error(`troupe: ${redact(e.message)}`);
      process.exit(2);
    }
    const usage = e instanceof ConfigError || e instanceof TaskFormatError;
    console.error(`troupe: ${usage || e instanceof EnvError ? "" : `${(e as Error).name}: `}${redact((e as Error).message)}`);
    process.exit(usage ? 2 : 1);
  },
);
