// Credentials stay secret: a traced eval and a traced recipe step against a token-protected
// cluster, the token given in the --cluster URL, leave it in no file of their run folders, in
// no exported span and in nothing they print.
import { expect } from "chai";
import { readdirSync, readFileSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openBackend } from "../envs/index.js";
import { init, readTraceLines, redact, type Cluster } from "../runtime/index.js";
import { dockerEnv } from "./envs/helpers.js";
import { driver } from "./helpers.js";

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

describe("secrets", function () {
  this.timeout(300_000);
  let cluster: Cluster;
  let dir: string;
  let url: string;
  let token: string;
  before(async () => {
    await dockerEnv();
    cluster = await init();
    token = cluster.address.token!;
    expect(token).to.have.length.above(8);
    url = cluster.address.url.replace("://", `://${token}@`);
    dir = mkdtempSync(join(tmpdir(), "troupe-secrets-"));
  });
  after(async () => {
    await cluster?.shutdown();
    // Known race (see the session 11 note): the deepswe driver's owned env actors on this
    // cluster are killed when it leaves, and its own sweep of orphaned sandboxes can run before
    // their host is gone; the next command's sweep (openBackend) removes them, as here.
    await openBackend("auto");
    rmSync(dir, { recursive: true, force: true });
  });

  const leaks = (out: string, printed: string) => {
    const found = files(out).filter((f) => readFileSync(f).includes(token));
    if (printed.includes(token)) found.push("(what it printed)");
    return found;
  };

  it("redact(): URLs' user information, secret flags and variables", () => {
    expect(redact("eval --cluster nats://s3cr3t@head:4222 --x")).to.equal("eval --cluster nats://***@head:4222 --x");
    expect(redact("tls://user:pw@h:1 --token abc --password=def TROUPE_NATS_TOKEN=ghi")).to.equal("tls://***@h:1 --token *** --password=*** TROUPE_NATS_TOKEN=***");
  });

  it("a traced eval on the cluster: the token is nowhere in its run folder or its output", async () => {
    const out = join(dir, "eval");
    const r = await driver(["eval", "--cluster", url, "--tasks", "bundled:validation", "--model", "replay:gold", "--parallel", "2", "--out", out]);
    expect(r.code, r.stderr).to.equal(0);
    expect(leaks(out, r.stdout + r.stderr)).to.deep.equal([]);
    // The spans were exported, their resource's command line redacted.
    const spans = readTraceLines(readFileSync(join(out, "traces.jsonl"), "utf8"));
    const driverSpan = spans.find((s) => ((s.resource["process.command_args"] ?? []) as string[]).includes("eval"));
    expect(driverSpan, "a span of the eval's own process").to.not.equal(undefined);
    expect(driverSpan!.service).to.equal("troupe-driver");
    expect(driverSpan!.resource["process.command_args"]).to.include("nats://***@" + cluster.address.url.split("://")[1]);
    // --resume takes its flags from eval.json, which holds no credentials.
    expect(JSON.parse(readFileSync(join(out, "eval.json"), "utf8")).cluster).to.equal(`nats://***@${cluster.address.url.split("://")[1]}`);
    // The eval's actors were its own: they stopped with it, and their sandboxes went.
    expect((await cluster.info()).actors.alive).to.equal(0);
  });

  it("a traced deepswe step on the cluster: the token is nowhere in its run folder or its output", async () => {
    const out = join(dir, "deepswe");
    const r = await driver(["--recipe", "deepswe", "--cluster", url, "--profile", "smoke",
      "--set", "rollout.goldPerGroup=1", "--set", "schedule.steps=1", "--out", out], { timeoutMs: 280_000 });
    expect(r.code, r.stderr).to.equal(0);
    expect(files(out).some((f) => f.endsWith("traces.jsonl"))).to.equal(true);
    expect(leaks(out, r.stdout + r.stderr)).to.deep.equal([]);
    expect((await cluster.info()).actors.alive).to.equal(0);
  });
});
