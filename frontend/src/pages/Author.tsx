// Exercise authoring: the teacher writes everything in editors, validates (the solution must pass the
// tests and the starter must fail them, graded by the real sandbox through /api/grade), then publishes;
// the server checks the same rule again before it stores the exercise.
import { type FormEvent, useEffect, useState } from "react";
import { Link } from "react-router-dom";
import { api, unwrap, type Difficulty, type Schemas, type Topic } from "../api/client";
import { CodeEditor } from "../components/CodeEditor";
import { ErrorMessage, Loading } from "../components/Status";

const DIFFICULTIES: Difficulty[] = ["beginner", "intermediate", "advanced"];

const TESTS = "from solution import *\n\n\ndef test_example():\n    assert True\n";

interface Validation {
  solution: Schemas["GradeReport"];
  starter: Schemas["GradeReport"];
}

export function validationVerdict(v: Validation): { ok: boolean; says: string[] } {
  const says: string[] = [];
  if (!v.solution.passed) says.push(`The solution fails: ${v.solution.feedback}`);
  if (v.starter.passed) says.push("The starter code already passes every test: the tests do not check the task.");
  return { ok: says.length === 0, says: says.length ? says : ["The solution passes and the starter fails: ready to publish."] };
}

function Report({ title, report }: { title: string; report: Schemas["GradeReport"] }) {
  return (
    <div>
      <h3>{title}: {report.feedback}</h3>
      <ul className="tests">
        {report.tests.map((t) => (
          <li key={t.name} className={t.passed ? "ok" : "bad"}>
            <span aria-hidden="true">{t.passed ? "✔" : "✘"}</span> {t.name}: {t.passed ? "passed" : "failed"}
          </li>
        ))}
      </ul>
    </div>
  );
}

export function Author() {
  const [title, setTitle] = useState("");
  const [topic, setTopic] = useState("");
  const [topics, setTopics] = useState<string[]>([]);
  const [difficulty, setDifficulty] = useState<Difficulty>("beginner");
  const [description, setDescription] = useState("");
  const [starter, setStarter] = useState("def solve():\n    pass\n");
  const [solution, setSolution] = useState("def solve():\n    return 42\n");
  const [tests, setTests] = useState(TESTS);
  const [hints, setHints] = useState("");
  const [busy, setBusy] = useState<"" | "validate" | "publish">("");
  const [validation, setValidation] = useState<Validation | null>(null);
  const [published, setPublished] = useState<Schemas["ExerciseCreated"] | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    unwrap(api.GET("/api/exercises")).then(
      (all) => setTopics(Array.from(new Set(all.map((e) => e.topic)))),
      () => setTopics([]),
    );
  }, []);

  async function validate() {
    setBusy("validate");
    setError(null);
    try {
      const [sol, start] = await Promise.all([
        unwrap(api.POST("/api/grade", { body: { code: solution, tests, hidden_tests: "" } })),
        unwrap(api.POST("/api/grade", { body: { code: starter, tests, hidden_tests: "" } })),
      ]);
      setValidation({ solution: sol, starter: start });
    } catch (e) {
      setError(e);
    } finally {
      setBusy("");
    }
  }

  async function publish(event: FormEvent) {
    event.preventDefault();
    setBusy("publish");
    setError(null);
    try {
      setPublished(
        await unwrap(
          api.POST("/api/exercises", {
            body: {
              title,
              // The server refuses a topic it does not teach with a message naming the field.
              topic: topic as Topic,
              difficulty,
              description,
              starter_code: starter,
              solution,
              tests,
              hints: hints.split("\n").map((h) => h.trim()).filter(Boolean),
            },
          }),
        ),
      );
    } catch (e) {
      setError(e);
    } finally {
      setBusy("");
    }
  }

  const verdict = validation && validationVerdict(validation);
  return (
    <section aria-labelledby="author-title">
      <h1 id="author-title">New exercise</h1>
      <form onSubmit={publish} className="stack">
        <div className="filters">
          <label>
            Title
            <input value={title} onChange={(e) => setTitle(e.target.value)} required maxLength={200} />
          </label>
          <label>
            Topic
            <input value={topic} onChange={(e) => setTopic(e.target.value)} list="topics" required />
            <datalist id="topics">
              {topics.map((t) => (
                <option key={t} value={t} />
              ))}
            </datalist>
          </label>
          <label>
            Difficulty
            <select value={difficulty} onChange={(e) => setDifficulty(e.target.value as Difficulty)}>
              {DIFFICULTIES.map((d) => (
                <option key={d} value={d}>{d}</option>
              ))}
            </select>
          </label>
        </div>
        <label>
          Description (Markdown)
          <textarea rows={4} value={description} onChange={(e) => setDescription(e.target.value)} required />
        </label>
        <div className="two-col">
          <div>
            <h2 className="small-h">Starter code</h2>
            <CodeEditor label="Starter code" value={starter} onChange={setStarter} minLines={6} />
          </div>
          <div>
            <h2 className="small-h">Solution</h2>
            <CodeEditor label="Solution" value={solution} onChange={setSolution} minLines={6} />
          </div>
        </div>
        <h2 className="small-h">Tests (pytest; the code is importable as <code>solution</code>)</h2>
        <CodeEditor label="Tests" value={tests} onChange={setTests} minLines={8} />
        <label>
          Hints, one per line
          <textarea rows={3} value={hints} onChange={(e) => setHints(e.target.value)} />
        </label>
        <div className="buttons">
          <button type="button" className="secondary" onClick={validate} disabled={busy !== ""}>
            {busy === "validate" ? "Validating…" : "Validate"}
          </button>
          <button type="submit" disabled={busy !== ""}>{busy === "publish" ? "Publishing…" : "Publish"}</button>
        </div>
        {busy && <Loading what={busy === "validate" ? "Running the tests on the solution and the starter" : "Checking and publishing"} />}
        <ErrorMessage error={error} />
        {validation && verdict && (
          <section aria-label="Validation" aria-live="polite" className={verdict.ok ? "ok-box" : "bad-box"}>
            {verdict.says.map((s) => (
              <p key={s} className={verdict.ok ? "ok" : "bad"}>{s}</p>
            ))}
            <Report title="Solution" report={validation.solution} />
            <Report title="Starter" report={validation.starter} />
          </section>
        )}
        {published && (
          <section aria-label="Published" className="ok-box" role="status">
            <p className="ok">
              Published: <Link to={`/exercises/${published.exercise_id}`}>{published.title}</Link> ({published.exercise_id})
            </p>
            {(published.warnings ?? []).length > 0 && (
              <>
                <p>These changed solutions still pass every test; consider a test that catches them:</p>
                <ul>
                  {(published.warnings ?? []).map((w) => (
                    <li key={w}><code>{w}</code></li>
                  ))}
                </ul>
              </>
            )}
          </section>
        )}
      </form>
    </section>
  );
}
