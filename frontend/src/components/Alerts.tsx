// Struggle alerts arriving live. The API has no alert stream yet, so the list is polled every few
// seconds; new alerts are announced to screen readers and highlighted.
import { useCallback, useEffect, useRef, useState } from "react";
import { Link } from "react-router-dom";
import { api, unwrap, type Schemas } from "../api/client";
import { mergeAlerts, reasonText } from "../alerts";
import { useStudentNames } from "../names";
import { CodeView } from "./CodeView";
import { ErrorMessage, Loading } from "./Status";

export const POLL_MS = 3000;

export function AlertsPanel({ studentId, pollMs = POLL_MS }: { studentId?: string; pollMs?: number }) {
  const names = useStudentNames();
  const [alerts, setAlerts] = useState<Schemas["AlertRead"][] | null>(null);
  const [fresh, setFresh] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [resolving, setResolving] = useState<string | null>(null);
  const shown = useRef<Schemas["AlertRead"][] | null>(null);

  const poll = useCallback(async () => {
    try {
      const polled = await unwrap(
        api.GET("/api/alerts", { params: { query: { resolved: false, ...(studentId ? { student_id: studentId } : {}) } } }),
      );
      const merged = mergeAlerts(shown.current ?? [], polled);
      // The first load is not "new": only alerts that arrive while the page is open are.
      if (shown.current !== null && merged.fresh.length > 0) setFresh((f) => [...f, ...merged.fresh]);
      shown.current = merged.alerts;
      setAlerts(merged.alerts);
      setError(null);
    } catch (e) {
      setError(e);
    }
  }, [studentId]);

  useEffect(() => {
    void poll();
    const timer = window.setInterval(() => void poll(), pollMs);
    return () => window.clearInterval(timer);
  }, [poll, pollMs]);

  async function resolve(id: string) {
    setResolving(id);
    try {
      await unwrap(api.POST("/api/alerts/{alert_id}/resolve", { params: { path: { alert_id: id } } }));
      shown.current = (shown.current ?? []).filter((a) => a.alert_id !== id);
      setAlerts(shown.current);
    } catch (e) {
      setError(e);
    } finally {
      setResolving(null);
    }
  }

  return (
    <section aria-labelledby="alerts-title" className="alerts">
      <h2 id="alerts-title">Struggle alerts {alerts && <span className="badge">{alerts.length}</span>}</h2>
      <p className="hint">Updated every {Math.round(pollMs / 1000)} seconds.</p>
      <ErrorMessage error={error} />
      {alerts === null && !error && <Loading what="Loading alerts" />}
      {alerts?.length === 0 && <p>Nobody is stuck right now.</p>}
      <div aria-live="polite" className="sr-only">
        {fresh.length > 0 && `${fresh.length} new alert${fresh.length === 1 ? "" : "s"}`}
      </div>
      <ul className="alert-list">
        {alerts?.map((a) => (
          <li key={a.alert_id} className={fresh.includes(a.alert_id) ? "alert new" : "alert"} data-alert={a.alert_id}>
            <p>
              <strong>{reasonText(a.reason)}</strong>
              {fresh.includes(a.alert_id) && <span className="badge new-badge">new</span>}
            </p>
            <p>
              <Link to={`/students/${encodeURIComponent(a.student_id)}`}>{names.get(a.student_id) ?? a.student_id}</Link>
              {a.topic && <> · {a.topic}</>} · <time dateTime={a.created_at}>{new Date(a.created_at).toLocaleString()}</time>
            </p>
            {a.details && <pre className="output">{a.details}</pre>}
            {a.recent_code && (
              <details className="recent-code" open>
                <summary>Their recent code</summary>
                <CodeView code={a.recent_code} label={`Recent code of ${names.get(a.student_id) ?? a.student_id}`} />
              </details>
            )}
            <button type="button" onClick={() => resolve(a.alert_id)} disabled={resolving === a.alert_id}>
              {resolving === a.alert_id ? "Resolving…" : "Mark as resolved"}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
