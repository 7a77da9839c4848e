import { useEffect, useState } from "react";
import { api } from "./api/client";

/** Students' usernames by account id, for staff pages (ids are what the API stores; people know names). */
export function useStudentNames(): Map<string, string> {
  const [names, setNames] = useState<Map<string, string>>(new Map());
  useEffect(() => {
    let live = true;
    // Not being allowed to list accounts (or there being none) just leaves ids on screen.
    api.GET("/api/users", { params: { query: { role: "student" } } }).then(
      ({ data }) => live && data && setNames(new Map(data.map((u) => [u.id, u.username]))),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, []);
  return names;
}
