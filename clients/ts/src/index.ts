// matchday's TypeScript client: typed requests and pushes over one WebSocket, with resume and
// reconnect. The protocol's types are generated from docs/schema/protocol.json (src/generated).
export { MatchdayClient, type ClientEvents, type ClientOptions, type WebSocketConstructor, type WebSocketLike } from "./client.js";
export { DisconnectedError, MatchdayError, TimeoutError } from "./errors.js";
export * from "./generated/protocol.js";
