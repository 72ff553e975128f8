// Stateless tasks, the module allowlist, authentication, and tracing across processes.
import { expect } from "chai";
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createUser } from "@nats-io/nkeys";
import { ConfigError, init, NodeAgent, readTraceLines, RemoteMethodError, startNatsServer, actorClass, type Cluster, type TraceSpan } from "../runtime/index.js";
import { callThroughTwoHosts, Echo, ROOT, TASKS, until } from "./helpers.js";

describe("stateless tasks", function () {
  let cluster: Cluster;
  before(async () => {
    cluster = await init();
  });
  after(async () => {
    await cluster?.shutdown();
  });

  it("runs task functions on the node's piscina worker threads", async () => {
    const square = cluster.task<(x: number) => number>(TASKS, "square");
    expect(await Promise.all([1, 2, 3, 4].map((x) => square(x)))).to.deep.equal([1, 4, 9, 16]);
    const where = await cluster.task<() => { pid: number; threadId: number }>(TASKS, "whereAmI")();
    expect(where.threadId).to.be.greaterThan(0); // a worker thread, not the main one
    const scaled = await cluster.task<(a: Float32Array, k: number) => Float32Array>(TASKS, "scale")(new Float32Array([1, 2.5]), 2);
    expect(scaled).to.be.instanceOf(Float32Array);
    expect(Array.from(scaled)).to.deep.equal([2, 5]);
  });

  it("refuses modules outside the allowed paths, for tasks and actors", async () => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-outside-"));
    const file = join(dir, "evil.mjs");
    writeFileSync(file, "export function run() { return 'ran'; }\nexport class Evil { hi() { return 'hi'; } }\n");
    const err = await cluster.task(file, "run")().catch((x) => x);
    expect(err).to.be.instanceOf(ConfigError);
    expect(err.message).to.match(/outside the paths this node allows/);
    const err2 = await cluster.actor(actorClass(file, "Evil"), []).catch((x) => x);
    expect(err2).to.be.instanceOf(ConfigError);
  });
});

describe("authentication", function () {
  it("rejects a client without credentials; token, user/password and nkey are accepted", async () => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-auth-"));
    const user = createUser();
    const seedFile = join(dir, "user.nk");
    writeFileSync(seedFile, new TextDecoder().decode(user.getSeed()));
    const conf = join(dir, "auth.conf");
    writeFileSync(conf, `authorization { users = [ { user: "alice", password: "s3cret" }, { nkey: "${user.getPublicKey()}" } ] }\n`);
    const server = await startNatsServer({ token: null, args: ["-c", conf] });
    try {
      const noCreds = await init({ cluster: server.url }).catch((x) => x);
      expect(noCreds).to.be.instanceOf(ConfigError);
      expect(noCreds.message).to.match(/authentication|authorization/i);
      const wrong = await init({ cluster: { url: server.url, user: "alice", pass: "nope" } }).catch((x) => x);
      expect(wrong).to.be.instanceOf(ConfigError);
      // user/password embedded in the URL, as `--cluster` takes it
      const u = server.url.replace("nats://", "nats://alice:s3cret@");
      const node = await NodeAgent.start({ address: { url: server.url, user: "alice", pass: "s3cret" } });
      const c1 = await init({ cluster: u });
      const e = await c1.actor(Echo, []);
      expect(await e.echo("authenticated")).to.equal("authenticated");
      const c2 = await init({ cluster: { url: server.url, nkeySeedFile: seedFile } });
      expect(await c2.info()).to.have.property("nodes");
      await c1.shutdown();
      await c2.shutdown();
      await node.stop();
    } finally {
      await server.stop();
    }
    const tokenServer = await startNatsServer({ token: "tok-123" });
    try {
      expect(await init({ cluster: tokenServer.url }).catch((x) => x)).to.be.instanceOf(ConfigError);
      const c3 = await init({ cluster: tokenServer.url.replace("nats://", "nats://tok-123@") });
      await c3.shutdown();
    } finally {
      await tokenServer.stop();
    }
  });
});

describe("TLS and credentials from the environment, through the command line", function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    // A private CA, a server certificate for 127.0.0.1 and a client certificate, by openssl.
    dir = mkdtempSync(join(tmpdir(), "troupe-tls-"));
    const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=troupe-test-ca");
    writeFileSync(join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    for (const who of ["server", "client"]) {
      ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${who}.key`, "-out", `${who}.csr`, "-subj", `/CN=troupe-${who}`);
      ssl("x509", "-req", "-in", `${who}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${who}.pem`, "-days", "1", ...(who === "server" ? ["-extfile", "san.ext"] : []));
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * `node driver.js status --cluster URL` with `env` added; its exit code and output. Async:
   * the node answering it lives in this process.
   */
  const status = (url: string, env: Record<string, string>) =>
    promisify(execFile)(process.execPath, ["driver.js", "status", "--cluster", url], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 30_000 }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e) => ({ code: (e.code as number) ?? -1, out: `${e.stdout}${e.stderr}` }),
    );

  it("mutual TLS: a client with the CA and its certificate (init options or TROUPE_NATS_TLS_*) joins; one without is refused", async () => {
    const f = (n: string) => join(dir, n);
    const server = await startNatsServer({ token: null, args: ["--tls", "--tlscert", f("server.pem"), "--tlskey", f("server.key"), "--tlsverify", "--tlscacert", f("ca.pem")] });
    const url = `tls://127.0.0.1:${server.port}`;
    const tls = { caFile: f("ca.pem"), certFile: f("client.pem"), keyFile: f("client.key") };
    try {
      const node = await NodeAgent.start({ address: { url, tls } });
      const c = await init({ cluster: { url, tls } });
      const e = await c.actor(Echo, []);
      expect(await e.echo("over TLS")).to.equal("over TLS");
      // The command line takes the same from the environment.
      const ok = await status(url, { TROUPE_NATS_TLS_CA: tls.caFile, TROUPE_NATS_TLS_CERT: tls.certFile, TROUPE_NATS_TLS_KEY: tls.keyFile });
      expect(ok.code, ok.out).to.equal(0);
      expect(ok.out).to.match(/"alive":1/);
      // Without a client certificate the server refuses: one line, no stack.
      const refused = await status(url, { TROUPE_NATS_TLS_CA: tls.caFile });
      expect(refused.code).to.not.equal(0);
      expect(refused.out.trim().split("\n")).to.have.length(1);
      expect(refused.out).to.match(/client certificate\? TROUPE_NATS_TLS_CERT\/TROUPE_NATS_TLS_KEY/);
      await c.shutdown();
      await node.stop();
    } finally {
      await server.stop();
    }
  });

  it("TROUPE_NATS_USER/PASS, TROUPE_NATS_NKEY_SEED_FILE and TROUPE_NATS_TOKEN each let the command line in", async () => {
    const user = createUser();
    writeFileSync(join(dir, "user.nk"), new TextDecoder().decode(user.getSeed()));
    writeFileSync(join(dir, "auth.conf"), `authorization { users = [ { user: "bob", password: "pw-9" }, { nkey: "${user.getPublicKey()}" } ] }\n`);
    const server = await startNatsServer({ token: null, args: ["-c", join(dir, "auth.conf")] });
    const tokenServer = await startNatsServer({ token: "tok-env" });
    try {
      const node = await NodeAgent.start({ address: { url: server.url, user: "bob", pass: "pw-9" } });
      try {
        for (const env of [{ TROUPE_NATS_USER: "bob", TROUPE_NATS_PASS: "pw-9" }, { TROUPE_NATS_NKEY_SEED_FILE: join(dir, "user.nk") }] as Record<string, string>[]) {
          const r = await status(server.url, env);
          expect(r.code, r.out).to.equal(0);
          expect(r.out).to.match(/actors=0 /);
        }
        const wrong = await status(server.url, { TROUPE_NATS_USER: "bob", TROUPE_NATS_PASS: "wrong" });
        expect(wrong.code).to.not.equal(0);
        expect(wrong.out).to.match(/authentication|authorization/i);
      } finally {
        await node.stop();
      }
      const tokenNode = await NodeAgent.start({ address: { url: tokenServer.url, token: "tok-env" } });
      try {
        const r = await status(tokenServer.url, { TROUPE_NATS_TOKEN: "tok-env" });
        expect(r.code, r.out).to.equal(0);
      } finally {
        await tokenNode.stop();
      }
    } finally {
      await server.stop();
      await tokenServer.stop();
    }
  });
});

describe("tracing", function () {
  it("joins the caller's producer span and the actor's consumer span across three processes", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "troupe-trace-")), "traces.jsonl");
    await callThroughTwoHosts({ tracesFile: file });
    type S = TraceSpan;
    const spans = await until("the hosts to flush their spans", () => {
      if (!existsSync(file)) return undefined;
      const all = readTraceLines(readFileSync(file, "utf8"));
      return all.some((s) => s.name.endsWith(".echo") && s.kind === "CONSUMER") ? all : undefined;
    }, 10_000);
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const echoConsumer = spans.find((s) => s.name.endsWith(".echo") && s.kind === "CONSUMER")!;
    // echo consumer ← producer in the Chain host ← forward consumer ← producer in the driver
    const chain: S[] = [echoConsumer];
    let cur: S | undefined = echoConsumer;
    while (cur?.parentSpanId && (cur = byId.get(cur.parentSpanId))) chain.push(cur);
    expect(chain.map((s) => s.kind)).to.deep.equal(["CONSUMER", "PRODUCER", "CONSUMER", "PRODUCER"]);
    expect(new Set(chain.map((s) => s.traceId)).size).to.equal(1);
    expect(new Set(chain.map((s) => s.pid)).size).to.equal(3);
    expect(chain[3].pid).to.equal(process.pid);
  });

  it("errors in spans: a failing call records the exception", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "troupe-trace-")), "traces.jsonl");
    const cluster = await init({ tracesFile: file });
    try {
      const e = await cluster.actor(Echo, []);
      expect(await e.fail("boom").catch((x) => x)).to.be.instanceOf(RemoteMethodError);
    } finally {
      await cluster.shutdown();
    }
    const spans = await until("spans", () => {
      const all = existsSync(file) ? readTraceLines(readFileSync(file, "utf8")) : [];
      return all.filter((s) => /\.fail( send)?$/.test(s.name)).length >= 2 ? all : undefined;
    }, 10_000);
    for (const s of spans.filter((x) => /\.fail( send)?$/.test(x.name))) expect(s.status.code).to.equal(2);
  });
});
