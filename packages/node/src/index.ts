/**
 * @since 1.0.0
 */
export * as NodeHttp from "./NodeHttp.js"
export * as NodeWebSocket from "./NodeWebSocket.js"
export * as NodePortForward from "./NodePortForward.js"
export * as NodeConfigStore from "./NodeConfigStore.js"
export * as NodeLogin from "./NodeLogin.js"
export * as NodePlugins from "./NodePlugins.js"
export * as NeuroNode from "./NeuroNode.js"
export * as NodeDockerDaemon from "./NodeDockerDaemon.js"
export * as NodeUserConfig from "./NodeUserConfig.js"
