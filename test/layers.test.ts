// The folders import each other only the way ARCHITECTURE.md draws them, as checked by the
// shared tool beside the project (../shared/tools/layers.mjs, there in CI).
import { expect } from "chai";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { ROOT } from "./helpers.js";

const TOOL = join(ROOT, "..", "shared", "tools", "layers.mjs");

describe("layers", () => {
  it("no folder imports one it must never import", async function () {
    if (!existsSync(TOOL)) this.skip();  // a checkout without ../shared beside it
    const r = await promisify(execFile)(process.execPath, [TOOL, ROOT]).catch((e) => e);
    expect(r.code ?? 0, `${r.stdout}${r.stderr}`).to.equal(0);
    expect(r.stdout).to.match(/layers hold \(\d+ cross-folder imports read\)/);
  });
});
