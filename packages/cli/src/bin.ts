#!/usr/bin/env node
/**
 * The `neuro` executable.
 *
 * @since 1.0.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Exit from "effect/Exit"
import { run } from "./Cli.js"

NodeRuntime.runMain(run(process.argv.slice(2)), {
  disableErrorReporting: true,
  teardown: (exit, onExit) => {
    const result = exit as Exit.Exit<number, unknown>
    onExit(Exit.isSuccess(result) ? result.value : 1)
  }
})
