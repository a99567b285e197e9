export * from "./counters.js";
export * from "./interarrival-jitter.js";
export * from "./jitter-buffer.js";
export * from "./jump-detector.js";
export * from "./playout-delay.js";
export * from "./receiver.js";
