// gpu/: the native learner worker and its client. Usable from a plain script (no NATS).
export { exportCheckpoint, exportProblem, type ExportOptions, type ExportResult } from "./export.js";
export { WorkerCrashedError, WorkerError } from "./errors.js";
export { encodeFrame, FrameReader, type Frame, type WireArray, type WireTensor } from "./protocol.js";
export {
  LOSS_DEFAULTS, NativeWorker, WORKER_BIN, workerBackend, type Generation, type GenerateOptions, type GroupOptions, type HeldBytes, type LossOptions, type LossResult, type Qwen3Config,
  type StepOptions, type TrainSequence, type WeightFileEntry, type WeightRange, type WorkerBackend, type WorkerInfo, type WorkerOptions,
} from "./worker.js";
