// CodeMirror 6 with Python: line numbers, auto-indent, bracket matching, undo and search keymaps
// (basicSetup), and Tab indents. Escape then Tab leaves the editor, so keyboard users are never trapped.
import { indentWithTab } from "@codemirror/commands";
import { python } from "@codemirror/lang-python";
import { EditorState } from "@codemirror/state";
import { EditorView, keymap } from "@codemirror/view";
import { basicSetup } from "codemirror";
import { useEffect, useRef } from "react";

interface Props {
  value: string;
  onChange: (value: string) => void;
  label: string;
  minLines?: number;
  /** Ctrl/Cmd+Enter: the page's main action (Run, Submit). */
  onSubmit?: () => void;
}

export function CodeEditor({ value, onChange, label, minLines = 8, onSubmit }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  // The latest callbacks, read by the editor's listeners, which are created once.
  const latest = useRef({ onChange, onSubmit });
  latest.current = { onChange, onSubmit };

  useEffect(() => {
    if (!host.current) return;
    const editor = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: value,
        extensions: [
          keymap.of([
            {
              key: "Mod-Enter",
              run: () => {
                latest.current.onSubmit?.();
                return latest.current.onSubmit !== undefined;
              },
            },
            indentWithTab,
          ]),
          basicSetup,
          python(),
          EditorView.contentAttributes.of({ "aria-label": label, "aria-multiline": "true" }),
          EditorView.theme({ ".cm-content, .cm-gutter": { minHeight: `${minLines * 1.4}em` } }),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) latest.current.onChange(update.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = editor;
    return () => {
      editor.destroy();
      view.current = null;
    };
    // The editor is built once; later values arrive through the effect below.
  }, []);

  useEffect(() => {
    const editor = view.current;
    if (editor && editor.state.doc.toString() !== value) {
      editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: value } });
    }
  }, [value]);

  return (
    <div className="editor" data-testid="code-editor">
      <div ref={host} />
      <p className="hint">Tab indents; Esc then Tab leaves the editor{onSubmit ? "; Ctrl+Enter runs" : ""}.</p>
    </div>
  );
}
