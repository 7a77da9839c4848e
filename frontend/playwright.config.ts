// End-to-end tests through the real server: `learnflow serve` with a fresh data directory, serving
// the built app (dist/) at /, driven with Debian's chromium (Playwright's own browsers are never
// downloaded). `make test-web` builds first; CHROMIUM and LEARNFLOW_PYTHON override the defaults.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { defineConfig } from "@playwright/test";

const port = Number(process.env.E2E_PORT ?? 8799);
const python = process.env.LEARNFLOW_PYTHON ?? resolve("../.venv/bin/python");
// Set once here, so the test workers (which inherit the environment) create accounts in the server's data.
process.env.E2E_DATA_DIR ??= mkdtempSync(join(tmpdir(), "learnflow-e2e-"));
process.env.LEARNFLOW_PYTHON = python;
const dataDir = process.env.E2E_DATA_DIR;

export default defineConfig({
  testDir: "e2e",
  outputDir: "test-results/playwright",
  timeout: 120_000,
  expect: { timeout: 20_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    browserName: "chromium",
    launchOptions: { executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium" },
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
  },
  webServer: {
    command: `${python} -m learnflow.cli serve --host 127.0.0.1 --port ${port}`,
    url: `http://127.0.0.1:${port}/ready`,
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: "pipe",
    stderr: "pipe",
    env: {
      PYTHONPATH: resolve("../src"),
      LEARNFLOW_DATA_DIR: dataDir,
      LEARNFLOW_WEB_DIR: resolve("dist"),
      // Never the real OpenAI API from tests: the offline engine answers.
      AI_PROVIDER: "offline",
      OPENAI_API_KEY: "",
      ENVIRONMENT: "test",
      LOG_LEVEL: "WARNING",
    },
  },
});
