// Text shaping for observations: clipping and middle truncation.

/** Keeps the first and last `keep` lines of text longer than `max` lines, with a note between. */
export function truncateMiddleLines(text: string, max = 80, keep = 40): string {
  const lines = text.split("\n");
  if (text.endsWith("\n")) lines.pop();
  if (lines.length <= max) return text;
  const omitted = lines.length - 2 * keep;
  return [...lines.slice(0, keep), `[... ${omitted} lines omitted ...]`, ...lines.slice(-keep)].join("\n") + "\n";
}

/** Clips text at `max` characters with a note saying so (file_editor's 10,000-character rule). */
export function clip(text: string, max = 10_000): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}\n<response clipped: only the first ${max} characters are shown; view a smaller range>`;
}

/** `cat -n` style numbering, starting at line `first`. */
export function numberLines(lines: string[], first = 1): string {
  return lines.map((l, i) => `${String(i + first).padStart(6)}\t${l}`).join("\n");
}
