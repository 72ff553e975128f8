// The SWE agent scaffold: the action format, prompts and notices the rollout loop uses.
export { parseAction, reminder, type ParsedAction } from "./action.js";
export { budgetNotice, observationText, scaffoldMessages, stepsNotice, systemPrompt, userPrompt, type Scaffold } from "./prompts.js";
export { goldReplies, parseUnifiedDiff, patchToolCalls, renderCompactToolCall, renderToolCall } from "./replay.js";
