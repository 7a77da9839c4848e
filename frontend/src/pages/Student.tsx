import { useEffect, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { api, unwrap, type Schemas } from "../api/client";
import { AlertsPanel } from "../components/Alerts";
import { ErrorMessage, Loading } from "../components/Status";
import { useStudentNames } from "../names";
import { ProgressView } from "./Progress";

export function StudentPage() {
  const { studentId = "" } = useParams();
  const names = useStudentNames();
  const [progress, setProgress] = useState<Schemas["ProgressRead"] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    unwrap(api.GET("/api/students/{student_id}/progress", { params: { path: { student_id: studentId } } })).then(
      setProgress,
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
        </div>
        <AlertsPanel studentId={studentId} />
      </div>
    </section>
  );
}
