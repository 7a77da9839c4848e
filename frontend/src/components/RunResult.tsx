import type { Schemas } from "../api/client";

/** A run's outcome in plain words: output, errors and any limit it hit. */
export function RunResult({ result }: { result: Schemas["ExecutionResult"] }) {
  const limits: string[] = [];
  if (result.timed_out) limits.push("It ran too long and was stopped (time limit).");
  if (result.memory_exceeded) limits.push("It used too much memory and was stopped (memory limit).");
  if (result.output_truncated) limits.push("It printed too much; the output is cut short.");
  const ok = result.exit_code === 0 && limits.length === 0;
  return (
    <section className="run-result" aria-label="Run result" aria-live="polite">
      <p className={ok ? "ok" : "bad"}>
        {ok ? "Finished without errors" : result.exit_code === null ? "Stopped" : `Finished with errors (exit code ${result.exit_code})`}
        {result.duration_ms !== undefined && <span className="hint"> in {Math.round(result.duration_ms)} ms</span>}
      </p>
      {limits.map((l) => (
        <p key={l} className="bad">{l}</p>
      ))}
      <h3>Output</h3>
      <pre className="output" data-testid="stdout">{result.stdout || "(nothing printed)"}</pre>
      {result.stderr && (
        <>
          <h3>Errors</h3>
          <pre className="output stderr" data-testid="stderr">{result.stderr}</pre>
        </>
      )}
    </section>
  );
}
