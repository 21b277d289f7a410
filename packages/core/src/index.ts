/**
 * @since 1.0.0
 */
export * as ApiClient from "./ApiClient.js"
export * as AuthToken from "./AuthToken.js"
export * as Config from "./Config.js"
export * as ConfigData from "./ConfigData.js"
export * as ConfigStore from "./ConfigStore.js"
export * as Endpoints from "./Endpoints.js"
export * as Errors from "./Errors.js"
export * as ServerConfig from "./ServerConfig.js"
export * as WebSocket from "./WebSocket.js"
export * as Factory from "./Factory.js"
export * as Login from "./Login.js"
export * as NeuroClient from "./NeuroClient.js"
export * as Session from "./Session.js"
export * as Storage from "./Storage.js"
