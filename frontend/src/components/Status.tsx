import { Component, type ReactNode } from "react";

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {what}…
    </p>
  );
}

export function ErrorMessage({ error, children }: { error: unknown; children?: ReactNode }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div className="error" role="alert">
      <p>{message}</p>
      {children}
    </div>
  );
}

interface BoundaryState {
  failed: boolean;
}

/** A page that fails to render says so and offers a reload, instead of leaving a blank screen. */
export class ErrorBoundary extends Component<{ children: ReactNode }, BoundaryState> {
  state: BoundaryState = { failed: false };

  static getDerivedStateFromError(): BoundaryState {
    return { failed: true };
  }

  render() {
    if (!this.state.failed) return this.props.children;
    return (
      <div className="error" role="alert">
        <p>Sorry, this page ran into a problem. Your work on other pages is safe.</p>
        <button type="button" onClick={() => window.location.reload()}>Reload the page</button>
      </div>
    );
  }
}
