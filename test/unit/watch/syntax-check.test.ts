import { describe, expect, it } from "vitest";
import { formatSyntaxProblem } from "../../../src/watch/syntax-check.js";

describe("formatSyntaxProblem", () => {
  it("prints file:line:column, the message and a caret under the column (the \")\" here)", () => {
    const text = formatSyntaxProblem({ path: "blog/views.py", line: 3, column: 22, message: "SyntaxError: expected ':'", text: "    def index(request)" });
    expect(text).toBe("blog/views.py:3:22: SyntaxError: expected ':'\n    def index(request)\n" + " ".repeat(21) + "^");
  });

  it("leaves out what Python did not say", () => {
    expect(formatSyntaxProblem({ path: "a.py", line: null, column: null, message: "ValueError: source code string cannot contain null bytes", text: "" })).toBe(
      "a.py: ValueError: source code string cannot contain null bytes",
    );
  });
});
