/**
 * @since 1.0.0
 */
export * as JobRunner from "./JobRunner.js"
export * as LocalPlatform from "./LocalPlatform.js"
export * as NeuroTest from "./NeuroTest.js"
export * as TestBrowser from "./TestBrowser.js"
export * as MemoryConfigStore from "./MemoryConfigStore.js"
