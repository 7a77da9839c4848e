import { useEffect, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { api, unwrap, type Schemas } from "../api/client";
import { CodeEditor } from "../components/CodeEditor";
import { DebugPanel } from "../components/DebugPanel";
import { Markdown } from "../components/Markdown";
import { RunResult } from "../components/RunResult";
import { ErrorMessage, Loading } from "../components/Status";
import { splitOutcomes } from "../exercises";
import { useUser } from "../session";

export function SubmissionView({ submission, visibleTests }: { submission: Schemas["SubmissionRead"]; visibleTests: string }) {
  const { visible, hiddenPassed, hiddenTotal } = splitOutcomes(submission.tests, visibleTests);
  return (
    <section className="submission" aria-label="Submission result" aria-live="polite">
      <p className={submission.passed ? "ok big" : "bad big"}>
        {submission.passed ? "Passed! " : "Not yet. "}
        {submission.feedback}
      </p>
      <ul className="tests">
        {visible.map((t) => (
          <li key={t.name} className={t.passed ? "ok" : "bad"}>
            <span aria-hidden="true">{t.passed ? "✔" : "✘"}</span> {t.name}: {t.passed ? "passed" : "failed"}
            {!t.passed && t.message && <pre className="output">{t.message}</pre>}
          </li>
        ))}
      </ul>
      {hiddenTotal > 0 && (
        <p>Hidden tests: {hiddenPassed} of {hiddenTotal} passed.</p>
      )}
      {submission.quality && submission.passed && (
        <p className="hint">Code quality: {Math.round(submission.quality.score * 100)}%{submission.quality.findings.length > 0 && ` (${submission.quality.findings.map((f) => `line ${f.line}: ${f.message}`).join("; ")})`}</p>
      )}
    </section>
  );
}

export function ExercisePage() {
  const { exerciseId = "" } = useParams();
  const user = useUser();
  const [exercise, setExercise] = useState<Schemas["ExerciseRead"] | null>(null);
  const [code, setCode] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<"" | "run" | "submit">("");
  const [run, setRun] = useState<Schemas["ExecutionResult"] | null>(null);
  const [submission, setSubmission] = useState<Schemas["SubmissionRead"] | null>(null);

  useEffect(() => {
    unwrap(api.GET("/api/exercises/{exercise_id}", { params: { path: { exercise_id: exerciseId } } })).then((e) => {
      setExercise(e);
      setCode(e.starter_code);
    }, setError);
  }, [exerciseId]);

  async function act(kind: "run" | "submit") {
    setBusy(kind);
    setError(null);
    try {
      if (kind === "run") {
        setRun(await unwrap(api.POST("/api/execute", { body: { code, stdin: "", student_id: user.id } })));
      } else {
        setSubmission(
          await unwrap(
            api.POST("/api/exercises/{exercise_id}/submissions", {
              params: { path: { exercise_id: exerciseId } },
              body: { student_id: user.id, code },
            }),
          ),
        );
      }
    } catch (e) {
      setError(e);
    } finally {
      setBusy("");
    }
  }

  if (!exercise) return error ? <ErrorMessage error={error} /> : <Loading what="Loading the exercise" />;
  return (
    <section aria-labelledby="exercise-title">
      <p><Link to="/exercises">← All exercises</Link></p>
      <h1 id="exercise-title">{exercise.title}</h1>
      <p><span className="badge">{exercise.topic}</span> <span className="badge">{exercise.difficulty}</span></p>
      <div className="two-col">
        <div className="stack">
          <Markdown text={exercise.description} />
          <CodeEditor label="Your solution" value={code} onChange={setCode} onSubmit={() => act("submit")} minLines={12} />
          <div className="buttons">
            <button type="button" onClick={() => act("submit")} disabled={busy !== ""}>
              {busy === "submit" ? "Checking…" : "Submit"}
            </button>
            <button type="button" className="secondary" onClick={() => act("run")} disabled={busy !== ""}>
              {busy === "run" ? "Running…" : "Run"}
            </button>
          </div>
          {exercise.visible_tests && (
            <details>
              <summary>The tests you can see</summary>
              <pre className="output">{exercise.visible_tests}</pre>
            </details>
          )}
        </div>
        <div className="stack">
          {busy && <Loading what={busy === "run" ? "Running your code" : "Running the tests"} />}
          <ErrorMessage error={error} />
          {submission && <SubmissionView submission={submission} visibleTests={exercise.visible_tests} />}
          {run && <RunResult result={run} />}
          <DebugPanel code={code} stdin="" exerciseId={exercise.exercise_id} />
        </div>
      </div>
    </section>
  );
}
