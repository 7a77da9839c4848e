import { mkdirSync } from "node:fs";
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

/**
 * Sign in as a person. With accounts (the accounts service answers /api/auth/me), `password` is used;
 * without them (open access) the name and role are enough.
 */
export async function signIn(page: Page, name: string, role: "student" | "teacher", password = "correct horse battery"): Promise<void> {
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
