// Sign-in with the accounts service: the browser session is the HttpOnly cookie the login sets, with the
// readable CSRF cookie echoed on writes (client.ts); no token is ever kept in script-readable storage.
import { api, ApiError, friendlyMessage, unwrap, type Schemas } from "./client";

export type Role = Schemas["Role"];
export interface User {
  id: string;
  username: string;
  role: Role;
  /** True when this LearnFlow runs without accounts (LEARNFLOW_AUTH=off): the name is only a label. */
  openAccess?: boolean;
}

const OPEN_ACCESS_KEY = "learnflow.openAccessUser";

function storedOpenAccessUser(): User | null {
  const stored = sessionStorage.getItem(OPEN_ACCESS_KEY);
  return stored ? (JSON.parse(stored) as User) : null;
}

async function me(): Promise<{ status: number; user?: Schemas["UserRead"] }> {
  try {
    const { data, response } = await api.GET("/api/auth/me");
    return { status: response.status, user: data };
  } catch {
    throw new ApiError(friendlyMessage(0, undefined), 0, "network");
  }
}

/** Who is signed in: a user, null when nobody is, or "open" when this LearnFlow has no accounts. */
export async function currentUser(): Promise<User | null | "open"> {
  let answer = await me();
  if (answer.status === 401) {
    // The short-lived session may have expired while the refresh cookie is still good.
    const { response } = await api.POST("/api/auth/refresh", { body: null });
    if (!response.ok) return null;
    answer = await me();
  }
  if (answer.status === 401) return null;
  if (!answer.user) throw new ApiError(friendlyMessage(answer.status, undefined), answer.status);
  // Without accounts the server answers for an anonymous caller, who has no id.
  if (!answer.user.id) return storedOpenAccessUser() ?? "open";
  const { id, username, role } = answer.user;
  return { id, username, role };
}

export async function signIn(username: string, password: string): Promise<User> {
  try {
    const session = await unwrap(api.POST("/api/auth/login", { body: { username, password } }));
    const { id, username: name, role } = session.user;
    return { id, username: name, role };
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      throw new ApiError("That username and password do not match. Try again.", 401);
    }
    throw e;
  }
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
  const { response } = await api.POST("/api/auth/logout", { body: null });
  if (!response.ok && response.status !== 401) throw new ApiError(friendlyMessage(response.status, undefined), response.status);
}
