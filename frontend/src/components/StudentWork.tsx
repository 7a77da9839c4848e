// One student's work on their teacher's page: graded submissions with their results, the questions
// they asked, and mastery over time (one point per graded submission or quiz).
import type { Schemas } from "../api/client";
import { CodeView } from "./CodeView";

const when = (at: string) => <time dateTime={at}>{new Date(at).toLocaleString()}</time>;

export function SubmissionList({ submissions }: { submissions: Schemas["StudentSubmissionRead"][] }) {
  if (submissions.length === 0) return <p>No submissions yet.</p>;
  return (
    <ul className="submission-list">
      {submissions.map((s) => (
        <li key={s.submission_id} data-submission={s.submission_id}>
          <details>
            <summary>
              <span className={s.passed ? "ok" : "bad"}>{s.passed ? "Passed" : "Not yet"}</span>{" "}
              <strong>{s.title}</strong> · {Math.round(s.score * 100)}% · {when(s.created_at)}
            </summary>
            <ul className="tests">
              {s.tests.map((t) => (
                <li key={t.name} className={t.passed ? "ok" : "bad"}>
                  <span aria-hidden="true">{t.passed ? "✔" : "✘"}</span> {t.name}: {t.passed ? "passed" : "failed"}
                  {!t.passed && t.message && <pre className="output">{t.message}</pre>}
                </li>
              ))}
            </ul>
            {s.hidden_total > 0 && <p>Hidden tests: {s.hidden_passed} of {s.hidden_total} passed.</p>}
            <CodeView code={s.code} label={`Code submitted for ${s.title}`} />
          </details>
        </li>
      ))}
    </ul>
  );
}

const STATUS: Record<Schemas["StudentQueryRead"]["status"], string> = {
  pending: "waiting for an answer",
  answered: "answered",
  failed: "not answered (failed)",
};

export function QuestionList({ queries }: { queries: Schemas["StudentQueryRead"][] }) {
  if (queries.length === 0) return <p>No questions yet.</p>;
  return (
    <ul className="question-list">
      {queries.map((q) => (
        <li key={q.query_id} data-query={q.query_id}>
          <blockquote>{q.query}</blockquote>
          <p className="hint">
            {when(q.created_at)} · to {q.routed_to}
            {q.topic && <> · {q.topic}</>} · {STATUS[q.status]}
            {q.answer_agent && q.answer_kind === "answer" && <> by {q.answer_agent}</>}
          </p>
        </li>
      ))}
    </ul>
  );
}

const COLORS = ["#1d4ed8", "#7c3aed", "#0f766e", "#b45309", "#be123c", "#4d7c0f", "#0e7490", "#6d28d9"];

/** Points grouped per topic, in first-seen order (the points come oldest first). */
export function byTopic(points: Schemas["HistoryPoint"][]): Map<string, Schemas["HistoryPoint"][]> {
  const topics = new Map<string, Schemas["HistoryPoint"][]>();
  for (const p of points) topics.set(p.topic, [...(topics.get(p.topic) ?? []), p]);
  return topics;
}

export function MasteryHistory({ points }: { points: Schemas["HistoryPoint"][] }) {
  if (points.length === 0) return <p>No graded work yet.</p>;
  const width = 620;
  const height = 220;
  const pad = { left: 36, right: 12, top: 10, bottom: 24 };
  // The x axis is the order of the graded work, not the clock: a week's gap would squash a day's work.
  const x = (i: number) => pad.left + (points.length === 1 ? 0 : (i / (points.length - 1)) * (width - pad.left - pad.right));
  const y = (mastery: number) => pad.top + (1 - mastery / 100) * (height - pad.top - pad.bottom);
  const index = new Map(points.map((p, i) => [p, i]));
  const topics = [...byTopic(points)];
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby="history-title history-desc">
        <title id="history-title">Mastery over time</title>
        <desc id="history-desc">
          {topics.map(([topic, ps]) => `${topic}: from ${Math.round(ps[0]!.mastery)} to ${Math.round(ps[ps.length - 1]!.mastery)}`).join("; ")}
        </desc>
        {[0, 40, 70, 90, 100].map((m) => (
          <g key={m}>
            <line x1={pad.left} x2={width - pad.right} y1={y(m)} y2={y(m)} className="grid" stroke="#ddd" />
            <text x={pad.left - 4} y={y(m) + 4} textAnchor="end" className="band-label">{m}</text>
          </g>
        ))}
        {topics.map(([topic, ps], t) => (
          <g key={topic} data-history-topic={topic} stroke={COLORS[t % COLORS.length]} fill={COLORS[t % COLORS.length]}>
            <polyline fill="none" strokeWidth={2} points={ps.map((p) => `${x(index.get(p)!)},${y(p.mastery)}`).join(" ")} />
            {ps.map((p) => (
              <circle key={`${p.at}-${index.get(p)}`} cx={x(index.get(p)!)} cy={y(p.mastery)} r={3.5}>
                <title>{`${topic}: ${Math.round(p.mastery)} (${new Date(p.at).toLocaleString()})`}</title>
              </circle>
            ))}
          </g>
        ))}
      </svg>
      <figcaption className="legend">
        {topics.map(([topic], t) => (
          <span key={topic}>
            <span className="swatch" style={{ background: COLORS[t % COLORS.length] }} aria-hidden="true" /> {topic}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
