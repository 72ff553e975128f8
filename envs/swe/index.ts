// The SWE agent scaffold: the action format, prompts and notices the rollout loop uses.
export { parseAction, reminder, type ParsedAction } from "./action.js";
export { budgetNotice, stepsNotice, systemPrompt, userPrompt } from "./prompts.js";
export { goldReplies, parseUnifiedDiff, patchToolCalls, renderToolCall } from "./replay.js";
