import { describe, expect, it } from "vitest";
import { mergeAlerts, reasonText } from "./alerts";
import type { Schemas } from "./api/client";
import { contribution } from "./components/MasteryChart";
import { groupByModule, groupByTopic, splitOutcomes, visibleTestNames } from "./exercises";
import { focusTopics, nextStep } from "./progress";

const topic = (over: Partial<Schemas["TopicProgress"]>): Schemas["TopicProgress"] => ({
  topic: "lists", mastery: 0, level: "Beginner", completion: 0, quiz: 0, quality: 0, consistency: 0, ...over,
});
const alert = (id: string, at: string): Schemas["AlertRead"] => ({
  alert_id: id, student_id: "ada", topic: null, reason: "asked_for_help", details: "", resolved: false, created_at: at,
});

describe("exercise results", () => {
  const visible = "from solution import f\n\ndef test_one():\n    assert f(1)\n\n  def test_two ():\n    pass\n";
  it("finds the visible test names", () => {
    expect([...visibleTestNames(visible)]).toEqual(["test_one", "test_two"]);
  });
  it("shows visible results and counts the hidden ones", () => {
    const outcomes = [
      { name: "test_one", passed: true, message: "" },
      { name: "test_two", passed: false, message: "assert False" },
      { name: "test_secret_a", passed: true, message: "" },
      { name: "test_secret_b", passed: false, message: "" },
    ];
    const split = splitOutcomes(outcomes, visible);
    expect(split.visible.map((o) => o.name)).toEqual(["test_one", "test_two"]);
    expect([split.hiddenPassed, split.hiddenTotal]).toEqual([1, 2]);
  });
  it("groups by module in teaching order, leaving out empty topics and keeping unknown ones", () => {
    const ex = (id: string, t: string) => ({ exercise_id: id, topic: t }) as Schemas["ExerciseRead"];
    const topic = (t: string) => ({ topic: t, title: t.toUpperCase(), summary: "s" });
    const modules = [
      { module: "b", title: "Second", order: 2, topics: [topic("loops")] },
      { module: "a", title: "First", order: 1, topics: [topic("vars"), topic("types")] },
    ];
    const groups = groupByModule(modules, [ex("1", "loops"), ex("2", "vars"), ex("3", "mine"), ex("4", "vars")]);
    expect(groups.map((g) => [g.title, g.topics.map((t) => [t.title, t.exercises.length])])).toEqual([
      ["First", [["VARS", 2]]],
      ["Second", [["LOOPS", 1]]],
      ["Other topics", [["mine", 1]]],
    ]);
  });
  it("groups by topic in first-seen order", () => {
    const ex = (id: string, t: string) => ({ exercise_id: id, topic: t }) as Schemas["ExerciseRead"];
    expect(groupByTopic([ex("a", "lists"), ex("b", "loops"), ex("c", "lists")]).map(([t, l]) => [t, l.length])).toEqual([
      ["lists", 2],
      ["loops", 1],
    ]);
  });
});

describe("progress", () => {
  it("weights each part into points", () => {
    const t = topic({ completion: 0.5, quiz: 1, quality: 0.9, consistency: 2 });
    expect(contribution(t, "completion", 40)).toBe(20);
    expect(contribution(t, "quiz", 30)).toBe(30);
    expect(contribution(t, "consistency", 10)).toBe(10); // clamped: a part is at most its weight
  });
  it("suggests the step worth the most points", () => {
    expect(nextStep(topic({ completion: 1, quiz: 0 }))).toMatch(/quiz/);
    expect(nextStep(topic({ completion: 0.3, quiz: 1 }))).toMatch(/exercises/);
    expect(nextStep(topic({ completion: 1, quiz: 1, quality: 1, consistency: 1 }))).toMatch(/mastered/);
  });
  it("focuses on the weakest unmastered topics", () => {
    const topics = [topic({ topic: "a", mastery: 50 }), topic({ topic: "b", mastery: 10 }), topic({ topic: "c", mastery: 95, level: "Mastered" })];
    expect(focusTopics(topics).map((t) => t.topic)).toEqual(["b", "a"]);
  });
});

describe("alerts", () => {
  it("reports only alerts not shown before, newest first", () => {
    const shown = [alert("1", "2026-01-01T10:00:00Z")];
    const merged = mergeAlerts(shown, [alert("1", "2026-01-01T10:00:00Z"), alert("2", "2026-01-01T11:00:00Z")]);
    expect(merged.alerts.map((a) => a.alert_id)).toEqual(["2", "1"]);
    expect(merged.fresh).toEqual(["2"]);
  });
  it("names reasons in words", () => {
    expect(reasonText("failed_submissions")).toMatch(/Failed submissions/);
    expect(reasonText("something_new")).toBe("something new");
  });
});
