// recipes/: what the driver runs — evaluation, the arith proof of the trainer, deepswe next.
export { runEval, summaryTable, type EvalOptions, type EvalSummary, type TaskRow } from "./eval/eval.js";
export { runArith, type ArithOptions, type ArithStep } from "./arith/arith.js";
