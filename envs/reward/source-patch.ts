// What the reward measures: the agent's change to the repository's source, and nothing else it
// did. From the final diff, changes to test infrastructure are dropped — anything that can
// change how tests are collected, run or reported rather than what the code does: conftest.py,
// pytest and tox configuration, sitecustomize/usercustomize, .pth files, and the files the
// hidden tests replace. setup.cfg and pyproject.toml keep their changes unless these touch their
// pytest sections (checked against the base, in the sandbox; see pytestSectionsDiffer).
import { parse as parseToml } from "smol-toml";

const INFRASTRUCTURE = new Set(["conftest.py", "pytest.ini", "tox.ini", "sitecustomize.py", "usercustomize.py"]);

export interface SourcePatch {
  /** The diff with test infrastructure taken out. */
  patch: string;
  /** The files whose changes were taken out. */
  dropped: string[];
}

/** Splits a git diff into its files' sections: [path, text]. */
export function diffSections(patch: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const part of patch.split(/^(?=diff --git )/m)) {
    const m = /^diff --git a\/(.*?) b\/(.*)$/m.exec(part);
    if (m) out.push([m[2], part]);
  }
  return out;
}

export function isTestInfrastructure(path: string, hiddenTestFiles: ReadonlySet<string>): boolean {
  const name = path.split("/").at(-1)!;
  return INFRASTRUCTURE.has(name) || name.endsWith(".pth") || hiddenTestFiles.has(path);
}

export function sourcePatch(patch: string, hiddenTestFiles: Iterable<string>): SourcePatch {
  const hidden = new Set(hiddenTestFiles);
  const kept: string[] = [];
  const dropped: string[] = [];
  for (const [path, text] of diffSections(patch)) (isTestInfrastructure(path, hidden) ? dropped.push(path) : kept.push(text));
  return { patch: kept.join(""), dropped };
}

/** Files whose pytest sections must not change (their other changes are the agent's to make). */
export const CONFIG_WITH_PYTEST = ["setup.cfg", "pyproject.toml"];

/**
 * Whether a setup.cfg's `[tool:pytest]`/`[pytest]` section or a pyproject.toml's `[tool.pytest…]`
 * tables differ between two versions of the file (undefined: the file does not exist).
 */
export function pytestSectionsDiffer(file: string, before: string | undefined, after: string | undefined): boolean {
  const sections = (text: string | undefined) => {
    if (text === undefined) return "";
    if (file.endsWith(".toml")) {
      try {
        return JSON.stringify((parseToml(text) as { tool?: { pytest?: unknown } }).tool?.pytest ?? null);
      } catch {
        return `unparsable:${text}`;  // a file that no longer parses cannot be shown to leave pytest alone
      }
    }
    const out: string[] = [];
    let inside = false;
    for (const line of text.split("\n")) {
      const header = /^\s*\[([^\]]+)\]/.exec(line);
      if (header) inside = ["tool:pytest", "pytest"].includes(header[1].trim());
      if (inside && line.trim() && !/^\s*[#;]/.test(line)) out.push(line.trim());
    }
    return out.join("\n");
  };
  return sections(before) !== sections(after);
}
