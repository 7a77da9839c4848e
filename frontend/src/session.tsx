import { createContext, useContext } from "react";
import type { User } from "./api/auth";

export const UserContext = createContext<User | null>(null);

/** The signed-in user; pages under the signed-in layout can rely on it. */
export function useUser(): User {
  const user = useContext(UserContext);
  if (!user) throw new Error("useUser outside the signed-in layout");
  return user;
}
