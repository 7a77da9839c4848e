import { useCallback, useEffect, useState } from "react";
import { NavLink, Navigate, Route, Routes } from "react-router-dom";
import { currentUser, signOut, type User } from "./api/auth";
import { ErrorBoundary, ErrorMessage, Loading } from "./components/Status";
import { Author } from "./pages/Author";
import { ClassDashboard } from "./pages/ClassDashboard";
import { CodeLab } from "./pages/CodeLab";
import { ExercisePage } from "./pages/Exercise";
import { Exercises } from "./pages/Exercises";
import { ProgressPage } from "./pages/Progress";
import { QuizPage } from "./pages/Quiz";
import { SignIn } from "./pages/SignIn";
import { StudentPage } from "./pages/Student";
import { Tutor } from "./pages/Tutor";
import { UserContext } from "./session";

export function App() {
  const [user, setUser] = useState<User | null | "open" | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(() => {
    setError(null);
    currentUser().then(setUser, setError);
  }, []);
  useEffect(load, [load]);

  if (error)
    return (
      <main className="page">
        <ErrorMessage error={error}>
          <button type="button" onClick={load}>Try again</button>
        </ErrorMessage>
      </main>
    );
  if (user === undefined) return <main className="page"><Loading what="Starting LearnFlow" /></main>;
  if (user === null || user === "open") return <SignIn openAccess={user === "open"} onSignedIn={setUser} />;

  const staff = user.role !== "student";
  return (
    <UserContext.Provider value={user}>
      <a className="skip" href="#main">Skip to content</a>
      <header className="top">
        <span className="brand">LearnFlow</span>
        <nav aria-label="Main">
          {staff ? (
            <>
              <NavLink to="/class">Class</NavLink>
              <NavLink to="/author">New exercise</NavLink>
            </>
          ) : (
            <>
              <NavLink to="/tutor">Tutor</NavLink>
              <NavLink to="/code">Code</NavLink>
              <NavLink to="/exercises">Exercises</NavLink>
              <NavLink to="/progress">Progress</NavLink>
            </>
          )}
        </nav>
        <span className="who">
          {user.username} ({user.role})
          <button type="button" className="link" onClick={() => signOut(user).then(() => setUser(null), setError)}>
            Sign out
          </button>
        </span>
      </header>
      <main id="main" className="page">
        <ErrorBoundary>
        <Routes>
          <Route path="/" element={<Navigate to={staff ? "/class" : "/tutor"} replace />} />
          <Route path="/tutor" element={<Tutor />} />
          <Route path="/code" element={<CodeLab />} />
          <Route path="/exercises" element={<Exercises />} />
          <Route path="/exercises/:exerciseId" element={<ExercisePage />} />
          <Route path="/quiz/:topic" element={<QuizPage />} />
          <Route path="/progress" element={<ProgressPage />} />
          <Route path="/class" element={<ClassDashboard />} />
          <Route path="/students/:studentId" element={<StudentPage />} />
          <Route path="/author" element={<Author />} />
          <Route path="*" element={<p>There is no page here. Use the menu above.</p>} />
        </Routes>
        </ErrorBoundary>
      </main>
    </UserContext.Provider>
  );
}
