// The command line's cluster and image commands, as a user runs them: `status` against an
// embedded and a running cluster, `images build` on the Docker engine, and the Docker-less
// path (bubblewrap) for `images build` and `validate-tasks` on a machine where no daemon answers;
// the deepswe configuration as verl's users write it (YAML, bare overrides, --print-config).
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { init, type Cluster } from "../runtime/index.js";
import { dockerEnv } from "./envs/helpers.js";
import { driver as runDriver, Echo } from "./helpers.js";

const driver = (args: string[], env: Record<string, string> = {}) => runDriver(args, { env });
// dockerode (docker-modem) reads DOCKER_HOST: a socket that does not exist is a machine without a daemon.
const NO_DOCKER = { DOCKER_HOST: "unix:///nonexistent/docker.sock" };

describe("the command line", function () {
  this.timeout(300_000);

  describe("configuration", () => {
    let dir: string;
    before(() => (dir = mkdtempSync(join(tmpdir(), "troupe-config-"))));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("--print-config: a YAML file, then --set, then bare key.path=value overrides; what it prints reads back as the same config", async () => {
      writeFileSync(join(dir, "c.yaml"), "rollout:\n  k: 5\n  tasksPerStep: 3\nmode: disaggregated\n");
      const r = await driver(["--recipe", "deepswe", "--profile", "smoke", "--config", join(dir, "c.yaml"), "--set", "rollout.k=6", "rollout.tasksPerStep=4", "engines=2", "--print-config"]);
      expect(r.code, r.stderr).to.equal(0);
      const c = parseYaml(r.stdout);
      expect(c).to.deep.include({ profile: "smoke", mode: "disaggregated", engines: 2 });
      expect(c.rollout).to.deep.include({ k: 6, tasksPerStep: 4 });
      writeFileSync(join(dir, "printed.yaml"), r.stdout);
      const again = await driver(["--recipe", "deepswe", "--profile", "smoke", "--config", join(dir, "printed.yaml"), "--print-config"]);
      expect(again.stdout).to.equal(r.stdout);
      // JSON is YAML too.
      writeFileSync(join(dir, "c.json"), JSON.stringify({ learners: 2 }));
      expect(parseYaml((await driver(["--recipe", "deepswe", "--config", join(dir, "c.json"), "--print-config"])).stdout).learners).to.equal(2);
    });

    it("a malformed file, a stray argument and a bad value are each one line", async () => {
      writeFileSync(join(dir, "bad.yaml"), "rollout: [1\n");
      const cases: [string[], RegExp][] = [
        [["--config", join(dir, "bad.yaml")], /--config .*bad\.yaml: .*line 2/],
        [["foo"], /unexpected argument 'foo'/],
        [["rollout.k=zero"], /rollout\.k/],
      ];
      for (const [args, want] of cases) {
        const r = await driver(["--recipe", "deepswe", ...args, "--print-config"]);
        expect(r.code, args.join(" ")).to.equal(2);
        expect(r.stderr.trim().split("\n"), r.stderr).to.have.length(1);
        expect(r.stderr).to.match(want);
      }
    });
  });

  describe("status", () => {
    let cluster: Cluster;
    before(async () => (cluster = await init()));
    after(() => cluster.shutdown());

    it("--cluster URL lists the running cluster's node and counts its actors", async () => {
      const actors = [await cluster.actor(Echo, []), await cluster.actor(Echo, [])];
      await Promise.all(actors.map((a) => a.echo(1)));
      const nodeId = (await cluster.info()).nodes[0].id;
      const r = await driver(["status", "--cluster", cluster.address.url], { TROUPE_NATS_TOKEN: cluster.address.token ?? "" });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.include(nodeId);
      expect(r.stdout).to.match(/actors=2 /);
      expect(r.stdout).to.match(/"alive":2/);
    });

    it("without --cluster starts an embedded cluster, prints its one node and stops it", async () => {
      const r = await driver(["status"]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout.trim().split("\n")).to.have.length(2);
      expect(r.stdout).to.match(/actors=0 .*total cpu=\d+/);
    });

    it("a cluster that does not answer is one line naming it", async () => {
      const r = await driver(["status", "--cluster", "nats://127.0.0.1:1"]);
      expect(r.code).to.not.equal(0);
      expect(r.stderr.trim().split("\n")).to.have.length(1);
      expect(r.stderr).to.match(/127\.0\.0\.1:1/);
    });
  });

  describe("images and task validation", () => {
    before(() => dockerEnv());  // the bundled images exist on the engine

    it("images build finds every image of a split cached on the Docker engine", async () => {
      const r = await driver(["images", "build", "--tasks", "bundled:validation"]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/9 images ready \(0 built, 9 cached\)/);
    });

    it("with no Docker daemon, images build and validate-tasks run on bubblewrap", async () => {
      const built = await driver(["images", "build", "--tasks", "bundled:validation"], NO_DOCKER);
      expect(built.code, built.stderr).to.equal(0);
      expect(built.stdout).to.match(/9 images ready/);
      const valid = await driver(["validate-tasks", "--tasks", "bundled:validation", "--parallel", "2"], NO_DOCKER);
      expect(valid.code, valid.stderr + valid.stdout).to.equal(0);
      expect(valid.stdout).to.match(/8\/8 tasks valid/);
    });
  });
});
