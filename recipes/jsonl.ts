// JSON-lines files the recipes append to as they go (metrics, results, predictions) and read
// back to resume after a crash.
import { once } from "node:events";
import { createReadStream, createWriteStream, existsSync, readFileSync, renameSync } from "node:fs";
import { createInterface } from "node:readline";

/** The JSON lines of a file, none when it does not exist; a line cut short by a crash is dropped. */
export function readJsonl<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8").split("\n").filter(Boolean).flatMap((l) => {
    try {
      return [JSON.parse(l) as T];
    } catch {
      return [];
    }
  });
}

/**
 * Keeps the rows of a step-keyed JSON-lines file up to `lastStep` (what a resume redoes is
 * dropped), streaming, and replaces the file atomically so a crash now loses nothing.
 */
export async function keepStepsUpTo(file: string, lastStep: number): Promise<void> {
  if (!existsSync(file)) return;
  const tmp = `${file}.tmp`;
  const out = createWriteStream(tmp);
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (stepOf(line) <= lastStep && !out.write(line + "\n")) await once(out, "drain");
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  renameSync(tmp, file);
}

/** A row's step: rows are written as {"step":N,…}, so the prefix says it without parsing the rest. */
function stepOf(line: string): number {
  const m = /^\{"step":(\d+)[,}]/.exec(line);
  if (m) return Number(m[1]);
  try {
    return Number((JSON.parse(line) as { step?: number }).step ?? Infinity);
  } catch {
    return Infinity;  // cut short by a crash
  }
}
