// Sign-in against the accounts service (branch authn): cookie session + CSRF cookie, no token kept in
// script-readable storage. Its routes are not in the generated schema until that branch is merged, so
// these calls name the agreed contract here; `npm run gen` after the merge makes them typed like the rest.
import { ApiError, addCsrf, friendlyMessage } from "./client";

export type Role = "student" | "teacher" | "admin";
export interface User {
  id: string;
  username: string;
  role: Role;
  /** True when this LearnFlow has no accounts (LEARNFLOW_AUTH=off): the name is only a label. */
  openAccess?: boolean;
}

const OPEN_ACCESS_KEY = "learnflow.openAccessUser";

async function send(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  addCsrf(init.method ?? "GET", headers);
  try {
    return await fetch(path, { ...init, headers, credentials: "include" });
  } catch {
    throw new ApiError(friendlyMessage(0, undefined), 0, "network");
  }
}

async function failure(response: Response): Promise<ApiError> {
  const body: unknown = await response.json().catch(() => undefined);
  return new ApiError(friendlyMessage(response.status, body, response.headers.get("Retry-After")), response.status);
}

/** Who is signed in: a user, null when nobody is, or "open" when this LearnFlow has no accounts. */
export async function currentUser(): Promise<User | null | "open"> {
  let response = await send("/api/auth/me");
  if (response.status === 401) {
    // The short-lived session may have expired while the refresh cookie is still good.
    const refreshed = await send("/api/auth/refresh", { method: "POST" });
    if (!refreshed.ok) return null;
    response = await send("/api/auth/me");
  }
  if (response.status === 404) {
    const stored = sessionStorage.getItem(OPEN_ACCESS_KEY);
    return stored ? (JSON.parse(stored) as User) : "open";
  }
  if (response.status === 401) return null;
  if (!response.ok) throw await failure(response);
  return (await response.json()) as User;
}

export async function signIn(username: string, password: string): Promise<User> {
  const response = await send("/api/auth/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  if (response.status === 401) throw new ApiError("That username and password do not match. Try again.", 401);
  if (!response.ok) throw await failure(response);
  return ((await response.json()) as { user: User }).user;
}

/** Open access: every request names the student itself, so the "account" is a name kept for this tab. */
export function enterOpenAccess(name: string, role: Role): User {
  const user: User = { id: name, username: name, role, openAccess: true };
  sessionStorage.setItem(OPEN_ACCESS_KEY, JSON.stringify(user));
  return user;
}

export async function signOut(user: User): Promise<void> {
  if (user.openAccess) {
    sessionStorage.removeItem(OPEN_ACCESS_KEY);
    return;
  }
  const response = await send("/api/auth/logout", { method: "POST" });
  if (!response.ok && response.status !== 401) throw await failure(response);
}
