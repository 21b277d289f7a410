import { defineConfig } from "vitest/config"

// one project per package (each packages/*/vitest.config.ts extends vitest.shared.ts)
export default defineConfig({
  test: {
    projects: ["packages/*/vitest.config.ts"]
  }
})
