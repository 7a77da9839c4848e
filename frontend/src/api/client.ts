// The typed API client: every request and response shape comes from schema.d.ts, generated from
// LearnFlow's OpenAPI schema (`npm run gen`). Browsers authenticate with the session cookie; unsafe
// methods repeat the readable CSRF cookie in a header, as the accounts service requires.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
/** A curriculum topic id: the schema lists them (the server documents its topics in the OpenAPI). */
export type Topic = NonNullable<Schemas["GenerateRequest"]["topic"]>;
export type Difficulty = NonNullable<Schemas["GenerateRequest"]["difficulty"]>;

export const CSRF_COOKIE = "learnflow_csrf";
export const CSRF_HEADER = "X-CSRF-Token";
const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export function readCookie(name: string, cookies: string = document.cookie): string | null {
  for (const part of cookies.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

/** Repeat the CSRF cookie in its header on a state-changing request (the double-submit check). */
export function addCsrf(method: string, headers: Headers): void {
  if (UNSAFE.has(method.toUpperCase())) {
    const token = readCookie(CSRF_COOKIE);
    if (token) headers.set(CSRF_HEADER, token);
  }
}

export const csrf: Middleware = {
  onRequest({ request }) {
    addCsrf(request.method, request.headers);
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: "", credentials: "include" });
api.use(csrf);

/** An API failure, with a message written for the student or teacher who sees it. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string = "",
  ) {
    super(message);
    this.name = "ApiError";
  }
}

type ErrorShape = { error?: { code?: string; message?: string; details?: { field?: string; message?: string }[] } };

/** What to tell a person about a failed request (never a stack trace or a bare status code). */
export function friendlyMessage(status: number, body: unknown, retryAfter: string | null = null): string {
  const error = (body as ErrorShape | undefined)?.error;
  const said = error?.message;
  switch (status) {
    case 0:
      return "LearnFlow cannot be reached. Check your connection and try again.";
    case 401:
      return "Your session has ended. Please sign in again.";
    case 403:
      return said ? `You are not allowed to do that: ${said}.` : "You are not allowed to do that.";
    case 404:
      return "We could not find that. It may have been removed.";
    case 409:
      return said ? `That was already done: ${said}.` : "That was already done.";
    case 413:
      return "That is too large to send. Try a shorter program or question.";
    case 422: {
      const detail = error?.details?.[0];
      if (detail?.message) return `Please check your input: ${detail.message}${detail.field ? ` (${detail.field})` : ""}.`;
      return said ? `Please check your input: ${said}.` : "Please check your input.";
    }
    case 429:
      return `Too many requests at once. Try again${retryAfter ? ` in ${retryAfter} seconds` : " in a moment"}.`;
    case 503:
      return "Part of LearnFlow is not available right now. Try again in a minute.";
    default:
      return "Something went wrong on our side. Try again; if it keeps happening, tell your teacher.";
  }
}

/** Await an openapi-fetch call and return its data, or throw an ApiError with a friendly message. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch {
    throw new ApiError(friendlyMessage(0, undefined), 0, "network");
  }
  const { data, error, response } = result;
  if (!response.ok || data === undefined) {
    const code = (error as ErrorShape | undefined)?.error?.code ?? "";
    throw new ApiError(friendlyMessage(response.status, error, response.headers.get("Retry-After")), response.status, code);
  }
  return data;
}
