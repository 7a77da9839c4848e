// Read-only Python, highlighted: a student's code as their teacher reads it. highlight.js escapes the
// text it is given, so its HTML carries the student's code as text, never as markup.
import hljs from "highlight.js/lib/core";
import python from "highlight.js/lib/languages/python";

hljs.registerLanguage("python", python);

export function CodeView({ code, label }: { code: string; label: string }) {
  const html = hljs.highlight(code, { language: "python", ignoreIllegals: true }).value;
  return (
    <pre className="code-view" aria-label={label} tabIndex={0}>
      <code className="hljs language-python" dangerouslySetInnerHTML={{ __html: html }} />
    </pre>
  );
}
