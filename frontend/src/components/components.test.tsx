import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router-dom";
import { describe, expect, it, vi } from "vitest";
import type { Schemas } from "../api/client";
import { SubmissionView } from "../pages/Exercise";
import { Answer } from "../pages/Tutor";
import { validationVerdict } from "../pages/Author";
import { CodeEditor } from "./CodeEditor";
import { CodeView } from "./CodeView";
import { DebugAnswerView } from "./DebugPanel";
import { HeatMap } from "./HeatMap";
import { MasteryChart } from "./MasteryChart";
import { RunResult } from "./RunResult";
import { byTopic, MasteryHistory, QuestionList, SubmissionList } from "./StudentWork";

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

describe("CodeView", () => {
  it("highlights Python and keeps a student's markup as text", () => {
    const { container } = render(<CodeView code={'def f():\n    return "<b>hi</b>"\n'} label="Recent code" />);
    const code = screen.getByLabelText("Recent code");
    expect(code).toHaveTextContent('return "<b>hi</b>"');
    expect(container.querySelector("b")).toBeNull();
    expect(container.querySelector(".hljs-keyword")).toHaveTextContent("def");
  });
});

describe("SubmissionList", () => {
  it("shows each submission's verdict, visible results, hidden count and code", async () => {
    const user = userEvent.setup();
    const submissions: Schemas["StudentSubmissionRead"][] = [
      {
        submission_id: "s1", exercise_id: "e", title: "Double it", passed: false, score: 0.5, hidden_passed: 1, hidden_total: 2,
        tests: [{ name: "test_a", passed: true, message: "" }, { name: "test_b", passed: false, message: "assert 3 == 4" }],
        code: "def double(n):\n    return n + 2\n", created_at: "2026-01-31T09:12:47Z",
      },
    ];
    render(<SubmissionList submissions={submissions} />);
    await user.click(screen.getByText("Double it"));
    expect(screen.getByText("Not yet")).toBeInTheDocument();
    expect(screen.getByText(/test_b: failed/)).toBeInTheDocument();
    expect(screen.getByText("assert 3 == 4")).toBeInTheDocument();
    expect(screen.getByText("Hidden tests: 1 of 2 passed.")).toBeInTheDocument();
    expect(screen.getByLabelText("Code submitted for Double it")).toHaveTextContent("return n + 2");
  });
  it("says when there is nothing yet", () => {
    render(<SubmissionList submissions={[]} />);
    expect(screen.getByText("No submissions yet.")).toBeInTheDocument();
  });
});

describe("QuestionList", () => {
  it("shows the question, where it went and who answered", () => {
    render(
      <QuestionList
        queries={[
          { query_id: "q1", query: "What is a list?", routed_to: "concepts", topic: "lists", status: "answered", created_at: "2026-01-31T09:10:02Z", answer_agent: "concepts", answer_kind: "answer" },
          { query_id: "q2", query: "Why does it crash?", routed_to: "debug", topic: null, status: "pending", created_at: "2026-01-31T09:11:02Z" },
        ]}
      />,
    );
    const first = screen.getByText("What is a list?").closest("li")!;
    expect(first).toHaveTextContent("to concepts · lists · answered by concepts");
    expect(screen.getByText("Why does it crash?").closest("li")).toHaveTextContent("waiting for an answer");
  });
});

describe("MasteryHistory", () => {
  const points: Schemas["HistoryPoint"][] = [
    { at: "2026-01-31T09:00:00Z", topic: "lists", mastery: 0 },
    { at: "2026-01-31T09:05:00Z", topic: "loops", mastery: 20 },
    { at: "2026-01-31T09:10:00Z", topic: "lists", mastery: 46.5 },
  ];
  it("groups points per topic in order", () => {
    expect([...byTopic(points)].map(([t, ps]) => [t, ps.map((p) => p.mastery)])).toEqual([["lists", [0, 46.5]], ["loops", [20]]]);
  });
  it("draws one line per topic with an accessible summary", () => {
    const { container } = render(<MasteryHistory points={points} />);
    expect(screen.getByRole("img", { name: /Mastery over time/ })).toBeInTheDocument();
    expect(container.querySelector("desc")).toHaveTextContent("lists: from 0 to 47; loops: from 20 to 20");
    expect(container.querySelectorAll('[data-history-topic="lists"] circle')).toHaveLength(2);
  });
});
