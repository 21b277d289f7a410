/**
 * @since 1.0.0
 */
export * as NodeHttp from "./NodeHttp.js"
export * as NodeWebSocket from "./NodeWebSocket.js"
export * as NodeConfigStore from "./NodeConfigStore.js"
export * as NodeLogin from "./NodeLogin.js"
