/**
 * @since 1.0.0
 */
export * as Cli from "./Cli.js"
