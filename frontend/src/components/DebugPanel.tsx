// "Why doesn't this work?": the debug tutor's diagnosis, its hints one at a time, and its fix only
// when the student asks for it (a verified fix printed the expected output or passed the tests).
import { useState } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { useUser } from "../session";
import { Markdown } from "./Markdown";
import { ErrorMessage, Loading } from "./Status";

export function DebugAnswerView({ answer }: { answer: Schemas["DebugAnswer"] }) {
  const [shown, setShown] = useState(0);
  const [showFix, setShowFix] = useState(false);
  const hints = answer.hints ?? [];
  return (
    <section className="debug-answer" aria-label="What went wrong" aria-live="polite">
      {answer.error_type && (
        <p className="bad">
          <strong>{answer.error_type}</strong>
          {answer.line ? ` on line ${answer.line}` : ""}
          {answer.message ? `: ${answer.message}` : ""}
        </p>
      )}
      <Markdown text={answer.explanation} />
      {hints.length > 0 && (
        <>
          <h3>Hints</h3>
          <ol className="hints">
            {hints.slice(0, shown).map((hint, i) => (
              <li key={i}><Markdown text={hint} /></li>
            ))}
          </ol>
          {shown < hints.length ? (
            <button type="button" onClick={() => setShown(shown + 1)}>
              {shown === 0 ? "Show a hint" : "Show another hint"} ({hints.length - shown} left)
            </button>
          ) : (
            <p className="hint">That was the last hint.</p>
          )}
        </>
      )}
      {answer.corrected_code && (
        <div className="fix">
          {showFix ? (
            <>
              <h3>{answer.fix_verified ? "A fix that was checked" : "A suggested fix (not checked against an expected output)"}</h3>
              <pre className="output"><code>{answer.corrected_code}</code></pre>
            </>
          ) : (
            <button type="button" className="secondary" onClick={() => setShowFix(true)}>
              Show me the {answer.fix_verified ? "verified fix" : "suggested fix"}
            </button>
          )}
        </div>
      )}
    </section>
  );
}

export function DebugPanel({ code, stdin, exerciseId }: { code: string; stdin: string; exerciseId?: string }) {
  const user = useUser();
  const [expected, setExpected] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [answer, setAnswer] = useState<Schemas["DebugAnswer"] | null>(null);

  async function why() {
    setBusy(true);
    setError(null);
    setAnswer(null);
    try {
      setAnswer(
        await unwrap(
          api.POST("/api/debug/analyze", {
            body: {
              code,
              stdin,
              student_id: user.id,
              question: "Why doesn't this work?",
              expected_output: expected.trim() ? expected : null,
              exercise_id: exerciseId ?? null,
            },
          }),
        ),
      );
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="stack" aria-label="Debugging help">
      {!exerciseId && (
        <label>
          Expected output (optional)
          <textarea className="mono" rows={2} value={expected} onChange={(e) => setExpected(e.target.value)} />
        </label>
      )}
      <button type="button" className="secondary" onClick={why} disabled={busy || !code.trim()}>
        Why doesn't this work?
      </button>
      {busy && <Loading what="Looking at your code" />}
      <ErrorMessage error={error} />
      {answer && <DebugAnswerView answer={answer} />}
    </section>
  );
}
