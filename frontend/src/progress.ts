import type { Schemas } from "./api/client";

type Topic = Schemas["TopicProgress"];

/** What to do next for a topic: the part that would add the most points. */
export function nextStep(topic: Topic): string {
  const gaps = [
    { gain: (1 - topic.completion) * 40, say: `Solve more ${topic.topic} exercises (3 passed gives full credit).` },
    { gain: (1 - topic.quiz) * 30, say: `Take the ${topic.topic} quiz to raise your quiz score.` },
    { gain: (1 - topic.quality) * 20, say: `Tidy your ${topic.topic} solutions: the code-quality notes show what to fix.` },
    { gain: (1 - topic.consistency) * 10, say: `Keep a streak: pass a few ${topic.topic} exercises in a row.` },
  ];
  gaps.sort((a, b) => b.gain - a.gain);
  return gaps[0]!.gain < 0.5 ? `You have mastered ${topic.topic}. Pick a new topic!` : gaps[0]!.say;
}

/** The topics to work on first: started but lowest mastery. */
export function focusTopics(topics: Topic[], count = 3): Topic[] {
  return [...topics].filter((t) => t.level !== "Mastered").sort((a, b) => a.mastery - b.mastery).slice(0, count);
}
