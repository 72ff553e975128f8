// A checkpoint (Troupe's, a ZeRO group's, or any Hugging Face folder the worker loads) written
// out in Hugging Face's consolidated layout: config.json, model-0000K-of-0000N.safetensors with
// model.safetensors.index.json, and the tokenizer's files when a folder holding them is known,
// so that transformers' from_pretrained and vLLM serve it as it is.
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { NativeWorker } from "./worker.js";

/** A model folder's tokenizer and generation files, as the hub ships them. */
export const TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json", "added_tokens.json", "generation_config.json"];

export interface ExportOptions {
  /** bf16 (the default: Qwen3's published dtype) or fp32 (bit-exact). */
  dtype?: "bf16" | "fp32";
  /** Largest file in bytes (default 5 GiB, as transformers' save_pretrained). */
  maxShardBytes?: number;
  /** Folders to take the tokenizer's files from, first found wins (the checkpoint itself is tried first). */
  tokenizerFrom?: string[];
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
    const source = [checkpoint, ...(opts.tokenizerFrom ?? [])].find((d) => TOKENIZER_FILES.some((f) => existsSync(join(d, f))));
    const tokenizerFiles = source ? TOKENIZER_FILES.filter((f) => existsSync(join(source, f))) : [];
    mkdirSync(tmp, { recursive: true });
    for (const f of tokenizerFiles) copyFileSync(join(source!, f), join(tmp, f));
    renameSync(tmp, out);
    return { files, tokenizerFiles };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  } finally {
    await w.close();
  }
}
