// plot.html: reward and solve rates per step as a self-contained page (inline SVG, no scripts),
// with the fixed evaluation's pass@1 before and after RL as dashed levels.

export interface PlotRow {
  step: number;
  reward_mean: number;
  solve_all: number;
  solve_none: number;
  solve_partial: number;
  val_reward?: number;
}

/** A horizontal level across the plot (the evaluation's pass@1). */
export interface PlotMark {
  label: string;
  value: number;
}

export function plotHtml(rows: PlotRow[], title: string, marks: PlotMark[] = []): string {
  const W = 640, H = 320, pad = 40;
  const maxStep = Math.max(1, ...rows.map((r) => r.step));
  const x = (s: number) => pad + ((W - 2 * pad) * (s - 1)) / Math.max(1, maxStep - 1);
  const y = (v: number) => H - pad - (H - 2 * pad) * v;
  const groups = (r: PlotRow) => Math.max(1, r.solve_all + r.solve_none + r.solve_partial);
  const series: [string, string, (r: PlotRow) => number | undefined][] = [
    ["reward (mean)", "#1f77b4", (r) => r.reward_mean],
    ["solve_all", "#2ca02c", (r) => r.solve_all / groups(r)],
    ["solve_partial", "#ff7f0e", (r) => r.solve_partial / groups(r)],
    ["validation reward", "#d62728", (r) => r.val_reward],
  ];
  const lines = series.map(([name, color, f], i) => {
    const pts = rows.filter((r) => f(r) !== undefined).map((r) => `${x(r.step).toFixed(1)},${y(f(r)!).toFixed(1)}`);
    return `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(" ")}"/>` +
      `<text x="${W - pad - 130}" y="${pad + 14 * i}" fill="${color}" font-size="12">${name}</text>`;
  });
  const levels = marks.map((m, i) => `<line x1="${pad}" y1="${y(m.value).toFixed(1)}" x2="${W - pad}" y2="${y(m.value).toFixed(1)}" stroke="#7f7f7f" stroke-dasharray="5,4"/>` +
    `<text x="${pad + 6 + 200 * i}" y="${(y(m.value) - 4).toFixed(1)}" fill="#7f7f7f" font-size="11">${escape(m.label)}</text>`);
  const axes = `<line x1="${pad}" y1="${H - pad}" x2="${W - pad}" y2="${H - pad}" stroke="#000"/><line x1="${pad}" y1="${pad}" x2="${pad}" y2="${H - pad}" stroke="#000"/>` +
    `<text x="${pad - 28}" y="${y(1) + 4}" font-size="11">1.0</text><text x="${pad - 28}" y="${y(0) + 4}" font-size="11">0.0</text>` +
    `<text x="${W / 2}" y="${H - 8}" font-size="12">step (1 … ${maxStep})</text>`;
  return `<!doctype html><meta charset="utf-8"><title>${escape(title)}</title><h3 style="font-family:sans-serif">${escape(title)}</h3>` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" style="font-family:sans-serif">${axes}${levels.join("")}${lines.join("")}</svg>`;
}

function escape(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}
