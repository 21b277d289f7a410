import { mergeConfig } from "vitest/config"
import shared from "../../vitest.shared.js"

export default mergeConfig(shared, {
  test: {
    // the tests spawn the built `neuro` binary: one file at a time keeps the 2-core machine responsive
    fileParallelism: false,
    testTimeout: 120_000
  }
})
