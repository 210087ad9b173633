// @matchday/client: matchday's TypeScript client. Typed requests and pushes over one WebSocket, with
// reconnect and resume. The protocol's types are generated from docs/schema/protocol.json.
export { MatchdayClient, type BetRequest, type ClientState, type PlacedBet } from "./client.js";
export { DisconnectedError, MatchdayError, TimeoutError, type MatchdayErrorOf } from "./errors.js";
export type { ClientEvents } from "./events.js";
export type { Listener } from "./emitter.js";
export type { ClientOptions, Format, WebSocketConstructor, WebSocketLike } from "./options.js";
export * from "./generated/protocol.js";
