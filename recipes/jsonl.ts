// JSON-lines files the recipes append to as they go (metrics, results, predictions) and read
// back to resume after a crash.
import { existsSync, readFileSync } from "node:fs";

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
