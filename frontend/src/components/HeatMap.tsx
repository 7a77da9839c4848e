import { Link } from "react-router-dom";

// Students x topics mastery. Colour alone never carries the value: each cell shows its number too.
export interface HeatRow {
  student: string;
  label: string;
  scores: Record<string, number | undefined>;
}

export function heatColor(score: number | undefined): string {
  if (score === undefined) return "#f3f4f6";
  if (score <= 40) return "#fee2e2";
  if (score <= 70) return "#fef3c7";
  if (score <= 90) return "#d1fae5";
  return "#a7f3d0";
}

export function HeatMap({ rows, topics }: { rows: HeatRow[]; topics: string[] }) {
  if (rows.length === 0) return <p>No students yet.</p>;
  return (
    <div className="table-scroll">
      <table className="heatmap">
        <caption>Mastery by student and topic (0-100; empty: not started)</caption>
        <thead>
          <tr>
            <th scope="col">Student</th>
            {topics.map((t) => (
              <th scope="col" key={t}>{t}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.student}>
              <th scope="row">
                <Link to={`/students/${encodeURIComponent(row.student)}`}>{row.label}</Link>
              </th>
              {topics.map((t) => {
                const score = row.scores[t];
                return (
                  <td key={t} style={{ background: heatColor(score) }} title={`${row.label}, ${t}`}>
                    {score === undefined ? "–" : Math.round(score)}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
