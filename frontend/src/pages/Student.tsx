import { useEffect, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { api, unwrap, type Schemas } from "../api/client";
import { AlertsPanel } from "../components/Alerts";
import { ErrorMessage, Loading } from "../components/Status";
import { MasteryHistory, QuestionList, SubmissionList } from "../components/StudentWork";
import { useStudentNames } from "../names";
import { ProgressView } from "./Progress";

export function StudentPage() {
  const { studentId = "" } = useParams();
  const names = useStudentNames();
  const [progress, setProgress] = useState<Schemas["ProgressRead"] | null>(null);
  const [history, setHistory] = useState<Schemas["ProgressHistoryRead"] | null>(null);
  const [submissions, setSubmissions] = useState<Schemas["StudentSubmissionRead"][] | null>(null);
  const [queries, setQueries] = useState<Schemas["StudentQueryRead"][] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    const path = { student_id: studentId };
    unwrap(api.GET("/api/students/{student_id}/progress", { params: { path } })).then(setProgress, setError);
    unwrap(api.GET("/api/students/{student_id}/progress/history", { params: { path } })).then(setHistory, setError);
    unwrap(api.GET("/api/students/{student_id}/submissions", { params: { path, query: { limit: 20 } } })).then(
      setSubmissions,
      setError,
    );
    unwrap(api.GET("/api/students/{student_id}/queries", { params: { path, query: { limit: 20 } } })).then(
      setQueries,
      setError,
    );
  }, [studentId]);
  return (
    <section aria-labelledby="student-title">
      <p><Link to="/class">← Class</Link></p>
      <h1 id="student-title">{names.get(studentId) ?? studentId}</h1>
      <div className="two-col wide-left">
        <div>
          {!progress && !error && <Loading what="Loading progress" />}
          <ErrorMessage error={error} />
          {progress && <ProgressView progress={progress} />}
          <section aria-labelledby="history-heading">
            <h2 id="history-heading">Progress over time</h2>
            {history ? <MasteryHistory points={history.points} /> : !error && <Loading what="Loading history" />}
          </section>
          <section aria-labelledby="submissions-heading">
            <h2 id="submissions-heading">Submissions</h2>
            {submissions ? <SubmissionList submissions={submissions} /> : !error && <Loading what="Loading submissions" />}
          </section>
          <section aria-labelledby="questions-heading">
            <h2 id="questions-heading">Recent questions</h2>
            {queries ? <QuestionList queries={queries} /> : !error && <Loading what="Loading questions" />}
          </section>
        </div>
        <AlertsPanel studentId={studentId} />
      </div>
    </section>
  );
}
