// Images pulled through the Docker engine from a registry (a real one, in the test: the
// Registry HTTP API V2), a few at a time, with progress and retries; and one clear error when
// an image does not exist or no registry can be reached, as on this machine.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { imageExists } from "../../envs/index.js";
import { startRegistry, type TestRegistry } from "../fixtures/registry.js";
import { driver as runDriver } from "../helpers.js";
import { dockerEnv } from "./helpers.js";

const driver = (args: string[]) => runDriver(args, { timeoutMs: 120_000 });

/** A SWE-bench row naming `image` (its own test command: no specification needed). */
const row = (id: string, image: string) => JSON.stringify({
  instance_id: id, repo: "me/mine", base_commit: "abc", patch: "", test_patch: "diff --git a/t.py b/t.py\n", problem_statement: "p",
  FAIL_TO_PASS: ["t.py::a"], PASS_TO_PASS: [], image_name: image, test_command: "pytest -rA t.py",
});

describe("image pulls", function () {
  this.timeout(180_000);
  let dir: string;
  let reg: TestRegistry;
  const names = ["troupe-test/pull-a", "troupe-test/pull-b", "troupe-test/pull-c"];
  const images = () => names.map((n) => `${reg.host}/${n}:v1`);
  const rmi = () => spawnSync("docker", ["rmi", "-f", ...images()], { stdio: "ignore" });
  before(async () => {
    await dockerEnv();
    dir = mkdtempSync(join(tmpdir(), "troupe-pull-"));
    // pull-b's registry is overloaded (503) for the first second.
    reg = await startRegistry(names, 3 * 1024 * 1024, { "troupe-test/pull-b": 1000 });
    rmi();
  });
  after(async () => {
    if (!reg) return;
    rmi();
    await reg.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("images pull: only what is missing, two at a time, with progress, a failed request retried", async () => {
    const { backend } = await dockerEnv();
    const file = join(dir, "rows.jsonl");
    writeFileSync(file, images().map((img, i) => row(`t-${i}`, img)).join("\n") + "\n");
    const r = await driver(["images", "pull", "--tasks", file, "--parallel", "2"]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/3 images ready \(3 pulled, 0 already here\)/);
    expect(r.stderr).to.match(/pulling 127\.0\.0\.1:\d+\/troupe-test\/pull-\w:v1: \d+% of 3\.\d MB/);
    expect(r.stderr).to.match(/pulling 127\.0\.0\.1:\d+\/troupe-test\/pull-b:v1 failed \(.*503.*\); retrying in 2\.0 s/);
    expect(reg.maxImagesAtOnce).to.equal(2);
    for (const img of images()) expect(await imageExists(backend.docker, img), img).to.equal(true);
    // Everything is here now: nothing is pulled again.
    const again = await driver(["images", "pull", "--tasks", file]);
    expect(again.stdout).to.match(/3 images ready \(0 pulled, 3 already here\)/);
  });

  it("a run pulls what it lacks before it starts; an image the registry does not have is one error naming it, not retried", async () => {
    const file = join(dir, "missing.jsonl");
    writeFileSync(file, row("t-missing", `${reg.host}/troupe-test/nothing:v1`) + "\n");
    const t = performance.now();
    const r = await driver(["validate-tasks", "--tasks", file]);
    expect(r.code).to.equal(1);
    expect(r.stderr.trim().split("\n").filter((l) => l.startsWith("troupe:"))).to.have.length(1);
    expect(r.stderr).to.match(/cannot pull 1 of 1 missing image\(s\): 127\.0\.0\.1:\d+\/troupe-test\/nothing:v1: .*manifest unknown/);
    expect(r.stderr).not.to.match(/retrying/);
    expect(performance.now() - t).to.be.below(60_000);
  });

  it("where no registry can be reached, the error says so and names the image", async () => {
    const file = join(dir, "nowhere.jsonl");
    writeFileSync(file, row("t-nowhere", "registry.invalid/troupe/none:1") + "\n");
    const r = await driver(["images", "pull", "--tasks", file]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/registry\.invalid\/troupe\/none:1: .*no such host/);
    expect(r.stderr).to.match(/reaches no registry from here: load the images \(docker load\) or build them/);
  });
});
