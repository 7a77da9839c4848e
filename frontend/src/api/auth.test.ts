import { afterEach, describe, expect, it, vi } from "vitest";
import { currentUser, enterOpenAccess, signIn } from "./auth";
import { api } from "./client";

const reply = (status: number, data?: unknown) =>
  ({ data, error: status >= 400 ? { error: { code: "x", message: "x" } } : undefined, response: new Response(null, { status }) }) as never;

afterEach(() => {
  vi.restoreAllMocks();
  sessionStorage.clear();
});

describe("who is signed in", () => {
  it("is the account the session cookie belongs to", async () => {
    vi.spyOn(api, "GET").mockResolvedValue(reply(200, { id: "u1", username: "ada", role: "student", created_at: "", disabled: false }));
    expect(await currentUser()).toEqual({ id: "u1", username: "ada", role: "student" });
  });

  it("refreshes an expired session once, and is nobody when that fails", async () => {
    const get = vi.spyOn(api, "GET").mockResolvedValue(reply(401));
    const post = vi.spyOn(api, "POST").mockResolvedValue(reply(401));
    expect(await currentUser()).toBeNull();
    expect(post).toHaveBeenCalledWith("/api/auth/refresh", { body: null });
    expect(get).toHaveBeenCalledTimes(1);
  });

  it("is open access when the server has no accounts, then the name chosen in this tab", async () => {
    vi.spyOn(api, "GET").mockResolvedValue(reply(200, { id: "", username: "", role: "admin", created_at: null, disabled: false }));
    expect(await currentUser()).toBe("open");
    enterOpenAccess("grace", "teacher");
    expect(await currentUser()).toEqual({ id: "grace", username: "grace", role: "teacher", openAccess: true });
  });

  it("says plainly when a password is wrong", async () => {
    vi.spyOn(api, "POST").mockResolvedValue(reply(401));
    await expect(signIn("ada", "nope")).rejects.toThrow("That username and password do not match. Try again.");
  });
});
