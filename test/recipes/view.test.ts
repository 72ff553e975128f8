// `node driver.js view`: the page of an evaluation and of a training run, opened offline in
// Debian's Chromium (driven by playwright-core, no browser download): it shows the counts the
// folder holds, filters, opens a trajectory's conversation, trace and candidates. Screenshots
// go to test-output/ (kept after the run).
import { expect } from "chai";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import type { TaskRow } from "../../recipes/index.js";
import type { Trajectory } from "../../rl/index.js";
import { dockerEnv } from "../envs/helpers.js";
import { driver, ROOT } from "../helpers.js";

const CHROMIUM = "/usr/bin/chromium";
const SHOTS = join(ROOT, "test-output");
const lines = <T>(file: string): T[] => readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as T);

describe("the run viewer", function () {
  this.timeout(300_000);
  let dir: string;
  let browser: Browser;
  before(async () => {
    await dockerEnv();
    dir = mkdtempSync(join(tmpdir(), "troupe-view-"));
    mkdirSync(SHOTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
  });
  after(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The page of `file`, offline: any request that leaves the file fails the test. */
  async function open(file: string, hash = ""): Promise<{ page: Page; problems: string[] }> {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, offline: true });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(e.message));
    page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
    page.on("request", (r) => !r.url().startsWith("file://") && problems.push(`request to ${r.url()}`));
    await page.goto(`file://${file}${hash}`);
    return { page, problems };
  }

  it("an evaluation: its counts, filters, a trajectory's turns and trace, and the task's candidates side by side", async () => {
    const out = join(dir, "eval");
    const e = await driver(["eval", "--tasks", "bundled:validation", "--model", "replay:gold", "--k", "2", "--parallel", "2", "--out", out]);
    expect(e.code, e.stderr).to.equal(0);
    const v = await driver(["view", out]);
    expect(v.code, v.stderr).to.equal(0);
    const rows = lines<TaskRow>(join(out, "results.jsonl"));
    const trs = lines<Trajectory>(join(out, "trajectories.jsonl"));
    expect(v.stdout).to.include(`${trs.length} trajectories of ${rows.length} tasks`);
    const { page, problems } = await open(join(out, "view.html"));
    try {
      expect(await page.textContent("#count-trajectories")).to.equal(String(trs.length));
      expect(await page.textContent("#count-tasks")).to.equal(String(rows.length));
      expect(await page.textContent("#count-solved")).to.equal(String(trs.filter((t) => t.reward === 1).length));
      expect(await page.locator("tbody tr").count()).to.equal(trs.length);
      await page.screenshot({ path: join(SHOTS, "view-eval-table.png") });
      // Filters: one task's rows only.
      const task = trs[3].taskId;
      await page.fill("#f-task", task);
      expect(await page.locator("tbody tr").count()).to.equal(trs.filter((t) => t.taskId === task).length);
      // Opening one: its turns are the prompt's two and a reply and an observation per step but the last.
      await page.click(`tbody tr[data-i="3"]`);
      await page.waitForSelector("#conversation");
      const t = trs[3];
      expect(await page.locator("#conversation .turn.assistant").count()).to.equal(t.steps);
      expect(await page.locator("#conversation .turn.tool").count()).to.equal(t.steps - 1);
      expect(await page.textContent("#conversation .turn.user")).to.include("Resolve this issue");
      expect(await page.locator("#conversation .call").first().textContent()).to.match(/^file_editor /);
      expect(await page.locator(".tests tr").count()).to.equal(Object.keys(t.tests ?? {}).length);
      // Its trace: the agent's span and one chat per step among the bars.
      const bars = await page.locator("#waterfall .row").allTextContents();
      expect(bars.filter((b) => b.startsWith("invoke_agent troupe-swe"))).to.have.length(1);
      expect(bars.filter((b) => /^chat /.test(b.trim()))).to.have.length(t.steps);
      // The task's k candidates side by side, the chosen ones marked.
      const row = rows.find((r) => r.task_id === task)!;
      expect(await page.locator("#candidates .cand").count()).to.equal(row.k);
      expect(await page.locator("#candidates .cand.chosen").count()).to.equal(row.candidates.filter((c) => c.chosen_by.length).length);
      await page.screenshot({ path: join(SHOTS, "view-eval-trajectory.png"), fullPage: true });
      expect(problems).to.deep.equal([]);
    } finally {
      await page.context().close();
    }
    // A large run stays usable: 2,000 trajectories (this evaluation's, repeated), the table drawn
    // 100 rows at a time, a trajectory's details parsed only when it is opened.
    const big = join(dir, "big");
    mkdirSync(big);
    const text = readFileSync(join(out, "trajectories.jsonl"), "utf8");
    const copies = Math.ceil(2000 / trs.length), n = copies * trs.length;
    writeFileSync(join(big, "trajectories.jsonl"), text.repeat(copies));
    expect((await driver(["view", big])).code).to.equal(0);
    const { page: large, problems: largeProblems } = await open(join(big, "view.html"), `#t=${n - 1}`);
    try {
      expect(await large.textContent("#shown")).to.equal(`showing 100 of ${n}`);
      expect(await large.locator("tbody tr").count()).to.equal(100);
      await large.click("#more");
      expect(await large.locator("tbody tr").count()).to.equal(200);
      expect(await large.textContent("#detail-title")).to.include(trs[trs.length - 1].taskId);
      expect(largeProblems).to.deep.equal([]);
    } finally {
      await large.context().close();
    }
    // A deep link opens the trajectory it names.
    const { page: linked } = await open(join(out, "view.html"), "#t=5");
    try {
      expect(await linked.textContent("#detail-title")).to.include(`${trs[5].taskId} · rollout ${trs[5].rolloutIndex}`);
    } finally {
      await linked.context().close();
    }
  });

  it("a training run: a curve point per step, the trajectories of each step, and a folder that is no run refused in one line", async () => {
    const out = join(dir, "train");
    const r = await driver(["--recipe", "deepswe", "--profile", "smoke", "--set", "rollout.goldPerGroup=1", "--set", "warmup.epochs=0", "--set", "schedule.steps=2", "--out", out], { timeoutMs: 280_000 });
    expect(r.code, r.stderr).to.equal(0);
    const v = await driver(["view", out, "--out", join(dir, "train.html")]);
    expect(v.code, v.stderr).to.equal(0);
    const trs = lines<Trajectory & { step: number }>(join(out, "trajectories.jsonl"));
    const { page, problems } = await open(join(dir, "train.html"));
    try {
      expect(await page.textContent("#kind")).to.equal("training");
      expect(await page.textContent("#count-trajectories")).to.equal(String(trs.length));
      const points = (await page.getAttribute('#curve polyline[data-series="reward (mean)"]', "points"))!.trim().split(/\s+/);
      expect(points).to.have.length(2);
      await page.selectOption("#f-step", "2");
      expect(await page.locator("tbody tr").count()).to.equal(trs.filter((t) => t.step === 2).length);
      await page.locator("tbody tr").first().click();
      await page.waitForSelector("#conversation");
      expect(await page.locator("#waterfall .row").count()).to.be.above(0);
      await page.screenshot({ path: join(SHOTS, "view-training.png"), fullPage: true });
      expect(problems).to.deep.equal([]);
    } finally {
      await page.context().close();
    }
    const bad = await driver(["view", join(dir, "nothing-here")]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr.trim()).to.match(/^troupe: view: .*nothing-here: no such folder$/);
  });
});
