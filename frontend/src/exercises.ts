import type { Schemas } from "./api/client";

type Outcome = Schemas["TestOutcome"];

/** The test names the exercise shows students (pytest-style `def test_...` in its visible tests). */
export function visibleTestNames(visibleTests: string): Set<string> {
  return new Set(Array.from(visibleTests.matchAll(/^\s*def\s+(test\w*)\s*\(/gm), (m) => m[1]!));
}

/** A submission's results split the way students see them: each visible test, and a count for the hidden ones. */
export function splitOutcomes(outcomes: Outcome[], visibleTests: string) {
  const names = visibleTestNames(visibleTests);
  const visible = outcomes.filter((o) => names.has(o.name));
  const hidden = outcomes.filter((o) => !names.has(o.name));
  return { visible, hiddenPassed: hidden.filter((o) => o.passed).length, hiddenTotal: hidden.length };
}

/** Exercises grouped by topic, topics in the order they first appear (the bank's curriculum order). */
export function groupByTopic(exercises: Schemas["ExerciseRead"][]): [string, Schemas["ExerciseRead"][]][] {
  const groups = new Map<string, Schemas["ExerciseRead"][]>();
  for (const exercise of exercises) {
    const list = groups.get(exercise.topic) ?? [];
    list.push(exercise);
    groups.set(exercise.topic, list);
  }
  return Array.from(groups);
}

export type ModuleGroup = {
  module: string;
  title: string;
  topics: { topic: string; title: string; exercises: Schemas["ExerciseRead"][] }[];
};

/**
 * Exercises by module, then topic, in the curriculum's teaching order; topics and modules with no
 * exercise (after filtering) are left out. An exercise whose topic the outline does not know (a
 * teacher's, on a topic added later) goes under "Other topics" rather than disappearing.
 */
export function groupByModule(
  modules: Schemas["ModuleOutline"][],
  exercises: Schemas["ExerciseRead"][],
): ModuleGroup[] {
  const byTopic = new Map(groupByTopic(exercises));
  const groups: ModuleGroup[] = [];
  for (const m of [...modules].sort((a, b) => a.order - b.order)) {
    const topics = m.topics
      .filter((t) => byTopic.has(t.topic))
      .map((t) => ({ topic: t.topic, title: t.title, exercises: byTopic.get(t.topic)! }));
    m.topics.forEach((t) => byTopic.delete(t.topic));
    if (topics.length) groups.push({ module: m.module, title: m.title, topics });
  }
  if (byTopic.size) {
    groups.push({
      module: "other",
      title: "Other topics",
      topics: Array.from(byTopic, ([topic, list]) => ({ topic, title: topic, exercises: list })),
    });
  }
  return groups;
}
