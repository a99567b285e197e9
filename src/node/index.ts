// The edge media node's face: node-datachannel peers on one muxed UDP port, the signed control
// API, the watchdog, registry heartbeats and metrics. `startMediaNode` runs one node in this
// process (`rtcgw dev`, tests); `runMediaNodeSupervisor` runs one worker process per core
// (`rtcgw node`). Only re-exports: the node itself is node.ts, and nothing in src/node/ imports
// this file (so no folder-internal import can go round through it).
export { defaultNodeId, type MediaNode, type MediaNodeOptions, startMediaNode } from "./node.js";
export { resolveNodeSecret } from "./process/secret.js";
export { runMediaNodeSupervisor, WorkerStartError, workerCount, workerPort } from "./process/supervisor.js";
export {
  MediaNodeError,
  NodeUnavailableError,
  OfferError,
  RestartUnsupportedError,
} from "./sessions/errors.js";
