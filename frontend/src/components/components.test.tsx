import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router-dom";
import { describe, expect, it, vi } from "vitest";
import type { Schemas } from "../api/client";
import { SubmissionView } from "../pages/Exercise";
import { Answer } from "../pages/Tutor";
import { validationVerdict } from "../pages/Author";
import { CodeEditor } from "./CodeEditor";
import { DebugAnswerView } from "./DebugPanel";
import { HeatMap } from "./HeatMap";
import { MasteryChart } from "./MasteryChart";
import { RunResult } from "./RunResult";

describe("RunResult", () => {
  it("shows output, errors and the limits hit in plain words", () => {
    render(<RunResult result={{ stdout: "hi\n", stderr: "Traceback...\nZeroDivisionError", exit_code: 1, timed_out: true, memory_exceeded: false, output_truncated: true, duration_ms: 12 }} />);
    expect(screen.getByTestId("stdout")).toHaveTextContent("hi");
    expect(screen.getByTestId("stderr")).toHaveTextContent("ZeroDivisionError");
    expect(screen.getByText(/time limit/)).toBeInTheDocument();
    expect(screen.getByText(/output is cut short/)).toBeInTheDocument();
    expect(screen.queryByText(/memory limit/)).toBeNull();
  });
});

describe("DebugAnswerView", () => {
  const answer: Schemas["DebugAnswer"] = {
    error_type: "NameError", line: 2, message: "name 'x' is not defined", explanation: "You use `x` before setting it.",
    hints: ["Look at line 2.", "Where is x created?"], corrected_code: "x = 1\nprint(x)\n", fix_verified: true, run_status: "raised", source: "offline",
  };
  it("reveals hints one at a time and the fix only on request", async () => {
    const user = userEvent.setup();
    render(<DebugAnswerView answer={answer} />);
    expect(screen.getByText(/NameError/).closest("p")).toHaveTextContent("NameError on line 2: name 'x' is not defined");
    expect(screen.queryByText("Look at line 2.")).toBeNull();
    await user.click(screen.getByRole("button", { name: /Show a hint \(2 left\)/ }));
    expect(screen.getByText("Look at line 2.")).toBeInTheDocument();
    expect(screen.queryByText("Where is x created?")).toBeNull();
    await user.click(screen.getByRole("button", { name: /Show another hint/ }));
    expect(screen.getByText("That was the last hint.")).toBeInTheDocument();
    expect(screen.queryByText(/x = 1/)).toBeNull();
    await user.click(screen.getByRole("button", { name: "Show me the verified fix" }));
    expect(screen.getByText(/A fix that was checked/)).toBeInTheDocument();
    expect(screen.getByText(/x = 1/)).toBeInTheDocument();
  });
});

describe("SubmissionView", () => {
  it("lists visible tests and counts hidden ones", () => {
    const submission: Schemas["SubmissionRead"] = {
      submission_id: "s", exercise_id: "e", passed: false, score: 0.5, feedback: "2 of 4 tests passed.", quality: null,
      tests: [
        { name: "test_a", passed: true, message: "" }, { name: "test_b", passed: false, message: "assert 3 == 4" },
        { name: "test_h1", passed: true, message: "" }, { name: "test_h2", passed: false, message: "" },
      ],
    };
    render(<SubmissionView submission={submission} visibleTests={"def test_a():\n  pass\ndef test_b():\n  pass\n"} />);
    expect(screen.getByText(/Not yet/)).toBeInTheDocument();
    expect(screen.getByText(/test_b: failed/)).toBeInTheDocument();
    expect(screen.getByText("assert 3 == 4")).toBeInTheDocument();
    expect(screen.getByText("Hidden tests: 1 of 2 passed.")).toBeInTheDocument();
    expect(screen.queryByText(/test_h1/)).toBeNull();
  });
});

describe("Answer", () => {
  it("says who answered and from which source", () => {
    render(<Answer response={{ agent: "debug", kind: "answer", content: "**Look**", data: {}, source: "offline-fallback", query_id: "q", created_at: "2026-01-01T00:00:00Z" }} />);
    const article = screen.getByRole("article", { name: "Answer from Debugging tutor" });
    expect(within(article).getByText(/offline \(the AI model did not answer\)/)).toBeInTheDocument();
    expect(within(article).getByText("Look").tagName).toBe("STRONG");
  });
});

describe("MasteryChart", () => {
  it("draws the four parts of each topic with an accessible summary", () => {
    const { container } = render(
      <MasteryChart topics={[{ topic: "lists", mastery: 58, level: "Learning", completion: 1, quiz: 0.6, quality: 0, consistency: 0 }]} />,
    );
    expect(screen.getByRole("img", { name: /Mastery per topic/ })).toBeInTheDocument();
    expect(container.querySelector("desc")?.textContent).toContain("lists: 58 of 100, Learning");
    const bars = container.querySelectorAll('[data-topic="lists"] rect');
    expect(bars).toHaveLength(4);
    const widths = Array.from(bars, (b) => Number(b.getAttribute("width")));
    expect(widths[0]! / widths[1]!).toBeCloseTo(40 / 18); // 40 points of exercises, 18 of quiz
    expect(widths[2]).toBe(0);
  });
});

describe("HeatMap", () => {
  it("shows each score as a number and links to the student", () => {
    render(
      <MemoryRouter>
        <HeatMap rows={[{ student: "ada", label: "ada", scores: { lists: 72.4 } }]} topics={["lists", "loops"]} />
      </MemoryRouter>,
    );
    expect(screen.getByRole("link", { name: "ada" })).toHaveAttribute("href", "/students/ada");
    const cells = screen.getAllByRole("cell");
    expect(cells.map((c) => c.textContent)).toEqual(["72", "–"]);
  });
});

describe("validationVerdict", () => {
  const report = (passed: boolean): Schemas["GradeReport"] => ({ passed, score: passed ? 1 : 0, tests: [], feedback: "", grader_error: false });
  it("accepts a passing solution with a failing starter only", () => {
    expect(validationVerdict({ solution: report(true), starter: report(false) }).ok).toBe(true);
    expect(validationVerdict({ solution: report(false), starter: report(false) }).says[0]).toMatch(/solution fails/);
    expect(validationVerdict({ solution: report(true), starter: report(true) }).says[0]).toMatch(/starter code already passes/);
  });
});

describe("CodeEditor", () => {
  it("is a labelled Python editor that reports edits", async () => {
    const onChange = vi.fn();
    render(<CodeEditor label="Your solution" value={"def f():\n    pass\n"} onChange={onChange} />);
    const box = screen.getByRole("textbox", { name: "Your solution" });
    expect(box).toHaveTextContent("def f():");
    expect(document.querySelector(".cm-lineNumbers")).not.toBeNull();
  });
});
