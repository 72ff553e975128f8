// The agent's action format (DEEPSWE.md): free reasoning, then one block
//   <function=NAME><parameter=KEY>VALUE</parameter>…</function>
// Only the first block counts. A reply without a valid block is answered with a reminder
// observation, never an exception: models write anything, including megabytes and binary.
// The scan uses indexOf, not a backtracking regex, so a hostile reply costs linear time.
import type { ToolCall } from "../tools/index.js";

export type ParsedAction = { call: ToolCall } | { error: string };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parseAction(reply: string): ParsedAction {
  const open = reply.indexOf("<function=");
  if (open < 0) return { error: "no function call found" };
  const nameEnd = reply.indexOf(">", open);
  if (nameEnd < 0) return { error: "the <function=…> tag is not closed with '>'" };
  const name = reply.slice(open + "<function=".length, nameEnd).trim();
  if (!NAME.test(name)) return { error: `'${clipName(name)}' is not a function name` };
  const close = reply.indexOf("</function>", nameEnd);
  const next = reply.indexOf("<function=", nameEnd);
  if (close < 0 || (next >= 0 && next < close)) return { error: `the <function=${name}> block has no </function>` };
  const body = reply.slice(nameEnd + 1, close);
  const params: Record<string, string> = {};
  let at = 0;
  for (;;) {
    const p = body.indexOf("<parameter=", at);
    if (p < 0) break;
    const keyEnd = body.indexOf(">", p);
    if (keyEnd < 0) return { error: "a <parameter=…> tag is not closed with '>'" };
    const key = body.slice(p + "<parameter=".length, keyEnd).trim();
    if (!NAME.test(key)) return { error: `'${clipName(key)}' is not a parameter name` };
    const end = body.indexOf("</parameter>", keyEnd);
    if (end < 0) return { error: `<parameter=${key}> has no </parameter>` };
    // One newline right inside each tag is layout, not value (values are often on their own lines).
    params[key] = body.slice(keyEnd + 1, end).replace(/^\n/, "").replace(/\n$/, "");
    at = end + "</parameter>".length;
  }
  return { call: { name, params } };
}

function clipName(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

/** What the agent is told when its reply held no valid call (the step is not counted). */
export function reminder(error: string): string {
  return (
    `Your reply did not contain a valid function call (${error}). ` +
    "Think, then end your reply with exactly one block of this form:\n" +
    "<function=NAME>\n<parameter=KEY>VALUE</parameter>\n…\n</function>\n" +
    "Only the first block of a reply is run. When the issue is resolved, call finish."
  );
}
