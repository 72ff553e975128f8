// recipes/: what the driver runs — evaluation now, the deepswe training recipe next.
export { runEval, summaryTable, type EvalOptions, type EvalSummary, type TaskRow } from "./eval/eval.js";
