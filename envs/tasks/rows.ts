// Dataset rows (row-formats.ts) in JSONL or Parquet, as the hub stores datasets. A malformed row
// is reported with its line (or row) number and field and skipped; the other rows still load.
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet";
import { TaskFormatError } from "../errors.js";
import { rowToTask, type RowOptions } from "./row-formats.js";
import type { Task } from "./task.js";

export interface LoadResult {
  tasks: Task[];
  errors: TaskFormatError[];
}

/** Loads a JSONL file of SWE-bench or R2E-Gym rows (each row's kind is recognised by its fields). */
export function loadJsonl(file: string, opts: RowOptions = {}): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new TaskFormatError(file, "", `cannot read: ${(e as Error).message}`);
  }
  const out: LoadResult = { tasks: [], errors: [] };
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    const where = `${file}:${i + 1}`;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (e) {
      out.errors.push(new TaskFormatError(where, "", `not JSON: ${(e as Error).message}`));
      return;
    }
    addRow(out, row, where, { rowsDir: dirname(file), ...opts });
  });
  return out;
}

/**
 * Loads a Parquet file of the same rows, read by hyparquet (JavaScript only, no native code).
 * 64-bit integers come back as numbers, as JSON would have them.
 */
export async function loadParquet(file: string, opts: RowOptions = {}): Promise<LoadResult> {
  let rows: Record<string, unknown>[];
  try {
    rows = await parquetReadObjects({ file: await asyncBufferFromFile(file) });
  } catch (e) {
    throw new TaskFormatError(file, "", `cannot read as Parquet: ${(e as Error).message}`);
  }
  const out: LoadResult = { tasks: [], errors: [] };
  rows.forEach((row, i) => {
    const plain = Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === "bigint" ? Number(v) : v]));
    addRow(out, plain, `${file}: row ${i + 1}`, { rowsDir: dirname(file), ...opts });
  });
  return out;
}

function addRow(out: LoadResult, row: unknown, where: string, opts: RowOptions): void {
  try {
    out.tasks.push(rowToTask(row, where, opts));
  } catch (e) {
    out.errors.push(e as TaskFormatError);
  }
}
