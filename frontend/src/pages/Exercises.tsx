import { useEffect, useState } from "react";
import { Link } from "react-router-dom";
import { api, unwrap, type Schemas } from "../api/client";
import { ErrorMessage, Loading } from "../components/Status";
import { groupByModule } from "../exercises";

const DIFFICULTIES = ["", "beginner", "intermediate", "advanced"] as const;

export function Exercises() {
  const [difficulty, setDifficulty] = useState<(typeof DIFFICULTIES)[number]>("");
  const [filter, setFilter] = useState("");
  const [exercises, setExercises] = useState<Schemas["ExerciseRead"][] | null>(null);
  const [modules, setModules] = useState<Schemas["ModuleOutline"][] | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    unwrap(api.GET("/api/curriculum")).then((c) => setModules(c.modules), setError);
  }, []);

  useEffect(() => {
    setExercises(null);
    setError(null);
    const query = difficulty ? { difficulty } : {};
    unwrap(api.GET("/api/exercises", { params: { query } })).then(setExercises, setError);
  }, [difficulty]);

  const shown = (exercises ?? []).filter(
    (e) => !filter || e.topic.includes(filter.toLowerCase()) || e.title.toLowerCase().includes(filter.toLowerCase()),
  );

  return (
    <section aria-labelledby="ex-title">
      <h1 id="ex-title">Exercises</h1>
      <div className="filters">
        <label>
          Difficulty
          <select value={difficulty} onChange={(e) => setDifficulty(e.target.value as typeof difficulty)}>
            {DIFFICULTIES.map((d) => (
              <option key={d} value={d}>{d || "any"}</option>
            ))}
          </select>
        </label>
        <label>
          Find a topic or title
          <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} />
        </label>
      </div>
      {(exercises === null || modules === null) && !error && <Loading what="Loading exercises" />}
      <ErrorMessage error={error} />
      {exercises && shown.length === 0 && <p>No exercises match.</p>}
      {modules &&
        groupByModule(modules, shown).map((group) => (
          <section key={group.module} className="module-group" aria-labelledby={`m-${group.module}`}>
            <h2 id={`m-${group.module}`}>{group.title}</h2>
            {group.topics.map(({ topic, title, exercises: list }) => (
              <section key={topic} className="topic-group" aria-labelledby={`t-${topic}`}>
                <h3 id={`t-${topic}`}>
                  {title} <Link className="small" to={`/quiz/${topic}`}>Take the {topic} quiz</Link>
                </h3>
                <ul className="cards">
                  {list.map((e) => (
                    <li key={e.exercise_id}>
                      <Link to={`/exercises/${e.exercise_id}`}>{e.title}</Link>
                      <span className="badge">{e.difficulty}</span>
                    </li>
                  ))}
                </ul>
              </section>
            ))}
          </section>
        ))}
    </section>
  );
}
