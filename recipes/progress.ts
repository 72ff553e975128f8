// Progress of a phase: a bar redrawn in place on a terminal, plain lines elsewhere (CI logs).

export type ProgressSink = (line: string, final: boolean) => void;

/** Writes to stderr: `\r` redraws on a TTY; otherwise only every `every`-th update and the last. */
export function stderrProgress(every = 1): ProgressSink {
  let n = 0;
  return (line, final) => {
    if (process.stderr.isTTY) process.stderr.write(final ? `\r${line}\n` : `\r${line}`);
    else if (final || ++n % every === 0) process.stderr.write(`${line}\n`);
  };
}

/** `[#####.....] 12/40 label, extra, 31s` */
export function progressBar(label: string, done: number, total: number, t0: number, extra = ""): string {
  const width = 30;
  const filled = Math.round((done / Math.max(1, total)) * width);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total} ${label}${extra ? `, ${extra}` : ""}, ${((Date.now() - t0) / 1000).toFixed(0)}s`;
}
