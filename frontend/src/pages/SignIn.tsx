import { type FormEvent, useState } from "react";
import { signIn, enterOpenAccess, type Role, type User } from "../api/auth";
import { ErrorMessage } from "../components/Status";

const NAME = /^[A-Za-z0-9_.@:-]{1,64}$/;

export function SignIn({ openAccess, onSignedIn }: { openAccess: boolean; onSignedIn: (user: User) => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("student");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    if (openAccess) {
      if (!NAME.test(username)) {
        setError(new Error("Use letters, digits and . _ @ : - only (at most 64), e.g. ada.lovelace."));
        return;
      }
      onSignedIn(enterOpenAccess(username, role));
      return;
    }
    setBusy(true);
    try {
      onSignedIn(await signIn(username, password));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="page narrow" id="main">
      <h1>Sign in to LearnFlow</h1>
      {openAccess && (
        <p className="note">
          This LearnFlow has no accounts (open access): type the name your work is kept under and choose a role.
        </p>
      )}
      <form onSubmit={submit} className="stack">
        <label>
          {openAccess ? "Your name" : "Username"}
          <input value={username} onChange={(e) => setUsername(e.target.value)} autoComplete="username" required />
        </label>
        {openAccess ? (
          <fieldset>
            <legend>I am a</legend>
            {(["student", "teacher"] as const).map((r) => (
              <label key={r} className="inline">
                <input type="radio" name="role" value={r} checked={role === r} onChange={() => setRole(r)} /> {r}
              </label>
            ))}
          </fieldset>
        ) : (
          <label>
            Password
            <input type="password" value={password} onChange={(e) => setPassword(e.target.value)}
              autoComplete="current-password" required />
          </label>
        )}
        <ErrorMessage error={error} />
        <button type="submit" disabled={busy}>{busy ? "Signing in…" : "Sign in"}</button>
      </form>
    </main>
  );
}
