import type { Schemas } from "./api/client";

export const REASONS: Record<string, string> = {
  asked_for_help: "Asked for help (“I'm stuck”)",
  repeated_error: "The same error again and again",
  failed_runs: "Many failed runs in a row",
  failed_submissions: "Failed submissions of one exercise",
  stuck_on_exercise: "Stuck on an exercise for a while",
  low_quiz: "Low quiz score",
};

export function reasonText(reason: string): string {
  return REASONS[reason] ?? reason.replaceAll("_", " ");
}

/** Merge a fresh poll into what is shown: newest first, and the ids that were not there before. */
export function mergeAlerts(
  shown: Schemas["AlertRead"][],
  polled: Schemas["AlertRead"][],
): { alerts: Schemas["AlertRead"][]; fresh: string[] } {
  const before = new Set(shown.map((a) => a.alert_id));
  const alerts = [...polled].sort((a, b) => b.created_at.localeCompare(a.created_at));
  return { alerts, fresh: alerts.filter((a) => !before.has(a.alert_id)).map((a) => a.alert_id) };
}
