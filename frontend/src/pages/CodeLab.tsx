import { useState } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { CodeEditor } from "../components/CodeEditor";
import { DebugPanel } from "../components/DebugPanel";
import { RunResult } from "../components/RunResult";
import { ErrorMessage, Loading } from "../components/Status";
import { useUser } from "../session";

const START = 'name = input("What is your name? ")\nprint("Hello,", name)\n';

export function CodeLab() {
  const user = useUser();
  const [code, setCode] = useState(() => sessionStorage.getItem("learnflow.lab") ?? START);
  const [stdin, setStdin] = useState("");
  const [running, setRunning] = useState(false);
  const [result, setResult] = useState<Schemas["ExecutionResult"] | null>(null);
  const [error, setError] = useState<unknown>(null);

  function edit(value: string) {
    setCode(value);
    sessionStorage.setItem("learnflow.lab", value);
  }

  async function run() {
    setRunning(true);
    setError(null);
    try {
      setResult(await unwrap(api.POST("/api/execute", { body: { code, stdin, student_id: user.id } })));
    } catch (e) {
      setError(e);
    } finally {
      setRunning(false);
    }
  }

  return (
    <section aria-labelledby="lab-title">
      <h1 id="lab-title">Write and run Python</h1>
      <div className="two-col">
        <div className="stack">
          <CodeEditor label="Your Python program" value={code} onChange={edit} onSubmit={run} minLines={12} />
          <label>
            Input for the program (standard input, one answer per line)
            <textarea className="mono" rows={3} value={stdin} onChange={(e) => setStdin(e.target.value)} />
          </label>
          <button type="button" onClick={run} disabled={running}>{running ? "Running…" : "Run"}</button>
        </div>
        <div className="stack">
          {running && <Loading what="Running your program" />}
          <ErrorMessage error={error} />
          {result && <RunResult result={result} />}
          <DebugPanel code={code} stdin={stdin} />
        </div>
      </div>
    </section>
  );
}
