export * from "./packet.js";
export * from "./ssrc.js";
export * from "./unwrap.js";
