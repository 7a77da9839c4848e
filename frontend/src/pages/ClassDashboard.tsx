// The class dashboard: students x topics mastery and live struggle alerts. Until the classes API
// (branch authz) is merged, the roster is the students the teacher adds here plus those with alerts.
import { type FormEvent, useCallback, useEffect, useState } from "react";
import { api, unwrap } from "../api/client";
import { AlertsPanel } from "../components/Alerts";
import { HeatMap, type HeatRow } from "../components/HeatMap";
import { ErrorMessage, Loading } from "../components/Status";

const ROSTER_KEY = "learnflow.roster";
const ID = /^[A-Za-z0-9_.@:-]{1,128}$/;

function savedRoster(): string[] {
  try {
    return JSON.parse(localStorage.getItem(ROSTER_KEY) ?? "[]") as string[];
  } catch {
    return [];
  }
}

export function ClassDashboard() {
  const [roster, setRoster] = useState<string[]>(savedRoster);
  const [rows, setRows] = useState<HeatRow[] | null>(null);
  const [topics, setTopics] = useState<string[]>([]);
  const [name, setName] = useState("");
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(async () => {
    try {
      const alerted = await unwrap(api.GET("/api/alerts", { params: { query: { limit: 500 } } }));
      const students = Array.from(new Set([...roster, ...alerted.map((a) => a.student_id)])).sort();
      const progress = await Promise.all(
        students.map((s) => unwrap(api.GET("/api/students/{student_id}/progress", { params: { path: { student_id: s } } }))),
      );
      const seen = new Set<string>();
      setRows(
        progress.map((p) => ({
          student: p.student_id,
          label: p.student_id,
          scores: Object.fromEntries(p.topics.map((t) => (seen.add(t.topic), [t.topic, t.mastery]))),
        })),
      );
      setTopics(Array.from(seen).sort());
      setError(null);
    } catch (e) {
      setError(e);
    }
  }, [roster]);

  useEffect(() => {
    void load();
    const timer = window.setInterval(() => void load(), 10000);
    return () => window.clearInterval(timer);
  }, [load]);

  function add(event: FormEvent) {
    event.preventDefault();
    if (!ID.test(name)) {
      setError(new Error("A student id uses letters, digits and . _ @ : - only."));
      return;
    }
    const next = Array.from(new Set([...roster, name]));
    localStorage.setItem(ROSTER_KEY, JSON.stringify(next));
    setRoster(next);
    setName("");
  }

  return (
    <section aria-labelledby="class-title">
      <h1 id="class-title">Your class</h1>
      <div className="two-col wide-left">
        <div className="stack">
          {rows === null && !error && <Loading what="Loading the class" />}
          <ErrorMessage error={error} />
          {rows && <HeatMap rows={rows} topics={topics} />}
          <form onSubmit={add} className="inline-form">
            <label>
              Add a student by id
              <input value={name} onChange={(e) => setName(e.target.value)} />
            </label>
            <button type="submit" className="secondary">Add</button>
          </form>
        </div>
        <AlertsPanel />
      </div>
    </section>
  );
}
