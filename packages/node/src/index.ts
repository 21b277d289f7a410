/**
 * @since 1.0.0
 */
export * as NodeHttp from "./NodeHttp.js"
export * as NodeWebSocket from "./NodeWebSocket.js"
