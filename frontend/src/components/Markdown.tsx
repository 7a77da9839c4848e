// Tutor answers are Markdown from the server (and, through an LLM, partly from student text): rendered
// without raw HTML (react-markdown drops it unless rehype-raw is added) and with its URL sanitising.
import python from "highlight.js/lib/languages/python";
import pythonRepl from "highlight.js/lib/languages/python-repl";
import ReactMarkdown from "react-markdown";
import rehypeHighlight from "rehype-highlight";

// Only the languages answers contain: all of highlight.js would triple the bundle.
const HIGHLIGHT = { languages: { python, "python-repl": pythonRepl }, aliases: { python: ["py", "python3"] }, detect: false };

export function Markdown({ text }: { text: string }) {
  return (
    <div className="markdown">
      <ReactMarkdown skipHtml rehypePlugins={[[rehypeHighlight, HIGHLIGHT]]}>
        {text}
      </ReactMarkdown>
    </div>
  );
}
