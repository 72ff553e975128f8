// The runtime's public face. Other folders import only this file.
export { init, Cluster, PlacementGroup, actorClass, type ActorClass, type ClusterOptions } from "./cluster.js";
export type { ActorHandle } from "./handle.js";
export type { CallOptions } from "./caller.js";
export { currentCall, type CallContext } from "./call-context.js";
export { Tensor, type DType } from "./tensor.js";
export { pack, unpack } from "./codec.js";
export {
  TroupeError, ActorDiedError, ActorUnavailableError, CallTimeoutError, CallCancelledError, PendingCallsLimitError,
  UnschedulableError, ConfigError, RemoteMethodError, BroadcastError, type ErrorData,
} from "./errors.js";
export { NodeAgent, type NodeOptions } from "./node-agent.js";
export { startNatsServer, type NatsServer } from "./nats-server.js";
export { parseClusterUrl, authFromEnv, type ClusterAddress, type ClusterAuth } from "./connect.js";
export { parseResources, detectResources, format as formatResources, type Resources } from "./resources.js";
export type { ClusterInfo } from "./head.js";
export { broadcastOnCluster, currentRuntime, dropReceiverOnCluster, receiveOnCluster } from "./runtime.js";
export { setTracingEnabled, initTracingFromEnv, shutdownTracing, startSpan, otlpProtocol, OTLP_PROTOCOLS, type AppSpan, type OtlpProtocol } from "./tracing.js";
export { readTraceLines, type TraceSpan } from "./trace-lines.js";
export { onTeardown, setInterruptNote, stopping } from "./lifecycle.js";
export type { Strategy } from "./scheduler.js";
export { dropReceiver, sendBroadcast, receiveBroadcast, type BroadcastOptions, type BroadcastReceiver, type BroadcastStats } from "./broadcast.js";
export { redact, redactValue } from "./redact.js";
