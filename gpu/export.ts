// A checkpoint (Troupe's, a ZeRO group's, or any Hugging Face folder the worker loads) written
// out in Hugging Face's consolidated layout: config.json, model-0000K-of-0000N.safetensors with
// model.safetensors.index.json, and the tokenizer's files (written by the caller, who knows them),
// so that transformers' from_pretrained and vLLM serve it as it is.
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { NativeWorker } from "./worker.js";

export interface ExportOptions {
  /** bf16 (the default: Qwen3's published dtype) or fp32 (bit-exact). */
  dtype?: "bf16" | "fp32";
  /** Largest file in bytes (default 5 GiB, as transformers' save_pretrained). */
  maxShardBytes?: number;
  /** Writes the tokenizer's files into the folder being written; returns their names (llm's writeTokenizerFiles). */
  writeTokenizer?: (dir: string) => string[];
}

export interface ExportResult {
  files: string[];
  tokenizerFiles: string[];
}

/** What is wrong with exporting `checkpoint` to `out`, if anything. */
export function exportProblem(checkpoint: string, out: string): string | undefined {
  if (!existsSync(join(checkpoint, "config.json"))) return `export: ${checkpoint} is not a checkpoint folder (no config.json)`;
  if (existsSync(out)) return `export: ${out} exists; give a new folder`;
  return undefined;
}

/** Writes `checkpoint`'s weights to `out` (a fresh folder renamed into place: never half written). */
export async function exportCheckpoint(checkpoint: string, out: string, opts: ExportOptions = {}): Promise<ExportResult> {
  const problem = exportProblem(checkpoint, out);
  if (problem) throw new Error(problem);
  const tmp = `${out}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  // One thread suffices: the worker only reads and writes files here.
  const w = await NativeWorker.start({ backend: "reference", threads: 1 });
  try {
    await w.load(checkpoint);
    const files = await w.exportHF(tmp, { dtype: opts.dtype ?? "bf16", maxShardBytes: opts.maxShardBytes });
    mkdirSync(tmp, { recursive: true });
    const tokenizerFiles = opts.writeTokenizer?.(tmp) ?? [];
    renameSync(tmp, out);
    return { files, tokenizerFiles };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  } finally {
    await w.close();
  }
}
