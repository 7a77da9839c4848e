import { type FormEvent, useEffect, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { api, unwrap, type Schemas, type Topic } from "../api/client";
import { Markdown } from "../components/Markdown";
import { ErrorMessage, Loading } from "../components/Status";
import { useUser } from "../session";

export function QuizPage() {
  const params = useParams();
  // A topic the server does not know comes back as a 404, shown as a message.
  const topic = (params.topic ?? "") as Topic;
  const user = useUser();
  const [info, setInfo] = useState<Schemas["QuizInfo"] | null>(null);
  const [quiz, setQuiz] = useState<Schemas["QuizRead"] | null>(null);
  const [answers, setAnswers] = useState<Record<string, number | string>>({});
  const [result, setResult] = useState<Schemas["QuizAttemptRead"] | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    unwrap(api.GET("/api/quizzes/{topic}", { params: { path: { topic } } })).then(setInfo, setError);
  }, [topic]);

  async function start() {
    setBusy(true);
    setError(null);
    setResult(null);
    setAnswers({});
    try {
      setQuiz(await unwrap(api.POST("/api/quizzes/{topic}/attempts", { params: { path: { topic } }, body: { student_id: user.id } })));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  async function finish(event: FormEvent) {
    event.preventDefault();
    if (!quiz) return;
    setBusy(true);
    setError(null);
    try {
      setResult(
        await unwrap(
          api.POST("/api/quizzes/attempts/{attempt_id}/answers", {
            params: { path: { attempt_id: quiz.attempt_id } },
            body: { answers },
          }),
        ),
      );
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  const byId = new Map((result?.results ?? []).map((r) => [r.question_id, r]));
  return (
    <section aria-labelledby="quiz-title">
      <p><Link to="/exercises">← Exercises</Link></p>
      <h1 id="quiz-title">Quiz: {info?.title ?? topic}</h1>
      {!info && !error && <Loading what="Loading the quiz" />}
      {info && !quiz && (
        <p>
          {info.questions_per_attempt} questions drawn from {info.pool_size}.{" "}
          <button type="button" onClick={start} disabled={busy}>Start the quiz</button>
        </p>
      )}
      <ErrorMessage error={error} />
      {quiz && (
        <form onSubmit={finish} className="stack">
          {quiz.questions.map((q, i) => {
            const verdict = byId.get(q.question_id);
            return (
              <fieldset key={q.question_id} className={verdict ? (verdict.correct ? "ok-box" : "bad-box") : ""}>
                <legend>Question {i + 1}</legend>
                <Markdown text={q.prompt} />
                {q.code && <pre className="output"><code>{q.code}</code></pre>}
                {q.kind === "choice" ? (
                  q.choices.map((choice, c) => (
                    <label key={c} className="inline block">
                      <input type="radio" name={q.question_id} disabled={!!result}
                        checked={answers[q.question_id] === c}
                        onChange={() => setAnswers({ ...answers, [q.question_id]: c })} /> {choice}
                    </label>
                  ))
                ) : (
                  <label>
                    What does it print?
                    <textarea className="mono" rows={2} disabled={!!result}
                      value={String(answers[q.question_id] ?? "")}
                      onChange={(e) => setAnswers({ ...answers, [q.question_id]: e.target.value })} />
                  </label>
                )}
                {verdict && (
                  <p className={verdict.correct ? "ok" : "bad"}>
                    {verdict.correct ? "Correct." : `Not quite: the answer is ${verdict.expected}.`} {verdict.explanation}
                  </p>
                )}
              </fieldset>
            );
          })}
          {result ? (
            <p className="big" role="status">
              You got {result.correct} of {result.total} ({Math.round(result.score * 100)}%). Mastery of {result.topic}:{" "}
              {Math.round(result.mastery)} ({result.level}).{" "}
              <button type="button" className="secondary" onClick={start}>Try again</button>
            </p>
          ) : (
            <button type="submit" disabled={busy}>{busy ? "Checking…" : "Check my answers"}</button>
          )}
        </form>
      )}
    </section>
  );
}
