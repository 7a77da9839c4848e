// Mastery per topic as stacked horizontal bars: each bar is the topic's 0-100 score split into its four
// weighted parts (completion 40, quiz 30, quality 20, consistency 10), over the level bands.
import type { Schemas } from "../api/client";

export const PARTS = [
  { key: "completion", label: "Exercises", weight: 40, color: "#1d4ed8" },
  { key: "quiz", label: "Quizzes", weight: 30, color: "#7c3aed" },
  { key: "quality", label: "Code quality", weight: 20, color: "#0f766e" },
  { key: "consistency", label: "Consistency", weight: 10, color: "#b45309" },
] as const;

// The server's bands: a score belongs to the band whose upper bound it does not exceed.
export const BANDS = [
  { upTo: 40, name: "Beginner" },
  { upTo: 70, name: "Learning" },
  { upTo: 90, name: "Proficient" },
  { upTo: 100, name: "Mastered" },
] as const;

type Topic = Schemas["TopicProgress"];

/** How many of the topic's 0-100 points a part contributes (the part itself is a 0-1 fraction). */
export function contribution(topic: Topic, key: (typeof PARTS)[number]["key"], weight: number): number {
  return Math.max(0, Math.min(1, topic[key])) * weight;
}

export function MasteryChart({ topics }: { topics: Topic[] }) {
  const row = 34;
  const labelWidth = 150;
  const width = 620;
  const scale = (width - labelWidth - 60) / 100;
  const height = topics.length * row + 40;
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby="mastery-title mastery-desc">
        <title id="mastery-title">Mastery per topic</title>
        <desc id="mastery-desc">
          {topics.map((t) => `${t.topic}: ${Math.round(t.mastery)} of 100, ${t.level}`).join("; ")}
        </desc>
        {BANDS.map((band, i) => {
          const from = i === 0 ? 0 : BANDS[i - 1]!.upTo;
          return (
            <g key={band.name}>
              <rect x={labelWidth + from * scale} y={0} width={(band.upTo - from) * scale} height={height - 20}
                className={`band band-${i}`} />
              <text x={labelWidth + from * scale + 3} y={height - 6} className="band-label">{band.name}</text>
            </g>
          );
        })}
        {topics.map((topic, i) => {
          let x = labelWidth;
          const y = i * row + 8;
          return (
            <g key={topic.topic} data-topic={topic.topic}>
              <text x={labelWidth - 8} y={y + 16} textAnchor="end" className="topic-label">{topic.topic}</text>
              {PARTS.map((part) => {
                const w = contribution(topic, part.key, part.weight) * scale;
                const rect = (
                  <rect key={part.key} x={x} y={y} width={w} height={22} fill={part.color}>
                    <title>{`${part.label}: ${Math.round(topic[part.key] * 100)}% (${contribution(topic, part.key, part.weight).toFixed(1)} of ${part.weight} points)`}</title>
                  </rect>
                );
                x += w;
                return rect;
              })}
              <text x={x + 6} y={y + 16} className="score">{Math.round(topic.mastery)}</text>
            </g>
          );
        })}
      </svg>
      <figcaption className="legend">
        {PARTS.map((p) => (
          <span key={p.key}>
            <span className="swatch" style={{ background: p.color }} aria-hidden="true" /> {p.label} ({p.weight})
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
