// The package's face ("." in package.json): run a media node in your own process, or the
// supervisor; open a registry; load and validate the configuration; the logger. The other
// entry points are subpath exports (./registry/*, ./resampler).
export { loadConfig, loadConfigOrExit } from "./config/index.js";
export { createLogger } from "./log/index.js";
export * from "./node/index.js";
export { openRegistry } from "./registry/open.js";
export type { Registry } from "./registry/types.js";
