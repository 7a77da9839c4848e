import { Suspense, lazy, useCallback, useEffect, useState } from "react";
import { NavLink, Navigate, Route, Routes } from "react-router-dom";
import { currentUser, signOut, type User } from "./api/auth";
import { ErrorBoundary, ErrorMessage, Loading } from "./components/Status";
import { SignIn } from "./pages/SignIn";
import { UserContext } from "./session";

// Each page is its own chunk: the editor (CodeMirror) and Markdown load only where they are used.
const Author = lazy(() => import("./pages/Author").then((m) => ({ default: m.Author })));
const ClassDashboard = lazy(() => import("./pages/ClassDashboard").then((m) => ({ default: m.ClassDashboard })));
const CodeLab = lazy(() => import("./pages/CodeLab").then((m) => ({ default: m.CodeLab })));
const ExercisePage = lazy(() => import("./pages/Exercise").then((m) => ({ default: m.ExercisePage })));
const Exercises = lazy(() => import("./pages/Exercises").then((m) => ({ default: m.Exercises })));
const ProgressPage = lazy(() => import("./pages/Progress").then((m) => ({ default: m.ProgressPage })));
const QuizPage = lazy(() => import("./pages/Quiz").then((m) => ({ default: m.QuizPage })));
const StudentPage = lazy(() => import("./pages/Student").then((m) => ({ default: m.StudentPage })));
const Tutor = lazy(() => import("./pages/Tutor").then((m) => ({ default: m.Tutor })));

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
        <Suspense fallback={<Loading what="Opening the page" />}>
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
        </Suspense>
        </ErrorBoundary>
      </main>
    </UserContext.Provider>
  );
}
