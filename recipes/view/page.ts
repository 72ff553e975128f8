// The viewer's page: one self-contained HTML file (inline style and script, the run's data as
// JSON inside it; nothing fetched). The table draws rows a page at a time; a trajectory's
// conversation, diff, tests and spans sit in a JSON element of their own, parsed only when it is
// opened, so a run of thousands loads no more than its table.
import type { ViewData } from "./load.js";

/** JSON that is safe inside a <script> element (no "</script>", no "<!--"). */
function scriptJson(x: unknown): string {
  return JSON.stringify(x).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

export function viewHtml(data: ViewData): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(data.title)} · Troupe</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<style>${STYLE}</style></head>
<body>
<header><h1>${escapeHtml(data.title)}</h1><span id="kind">${data.kind}</span>
<span class="counts">trajectories <b id="count-trajectories"></b> · tasks <b id="count-tasks"></b> · reward 1 <b id="count-solved"></b></span></header>
<section id="summary"></section>
<section id="curves"></section>
<section id="filters">
<input id="f-task" placeholder="task id contains…">
<select id="f-reward"><option value="">any reward</option><option value="1">reward 1</option><option value="0">reward 0</option></select>
<select id="f-termination"><option value="">any termination</option></select>
<select id="f-step"><option value="">any step</option></select>
<span id="shown"></span></section>
<table id="table"><thead><tr><th>#</th><th>task</th><th>rollout</th><th>step</th><th>reward</th><th>termination</th><th>steps</th><th>tokens</th><th>generated</th><th>version</th></tr></thead><tbody></tbody></table>
<button id="more">show more</button>
<section id="detail" hidden></section>
<script id="data" type="application/json">${scriptJson({ ...data, trajectories: data.trajectories.map(({ turns: _t, spans: _s, patch: _p, tests: _x, ...row }) => row) })}</script>
${data.trajectories.map((t) => `<script id="d-${t.i}" type="application/json">${scriptJson({ turns: t.turns, spans: t.spans, patch: t.patch, tests: t.tests })}</script>`).join("\n")}
<script>${SCRIPT}</script>
</body></html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
body{font:14px system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fafafa}
header{display:flex;gap:16px;align-items:baseline;padding:12px 20px;background:#24292f;color:#fff}
header h1{font-size:18px;margin:0} #kind{opacity:.7} .counts{margin-left:auto}
section{padding:8px 20px} #filters{display:flex;gap:8px;align-items:center}
table{border-collapse:collapse;margin:0 20px;width:calc(100% - 40px);background:#fff}
th,td{padding:4px 8px;border-bottom:1px solid #e4e4e4;text-align:left} tbody tr{cursor:pointer}
tbody tr:hover{background:#eef4ff} .r1{color:#1a7f37;font-weight:600} .r0{color:#cf222e}
#more{margin:8px 20px}
#detail{border-top:2px solid #24292f;background:#fff}
.cols{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:16px}
.turn{border-left:4px solid #ccc;margin:6px 0;padding:4px 8px;background:#f6f8fa}
.turn.assistant{border-color:#0969da} .turn.tool{border-color:#8250df} .turn.system{border-color:#999} .turn.user{border-color:#1a7f37}
.role{font-weight:600;font-size:12px;text-transform:uppercase;color:#555}
.call{display:inline-block;text-transform:none;margin-left:8px;padding:0 6px;border-radius:8px;background:#ddf4ff;font-size:12px}
.call.bad{background:#ffebe9}
pre{white-space:pre-wrap;word-break:break-word;margin:4px 0;font:12px ui-monospace,monospace}
.diff .add{color:#1a7f37} .diff .del{color:#cf222e} .diff .hunk{color:#8250df}
.wf{position:relative;font-size:11px} .wf .row{position:relative;height:18px;margin:1px 0}
.wf .bar{position:absolute;height:14px;top:2px;background:#54aeff;border-radius:2px;min-width:2px}
.wf .bar.err{background:#ff8182} .wf .label{position:absolute;left:0;top:2px;white-space:nowrap;pointer-events:none}
.cands{display:grid;gap:8px} .cand{border:1px solid #d0d7de;padding:6px;background:#fff;min-width:0}
.cand.chosen{border-color:#1a7f37;box-shadow:0 0 0 1px #1a7f37}
.tests td{padding:1px 6px;font-size:12px}
svg text{font-size:11px}
`;

// The page's script: plain DOM, no library.
const SCRIPT = String.raw`
const D = JSON.parse(document.getElementById("data").textContent);
const T = D.trajectories;
const details = new Map();
const detail = (i) => details.get(i) || details.set(i, JSON.parse(document.getElementById("d-" + i).textContent)).get(i);
const $ = (id) => document.getElementById(id);
const el = (tag, attrs, ...kids) => { const e = document.createElement(tag); for (const [k, v] of Object.entries(attrs || {})) { if (k === "class") e.className = v; else if (k === "onclick") e.onclick = v; else e.setAttribute(k, v); } for (const k of kids) e.append(k instanceof Node ? k : String(k ?? "")); return e; };
const PAGE = 100;

$("count-trajectories").textContent = T.length;
$("count-tasks").textContent = new Set(T.map((t) => t.task).concat(D.results.map((r) => r.task_id))).size;
$("count-solved").textContent = T.filter((t) => t.reward === 1).length;

// Summary: an evaluation's pass rates and rules; a training run's last step.
(function summary() {
  const s = $("summary");
  if (D.results.length) {
    const mean = (f) => D.results.reduce((a, r) => a + f(r), 0) / D.results.length;
    const pct = (x) => (100 * x).toFixed(1) + "%";
    const rules = [...new Set(D.results.flatMap((r) => Object.keys(r.selected || {})))];
    s.append(el("p", { id: "eval-summary" }, "pass@1 " + pct(mean((r) => r.pass_at_1)) + " · pass@k " + pct(mean((r) => r.pass_at_k)) +
      rules.map((x) => " · " + x + " " + pct(mean((r) => (r.selected && r.selected[x] ? r.selected[x].reward : 0)))).join("")));
  }
  if (D.metrics.length) {
    const last = D.metrics[D.metrics.length - 1];
    s.append(el("p", {}, "steps " + D.metrics.length + " · last reward mean " + Number(last.reward_mean).toFixed(3)));
  }
})();

// Curves: reward and solve rates per step (training).
(function curves() {
  if (!D.metrics.length) return;
  const W = 640, H = 240, P = 36, rows = D.metrics;
  const steps = rows.map((r) => r.step), s0 = Math.min(...steps), s1 = Math.max(...steps, s0 + 1);
  const x = (s) => P + (W - 2 * P) * (s - s0) / (s1 - s0), y = (v) => H - P - (H - 2 * P) * v;
  const groups = (r) => Math.max(1, r.solve_all + r.solve_none + r.solve_partial);
  const series = [["reward (mean)", "#0969da", (r) => r.reward_mean], ["solve_all", "#1a7f37", (r) => r.solve_all / groups(r)],
    ["solve_partial", "#bf8700", (r) => r.solve_partial / groups(r)], ["validation reward", "#cf222e", (r) => r.val_reward]];
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("id", "curve"); svg.setAttribute("width", W); svg.setAttribute("height", H);
  const add = (tag, a, text) => { const e = document.createElementNS(ns, tag); for (const k in a) e.setAttribute(k, a[k]); if (text) e.textContent = text; svg.append(e); return e; };
  add("line", { x1: P, y1: H - P, x2: W - P, y2: H - P, stroke: "#000" }); add("line", { x1: P, y1: P, x2: P, y2: H - P, stroke: "#000" });
  add("text", { x: 4, y: y(1) + 4 }, "1.0"); add("text", { x: 4, y: y(0) + 4 }, "0.0"); add("text", { x: W / 2 - 30, y: H - 6 }, "step " + s0 + "…" + s1);
  series.forEach(([name, color, f], i) => {
    const pts = rows.filter((r) => f(r) !== undefined && f(r) !== null).map((r) => x(r.step).toFixed(1) + "," + y(f(r)).toFixed(1));
    if (!pts.length) return;
    add("polyline", { fill: "none", stroke: color, "stroke-width": 2, points: pts.join(" "), "data-series": name });
    add("text", { x: W - P - 120, y: P + 13 * i, fill: color }, name);
  });
  $("curves").append(svg);
})();

// Filters over the table.
const uniq = (xs) => [...new Set(xs)].filter((v) => v !== undefined && v !== null).sort((a, b) => (a < b ? -1 : 1));
for (const v of uniq(T.map((t) => t.termination))) $("f-termination").append(el("option", { value: v }, v));
for (const v of uniq(T.map((t) => t.step))) $("f-step").append(el("option", { value: v }, "step " + v));
if (!T.some((t) => t.step !== undefined)) $("f-step").hidden = true;
let matches = [], drawn = 0;
function filter() {
  const task = $("f-task").value.trim(), reward = $("f-reward").value, term = $("f-termination").value, step = $("f-step").value;
  matches = T.filter((t) => (!task || t.task.includes(task)) && (reward === "" || String(t.reward) === reward) &&
    (!term || t.termination === term) && (step === "" || String(t.step) === step));
  $("table").tBodies[0].replaceChildren(); drawn = 0; more();
}
function more() {
  const body = $("table").tBodies[0];
  for (const t of matches.slice(drawn, drawn + PAGE)) {
    body.append(el("tr", { "data-i": t.i, onclick: () => open(t.i) }, el("td", {}, t.i), el("td", {}, t.task), el("td", {}, t.rollout), el("td", {}, t.step ?? ""),
      el("td", { class: t.reward === 1 ? "r1" : "r0" }, t.reward), el("td", {}, t.termination), el("td", {}, t.steps), el("td", {}, t.tokens), el("td", {}, t.generated), el("td", {}, t.version ?? "")));
  }
  drawn = Math.min(matches.length, drawn + PAGE);
  $("shown").textContent = "showing " + drawn + " of " + matches.length;
  $("more").hidden = drawn >= matches.length;
}
for (const id of ["f-task", "f-reward", "f-termination", "f-step"]) $(id).addEventListener("input", filter);
$("more").onclick = more;

// One trajectory: its candidates' comparison, the conversation, the diff and tests, the waterfall.
function diffView(patch) {
  const pre = el("pre", { class: "diff" });
  for (const line of (patch || "").split("\n")) {
    const cls = line.startsWith("+") && !line.startsWith("+++") ? "add" : line.startsWith("-") && !line.startsWith("---") ? "del" : line.startsWith("@@") ? "hunk" : "";
    pre.append(el("span", { class: cls }, line + "\n"));
  }
  return pre;
}
function clipped(text, n) {
  if (text.length <= n) return el("pre", {}, text);
  const pre = el("pre", {}, text.slice(0, n) + "…");
  const b = el("button", { onclick: () => { pre.textContent = text; b.remove(); } }, "show all " + text.length + " characters");
  return el("div", {}, pre, b);
}
function turnView(u) {
  const head = el("div", { class: "role" }, u.role);
  if (u.tool) head.append(u.tool.error ? el("span", { class: "call bad" }, "no tool call: " + u.tool.error) : el("span", { class: "call" }, u.tool.name + " " + Object.entries(u.tool.params).map(([k, v]) => k + "=" + (v.length > 40 ? v.slice(0, 40) + "…" : v)).join(" ")));
  return el("div", { class: "turn " + u.role }, head, clipped(u.text, u.role === "system" ? 600 : 4000));
}
function waterfall(spans) {
  const box = el("div", { class: "wf", id: "waterfall" });
  if (!spans.length) { box.append("no spans (the run was not traced, or its traces.jsonl is gone)"); return box; }
  const end = Math.max(...spans.map((s) => s.start + s.ms)) || 1;
  const depth = new Map(), byId = new Map(spans.map((s) => [s.id, s]));
  const d = (s) => { if (depth.has(s.id)) return depth.get(s.id); const p = s.parent && byId.get(s.parent); const v = p ? d(p) + 1 : 0; depth.set(s.id, v); return v; };
  for (const s of spans) {
    const left = (100 * s.start) / end, width = (100 * s.ms) / end;
    box.append(el("div", { class: "row", title: s.name + " · " + s.service + " · " + s.ms.toFixed(1) + " ms" },
      el("div", { class: "bar" + (s.error ? " err" : ""), style: "left:" + left + "%;width:" + width + "%" }),
      el("span", { class: "label", style: "padding-left:" + 8 * d(s) + "px" }, s.name + " (" + s.ms.toFixed(0) + " ms)")));
  }
  return box;
}
function candidates(t) {
  const row = D.results.find((r) => r.task_id === t.task);
  if (!row || !row.candidates || row.candidates.length < 2) return null;
  const grid = el("div", { class: "cands", id: "candidates", style: "grid-template-columns:repeat(" + row.candidates.length + ",minmax(0,1fr))" });
  for (const c of row.candidates) {
    const tr = T.find((x) => x.task === t.task && x.rollout === c.index);
    const scores = ["reward " + c.reward, "regression " + (c.regression_passed ?? "–")].concat(c.verifier !== undefined ? ["P(YES) " + c.verifier.toFixed(3)] : [], c.repro !== undefined ? ["repro " + c.repro] : []);
    grid.append(el("div", { class: "cand" + (c.chosen_by.length ? " chosen" : "") },
      el("b", {}, "candidate " + c.index + (tr && tr.i === t.i ? " (this one)" : "")), el("div", {}, scores.join(" · ")),
      el("div", {}, c.chosen_by.length ? "chosen by " + c.chosen_by.join(", ") : "not chosen"),
      tr ? el("a", { href: "#t=" + tr.i }, "open") : "", diffView(tr ? detail(tr.i).patch : "")));
  }
  return el("div", {}, el("h3", {}, "Candidates of " + t.task + (row.submitted_by ? " (submitted: " + row.submitted_by + "'s choice)" : "")), grid);
}
function open(i) {
  if (!T[i]) return;
  const t = { ...T[i], ...detail(i) };
  if (location.hash !== "#t=" + i) history.replaceState(null, "", "#t=" + i);
  const det = $("detail");
  det.hidden = false;
  const head = el("h2", { id: "detail-title" }, t.task + " · rollout " + t.rollout + (t.step !== undefined ? " · step " + t.step : "") + " · reward " + t.reward + " · " + t.termination);
  const conv = el("div", { id: "conversation" }, ...t.turns.map(turnView));
  const tests = el("table", { class: "tests" }, ...Object.entries(t.tests || {}).map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", { class: v === "PASSED" ? "r1" : "r0" }, v))));
  det.replaceChildren(head, el("div", {}, t.policy + (t.version !== undefined ? " v" + t.version : "") + (t.error ? " · error: " + t.error : "")));
  const cands = candidates(t);
  if (cands) det.append(cands);
  det.append(el("div", { class: "cols" },
    el("div", {}, el("h3", {}, "Conversation (" + t.turns.length + " turns)"), conv, el("h3", {}, "Final diff"), diffView(t.patch), el("h3", {}, "Hidden tests"), tests),
    el("div", {}, el("h3", {}, "Trace"), waterfall(t.spans))));
  det.scrollIntoView();
}
window.addEventListener("hashchange", () => { const m = /^#t=(\d+)$/.exec(location.hash); if (m) open(Number(m[1])); });
filter();
const m0 = /^#t=(\d+)$/.exec(location.hash);
if (m0) open(Number(m0[1]));
`;
