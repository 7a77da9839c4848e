import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { Markdown } from "./Markdown";

describe("Markdown", () => {
  it("renders code blocks with Python highlighting", () => {
    const { container } = render(<Markdown text={"A loop:\n\n```python\nfor i in range(3):\n    print(i)\n```"} />);
    const code = container.querySelector("pre code");
    expect(code).toHaveClass("hljs");
    expect(code?.querySelector(".hljs-keyword")?.textContent).toBe("for");
  });

  it("never renders raw HTML from an answer", () => {
    const { container } = render(<Markdown text={'Hi <img src=x onerror="alert(1)"> <script>alert(2)</script> [x](javascript:alert(3))'} />);
    expect(container.querySelector("img")).toBeNull();
    expect(container.querySelector("script")).toBeNull();
    expect(screen.getByText("x").getAttribute("href") ?? "").not.toContain("javascript:");
  });
});
