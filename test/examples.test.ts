// The README's examples run with plain node and print what they promise.
import { expect } from "chai";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ROOT } from "./helpers.js";

const exec = promisify(execFile);

/** Runs an example; on failure or timeout the error carries what it printed, to see where it stopped. */
async function run(file: string, args: string[], opts: { cwd: string; timeout: number }): Promise<{ stdout: string }> {
  try {
    return await exec(file, args, { ...opts, killSignal: "SIGKILL" });
  } catch (e) {
    const x = e as Error & { stdout?: string; stderr?: string };
    throw new Error(`${args.join(" ")} failed: ${x.message}\n--- stdout\n${x.stdout ?? ""}\n--- stderr\n${x.stderr ?? ""}`);
  }
}

describe("examples", function () {
  it("pipeline.mjs: ordered counters, named lookup, a pipeline and a stream", async () => {
    const { stdout } = await run(process.execPath, ["examples/pipeline.mjs"], { cwd: ROOT, timeout: 50_000 });
    expect(stdout).to.match(/last reply 100, replies in order: true/);
    expect(stdout).to.match(/named lookup of 'a': 100/);
    expect(stdout).to.match(/words sent through the pipeline: 11/);
    expect(stdout).to.match(/top words: \[\["the",3\]/);
    expect(stdout).to.match(/streamed: streamed \| one \| word \| at \| a \| time/);
  });

  it("pool.mjs: a STRICT_SPREAD group over 4 nodes and a pool that maps every item", async () => {
    const { stdout } = await run(process.execPath, ["examples/pool.mjs"], { cwd: ROOT, timeout: 50_000 });
    expect(stdout).to.match(/bundles on 4 distinct nodes/);
    expect(stdout).to.match(/mapped 40 items; first: \{"x":20000,"primes":2262/);
    expect(stdout).to.match(/distinct worker processes: 4/);
  });
});
