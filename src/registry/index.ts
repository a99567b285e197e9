// The registry's public face: the contract, its errors, validation limits and openRegistry.
// The stores themselves are separate subpath exports (./registry/memory, ./registry/redis,
// ./registry/dynamodb) so that importing this module never pulls in a store's SDK.
export * from "./errors.js";
export { type OpenRegistryOptions, openRegistry } from "./open.js";
export { canTakeSession, pickLeastLoaded } from "./pick.js";
export type * from "./types.js";
export { LIMITS, SESSION_KINDS, SESSION_STATES, validateId } from "./validate.js";
