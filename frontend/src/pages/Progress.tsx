import { useEffect, useState } from "react";
import { Link } from "react-router-dom";
import { api, unwrap, type Schemas } from "../api/client";
import { BANDS, MasteryChart } from "../components/MasteryChart";
import { ErrorMessage, Loading } from "../components/Status";
import { focusTopics, nextStep } from "../progress";
import { useUser } from "../session";

export function ProgressView({ progress }: { progress: Schemas["ProgressRead"] }) {
  if (progress.topics.length === 0)
    return <p>Nothing yet: solve an exercise or take a quiz and your progress appears here.</p>;
  return (
    <>
      <p className="big">Overall mastery: {Math.round(progress.overall)} of 100</p>
      <MasteryChart topics={progress.topics} />
      <p className="hint">
        Levels: {BANDS.map((b, i) => `${b.name} ${i === 0 ? 0 : BANDS[i - 1]!.upTo}–${b.upTo}`).join(", ")}.
      </p>
      <h2>What to do next</h2>
      <ul>
        {focusTopics(progress.topics).map((t) => (
          <li key={t.topic}>
            <strong>{t.topic}</strong> ({t.level}, {Math.round(t.mastery)}): {nextStep(t)}{" "}
            <Link to={`/quiz/${t.topic}`}>Quiz</Link>
          </li>
        ))}
      </ul>
    </>
  );
}

export function ProgressPage() {
  const user = useUser();
  const [progress, setProgress] = useState<Schemas["ProgressRead"] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    unwrap(api.GET("/api/students/{student_id}/progress", { params: { path: { student_id: user.id } } })).then(
      setProgress,
      setError,
    );
  }, [user.id]);
  return (
    <section aria-labelledby="progress-title">
      <h1 id="progress-title">Your progress</h1>
      {!progress && !error && <Loading what="Loading your progress" />}
      <ErrorMessage error={error} />
      {progress && <ProgressView progress={progress} />}
    </section>
  );
}
