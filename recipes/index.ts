// recipes/: what the driver runs — evaluation (test-time selection included), the arith proof
// of the trainer, deepswe, and the verifier's training.
export { runEval, summaryTable, type EvalOptions, type EvalSummary, type TaskRow } from "./eval/eval.js";
export { hiddenTestsWriter, modelWriter, parseReproScript, reproMessages, type ReproWriter } from "./eval/repro.js";
export { condensedTrajectory, pYes, verificationPrompt, VERDICT, type Verifier } from "./eval/verifier.js";
export { readPredictions, scorePredictions, type ScoreOptions, type ScoreSummary } from "./eval/score.js";
export { readTrajectories, trainVerifier, TOY_VERIFIER, verifierExamples, type VerifierReport, type VerifierTrainOptions } from "./verifier/train-verifier.js";
export { runArith, type ArithOptions, type ArithStep } from "./arith/arith.js";
export { PROFILES, resolveConfig, DeepSWEConfigSchema, type DeepSWEConfig } from "./deepswe/config.js";
export { runDeepSWE, type RunOptions } from "./deepswe/run.js";
export { repairEngines, syncEngines } from "./deepswe/crew.js";
export { LearnerGroupError, type StepRow } from "./deepswe/step.js";
export { loadRun, turnsOf, viewHtml, writeView, type Turn, type ViewData } from "./view/index.js";
