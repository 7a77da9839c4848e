import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, api, friendlyMessage, readCookie, unwrap } from "./client";

afterEach(() => {
  document.cookie = "learnflow_csrf=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/";
});

describe("the API client", () => {
  it("sends the CSRF cookie as a header on POST but not on GET", async () => {
    document.cookie = "learnflow_csrf=tok%3D1; path=/";
    const seen: Request[] = [];
    const fetch = vi.fn(async (request: Request) => {
      seen.push(request);
      return new Response(JSON.stringify([]), { status: 200, headers: { "content-type": "application/json" } });
    });
    await api.GET("/api/alerts", { baseUrl: "http://localhost", fetch });
    await api.POST("/api/alerts/{alert_id}/resolve", { baseUrl: "http://localhost", fetch, params: { path: { alert_id: "a1" } } });
    expect(seen[0]!.headers.get("X-CSRF-Token")).toBeNull();
    expect(seen[1]!.headers.get("X-CSRF-Token")).toBe("tok=1");
    expect(seen[1]!.credentials).toBe("include");
  });

  it("reads one cookie among several", () => {
    expect(readCookie("b", "a=1; b=two; c=3")).toBe("two");
    expect(readCookie("missing", "a=1")).toBeNull();
  });

  it("turns the API's error shape into a message a student understands", async () => {
    const body = { error: { code: "validation_error", message: "bad", details: [{ field: "code", message: "at most 50000 characters" }] } };
    const fetch = vi.fn(async () => new Response(JSON.stringify(body), { status: 422, headers: { "content-type": "application/json" } }));
    const call = unwrap(api.POST("/api/execute", { baseUrl: "http://localhost", fetch, body: { code: "x", stdin: "" } }));
    await expect(call).rejects.toThrow("Please check your input: at most 50000 characters (code).");
    await expect(call).rejects.toBeInstanceOf(ApiError);
  });

  it("says when LearnFlow cannot be reached, and when it is busy", async () => {
    const fetch = vi.fn(async () => Promise.reject(new TypeError("Failed to fetch")));
    await expect(unwrap(api.GET("/api/alerts", { baseUrl: "http://localhost", fetch }))).rejects.toThrow(/cannot be reached/);
    expect(friendlyMessage(429, undefined, "7")).toMatch(/in 7 seconds/);
    expect(friendlyMessage(500, undefined)).not.toMatch(/500/);
  });
});
