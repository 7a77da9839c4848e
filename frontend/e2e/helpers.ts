import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import type { Page } from "@playwright/test";
import { expect } from "@playwright/test";

export const SCREENS = "test-results/screens";
mkdirSync(SCREENS, { recursive: true });

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${SCREENS}/${name}.png`, fullPage: true });
}

/** A unique id per run, so reruns against a kept data directory never see old work. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1000)}`;
}

export const PASSWORD = "correct horse battery 42";

/** Create a local account with the CLI, in the data directory the server under test uses. */
export function addAccount(name: string, role: "student" | "teacher"): void {
  execFileSync(process.env.LEARNFLOW_PYTHON!, ["-m", "learnflow.cli", "users", "add", name, "--role", role, "--password-stdin"], {
    input: `${PASSWORD}\n`,
    env: { ...process.env, PYTHONPATH: resolve("../src"), LEARNFLOW_DATA_DIR: process.env.E2E_DATA_DIR!, ENVIRONMENT: "test" },
    stdio: ["pipe", "pipe", "inherit"],
  });
}

/**
 * Sign in as a person. With accounts (the accounts service answers /api/auth/me), `password` is used;
 * without them (open access) the name and role are enough.
 */
export async function signIn(page: Page, name: string, role: "student" | "teacher", password = PASSWORD): Promise<void> {
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Sign in to LearnFlow" })).toBeVisible();
  const open = await page.getByText("has no accounts").isVisible();
  if (open) {
    await page.getByLabel("Your name").fill(name);
    await page.getByLabel(role).check();
  } else {
    await page.getByLabel("Username").fill(name);
    await page.getByLabel("Password").fill(password);
  }
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByText(`${name} (${role})`)).toBeVisible();
}

/** Replace a CodeMirror editor's text: inserted as typed text, without auto-indent or closing brackets. */
export async function setCode(page: Page, label: string, code: string): Promise<void> {
  const editor = page.getByRole("textbox", { name: label });
  await editor.click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await page.keyboard.insertText(code);
  await expect(editor).toContainText(code.split("\n")[0]!);
}
