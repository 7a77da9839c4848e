// The class dashboard: students x topics mastery of the teacher's class (GET /api/classes/{id}/progress)
// and live struggle alerts. Without accounts (open access) there are no classes: the roster is the
// students the teacher adds here plus those with alerts, each read through their own progress.
import { type FormEvent, useCallback, useEffect, useState } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { AlertsPanel } from "../components/Alerts";
import { HeatMap, type HeatRow } from "../components/HeatMap";
import { ErrorMessage, Loading } from "../components/Status";
import { useStudentNames } from "../names";
import { useUser } from "../session";

const ROSTER_KEY = "learnflow.roster";
const ID = /^[A-Za-z0-9_.@:-]{1,128}$/;
const REFRESH_MS = 10_000;

function savedRoster(): string[] {
  try {
    return JSON.parse(localStorage.getItem(ROSTER_KEY) ?? "[]") as string[];
  } catch {
    return [];
  }
}

/** Heat-map rows from a class's progress, labelled with usernames where the teacher may see them. */
export function rowsOfClass(progress: Schemas["ClassProgressRead"], names: Map<string, string>): HeatRow[] {
  return progress.students.map((s) => ({
    student: s.student_id,
    label: names.get(s.student_id) ?? s.student_id,
    scores: Object.fromEntries(s.topics.map((t) => [t.topic, t.mastery])),
  }));
}

function ClassView() {
  const [classes, setClasses] = useState<Schemas["ClassRead"][] | null>(null);
  const [selected, setSelected] = useState<string>("");
  const [progress, setProgress] = useState<Schemas["ClassProgressRead"] | null>(null);
  const names = useStudentNames();
  const [newClass, setNewClass] = useState("");
  const [student, setStudent] = useState("");
  const [error, setError] = useState<unknown>(null);

  const loadClasses = useCallback(async () => {
    try {
      const list = await unwrap(api.GET("/api/classes"));
      setClasses(list);
      setSelected((current) => current || list[0]?.class_id || "");
    } catch (e) {
      setError(e);
    }
  }, []);
  useEffect(() => void loadClasses(), [loadClasses]);

  const loadProgress = useCallback(async () => {
    if (!selected) return;
    try {
      setProgress(await unwrap(api.GET("/api/classes/{class_id}/progress", { params: { path: { class_id: selected } } })));
    } catch (e) {
      setError(e);
    }
  }, [selected]);
  useEffect(() => {
    void loadProgress();
    const timer = window.setInterval(() => void loadProgress(), REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [loadProgress]);

  async function create(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      const made = await unwrap(api.POST("/api/classes", { body: { name: newClass } }));
      setNewClass("");
      setSelected(made.class_id);
      await loadClasses();
    } catch (e) {
      setError(e);
    }
  }

  async function add(event: FormEvent) {
    event.preventDefault();
    setError(null);
    // Teachers know their students by username; the class stores account ids.
    const id = [...names].find(([, username]) => username === student.trim())?.[0] ?? student.trim();
    try {
      await unwrap(api.POST("/api/classes/{class_id}/students", { params: { path: { class_id: selected } }, body: { student_id: id } }));
      setStudent("");
      await Promise.all([loadClasses(), loadProgress()]);
    } catch (e) {
      setError(e);
    }
  }

  return (
    <div className="stack">
      {classes === null && !error && <Loading what="Loading your classes" />}
      <ErrorMessage error={error} />
      {classes && classes.length > 0 && (
        <label>
          Class
          <select value={selected} onChange={(e) => setSelected(e.target.value)}>
            {classes.map((c) => (
              <option key={c.class_id} value={c.class_id}>{c.name} ({c.student_ids.length} students)</option>
            ))}
          </select>
        </label>
      )}
      {selected && !progress && !error && <Loading what="Loading the class's progress" />}
      {progress && <HeatMap rows={rowsOfClass(progress, names)} topics={progress.topics} />}
      {selected && (
        <form onSubmit={add} className="inline-form">
          <label>
            Add a student (username)
            <input value={student} onChange={(e) => setStudent(e.target.value)} list="student-names" required />
            <datalist id="student-names">
              {[...names.values()].map((n) => (
                <option key={n} value={n} />
              ))}
            </datalist>
          </label>
          <button type="submit" className="secondary">Add to class</button>
        </form>
      )}
      <form onSubmit={create} className="inline-form">
        <label>
          New class name
          <input value={newClass} onChange={(e) => setNewClass(e.target.value)} required maxLength={120} />
        </label>
        <button type="submit" className="secondary">Create class</button>
      </form>
    </div>
  );
}

function RosterView() {
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
    const timer = window.setInterval(() => void load(), REFRESH_MS);
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
  );
}

export function ClassDashboard() {
  const user = useUser();
  return (
    <section aria-labelledby="class-title">
      <h1 id="class-title">Your class</h1>
      <div className="two-col wide-left">
        {user.openAccess ? <RosterView /> : <ClassView />}
        <AlertsPanel />
      </div>
    </section>
  );
}
