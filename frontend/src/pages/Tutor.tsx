// The tutor chat. Questions go to triage without waiting; every answer of the session (and the
// acknowledgement while a specialist works) arrives on the session's SSE stream, which also replays
// the session's earlier answers after a reconnect (EventSource resends Last-Event-ID).
import { type FormEvent, useEffect, useMemo, useRef, useState } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { Markdown } from "../components/Markdown";
import { ErrorMessage } from "../components/Status";
import { useUser } from "../session";

type Response = Schemas["ResponseRead"];
interface Question {
  query_id: string;
  text: string;
}

export const AGENT_NAMES: Record<string, string> = {
  concepts: "Concepts tutor",
  debug: "Debugging tutor",
  exercise: "Exercise coach",
  triage: "Triage",
};
export const SOURCE_NAMES: Record<string, string> = {
  offline: "offline knowledge base",
  llm: "AI model",
  "offline-fallback": "offline (the AI model did not answer)",
};

function newSessionId(): string {
  return `web-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export function Answer({ response }: { response: Response }) {
  return (
    <article className={`bubble answer kind-${response.kind}`} aria-label={`Answer from ${AGENT_NAMES[response.agent] ?? response.agent}`}>
      <p className="meta">
        <strong>{AGENT_NAMES[response.agent] ?? response.agent}</strong>
        <span className="badge" title="Where this answer came from">source: {SOURCE_NAMES[response.source] ?? response.source}</span>
      </p>
      <Markdown text={response.content} />
    </article>
  );
}

export function Tutor() {
  const user = useUser();
  const sessionId = useMemo(() => sessionStorage.getItem("learnflow.session") ?? newSessionId(), []);
  const [questions, setQuestions] = useState<Question[]>([]);
  const [responses, setResponses] = useState<Response[]>([]);
  const [text, setText] = useState("");
  const [code, setCode] = useState("");
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [connected, setConnected] = useState(false);
  const end = useRef<HTMLDivElement>(null);

  useEffect(() => {
    sessionStorage.setItem("learnflow.session", sessionId);
    const source = new EventSource(`/api/sessions/${encodeURIComponent(sessionId)}/stream`, { withCredentials: true });
    source.onopen = () => setConnected(true);
    source.onerror = () => setConnected(false);
    source.addEventListener("learning.response", (event) => {
      const response = JSON.parse((event as MessageEvent<string>).data) as Response;
      setResponses((all) =>
        all.some((r) => r.query_id === response.query_id && r.kind === response.kind && r.agent === response.agent)
          ? all
          : [...all, response],
      );
    });
    return () => source.close();
  }, [sessionId]);

  useEffect(() => {
    // A block body: newer browsers return a promise from scrollIntoView, and React would call it on cleanup.
    void end.current?.scrollIntoView?.({ block: "end" });
  }, [responses, questions]);

  async function ask(event: FormEvent) {
    event.preventDefault();
    if (!text.trim() && !code.trim()) return;
    setSending(true);
    setError(null);
    try {
      const triage = await unwrap(
        api.POST("/api/triage", {
          body: { student_id: user.id, session_id: sessionId, query: text, code: code.trim() ? code : null },
        }),
      );
      setQuestions((all) => [...all, { query_id: triage.query_id, text: text || "(my code)" }]);
      setText("");
    } catch (e) {
      setError(e);
    } finally {
      setSending(false);
    }
  }

  const answered = new Set(responses.filter((r) => r.kind !== "ack").map((r) => r.query_id));
  const orphanResponses = responses.filter((r) => !questions.some((q) => q.query_id === r.query_id));

  return (
    <section aria-labelledby="tutor-title">
      <h1 id="tutor-title">Ask the tutor</h1>
      <p className="hint">
        {connected ? "Connected: answers appear here as soon as they are ready." : "Connecting to the tutor…"}
      </p>
      <div className="chat" aria-live="polite" aria-relevant="additions">
        {orphanResponses.map((r) => (
          <Answer key={`${r.query_id}-${r.agent}-${r.kind}`} response={r} />
        ))}
        {questions.map((q) => (
          <div key={q.query_id} className="exchange">
            <p className="bubble question"><span className="sr-only">You asked: </span>{q.text}</p>
            {responses
              .filter((r) => r.query_id === q.query_id && (r.kind !== "ack" || !answered.has(q.query_id)))
              .map((r) => (
                <Answer key={`${r.agent}-${r.kind}`} response={r} />
              ))}
            {!answered.has(q.query_id) && (
              <p className="loading" role="status"><span className="spinner" aria-hidden="true" /> The tutor is answering…</p>
            )}
          </div>
        ))}
        <div ref={end} />
      </div>
      <form onSubmit={ask} className="stack ask">
        <label>
          Your question
          <textarea value={text} onChange={(e) => setText(e.target.value)} rows={3}
            placeholder="e.g. How do for loops work?" maxLength={4000} />
        </label>
        <details>
          <summary>Add code to the question</summary>
          <label>
            Code
            <textarea className="mono" value={code} onChange={(e) => setCode(e.target.value)} rows={6} />
          </label>
        </details>
        <ErrorMessage error={error} />
        <button type="submit" disabled={sending}>{sending ? "Sending…" : "Ask"}</button>
      </form>
    </section>
  );
}
