// The journeys through the real server: a teacher authors an exercise; a student asks the tutor
// and sees the streamed answer, runs code, debugs a crash, submits a wrong then a right solution and
// sees progress change; the teacher sees the student's struggle alert arrive live and resolves it.
import { expect, test } from "@playwright/test";
import { addAccount, screenshot, setCode, signIn, uniqueName } from "./helpers";

test.describe.configure({ mode: "serial" });

const teacher = uniqueName("teacher");
const student = uniqueName("ada");
const title = `Double it ${Date.now().toString(36)}`;
const STARTER = "def double(n):\n    pass\n";
const SOLUTION = "def double(n):\n    return n * 2\n";
const WRONG = "def double(n):\n    return n + 2\n";
const TESTS = "from solution import double\n\n\ndef test_double_three():\n    assert double(3) == 6\n\n\ndef test_double_zero():\n    assert double(0) == 0\n";

test.beforeAll(() => {
  addAccount(teacher, "teacher");
  addAccount(student, "student");
});

test("the teacher makes a class, validates and publishes an exercise", async ({ page }) => {
  await signIn(page, teacher, "teacher");
  await expect(page.getByRole("heading", { name: "Your class" })).toBeVisible();
  await page.getByLabel("New class name").fill("Python 1A");
  await page.getByRole("button", { name: "Create class" }).click();
  await page.getByLabel("Add a student (username)").fill(student);
  await page.getByRole("button", { name: "Add to class" }).click();
  await expect(page.getByRole("table").getByRole("link", { name: student })).toBeVisible();
  await screenshot(page, "teacher-class-created");
  await page.getByRole("link", { name: "New exercise" }).click();
  await page.getByLabel("Title").fill(title);
  await page.getByLabel("Topic").fill("return-values");
  await page.getByLabel("Description (Markdown)").fill("Write `double(n)` that returns twice `n`.");
  await setCode(page, "Starter code", STARTER);
  await setCode(page, "Solution", SOLUTION);
  await setCode(page, "Tests", TESTS);
  await page.getByRole("button", { name: "Validate" }).click();
  await expect(page.getByText("The solution passes and the starter fails: ready to publish.")).toBeVisible();
  await screenshot(page, "teacher-author-validated");
  await page.getByRole("button", { name: "Publish" }).click();
  await expect(page.getByRole("status").getByText("Published:")).toBeVisible();
  await screenshot(page, "teacher-author-published");
});

test("a student asks, runs, debugs, submits and sees progress change", async ({ page }) => {
  await signIn(page, student, "student");

  // The tutor: the answer arrives on the session's event stream, with who answered and from where.
  await expect(page.getByRole("heading", { name: "Ask the tutor" })).toBeVisible();
  await expect(page.getByText("Connected: answers appear here")).toBeVisible();
  await page.getByLabel("Your question").fill("How do for loops work in Python?");
  await page.getByRole("button", { name: "Ask" }).click();
  const answer = page.getByRole("article", { name: "Answer from Concepts tutor" });
  await expect(answer).toBeVisible();
  await expect(answer).toContainText("source:");
  await expect(answer.locator("pre code").first()).toBeVisible();
  await screenshot(page, "student-tutor");
  // Phone-sized: the page fits the width (no sideways scrolling) and the menu stays reachable.
  await page.setViewportSize({ width: 390, height: 844 });
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Progress" })).toBeVisible();
  await screenshot(page, "student-tutor-phone");
  await page.setViewportSize({ width: 1280, height: 720 });

  // Progress before any work.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Progress" }).click();
  await expect(page.getByRole("heading", { name: "Your progress" })).toBeVisible();
  await expect(page.getByText(/Nothing yet|Overall mastery/)).toBeVisible();
  const before = await page.locator("main").innerText();
  await screenshot(page, "student-progress-before");

  // Run code with standard input, then a crash and "Why doesn't this work?".
  await page.getByRole("link", { name: "Code", exact: true }).click();
  await setCode(page, "Your Python program", 'name = input()\nprint("Hello,", name)\n');
  await page.getByLabel(/Input for the program/).fill("Ada\n");
  await page.getByRole("button", { name: "Run", exact: true }).click();
  await expect(page.getByTestId("stdout")).toHaveText("Hello, Ada");
  await setCode(page, "Your Python program", "numbers = [1, 2, 3]\nprint(numbers[3])\n");
  await page.getByRole("button", { name: "Run", exact: true }).click();
  await expect(page.getByTestId("stderr")).toContainText("IndexError");
  await page.getByRole("button", { name: "Why doesn't this work?" }).click();
  const help = page.getByRole("region", { name: "What went wrong" });
  await expect(help).toContainText("IndexError");
  await page.getByRole("button", { name: /Show a hint/ }).click();
  await expect(help.locator("ol.hints li")).toHaveCount(1);
  await screenshot(page, "student-code-debug");

  // The teacher's exercise: wrong, then right.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Exercises" }).click();
  await page.getByLabel("Find a topic or title").fill(title);
  await page.getByRole("link", { name: title }).click();
  await setCode(page, "Your solution", WRONG);
  await page.getByRole("button", { name: "Submit" }).click();
  const result = page.getByRole("region", { name: "Submission result" });
  await expect(result).toContainText("Not yet.");
  await expect(result).toContainText("test_double_three: failed");
  await screenshot(page, "student-exercise-wrong");
  await setCode(page, "Your solution", SOLUTION);
  await page.getByRole("button", { name: "Submit" }).click();
  await expect(result).toContainText("Passed!");
  await expect(result).toContainText("test_double_zero: passed");
  await screenshot(page, "student-exercise-right");

  // A quiz: answer every question (the first choice, or a guess), then see the verdicts.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Exercises" }).click();
  await page.getByRole("link", { name: "Take the variables quiz" }).click();
  await page.getByRole("button", { name: "Start the quiz" }).click();
  const questions = page.locator("fieldset");
  await expect(questions.first()).toBeVisible();
  for (const question of await questions.all()) {
    const choice = question.getByRole("radio").first();
    if (await choice.count()) await choice.check();
    else await question.getByRole("textbox").fill("7");
  }
  await page.getByRole("button", { name: "Check my answers" }).click();
  await expect(page.getByRole("status").filter({ hasText: /You got \d+ of \d+/ })).toBeVisible();
  await screenshot(page, "student-quiz");

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Progress" }).click();
  await expect(page.getByText(/Overall mastery/)).toBeVisible();
  await expect(page.locator('[data-topic="return-values"]')).toBeVisible();
  expect(await page.locator("main").innerText()).not.toEqual(before);
  await screenshot(page, "student-progress-after");
});

test("the teacher sees a struggle alert arrive live and resolves it", async ({ browser }) => {
  const teacherPage = await (await browser.newContext()).newPage();
  await signIn(teacherPage, teacher, "teacher");
  await expect(teacherPage.getByRole("heading", { name: "Struggle alerts" })).toBeVisible();
  await expect(teacherPage.getByRole("status").filter({ hasText: "Loading alerts" })).toHaveCount(0);

  const studentPage = await (await browser.newContext()).newPage();
  await signIn(studentPage, student, "student");
  await studentPage.getByLabel("Your question").fill("I'm stuck, I don't understand return values at all");
  await studentPage.getByRole("button", { name: "Ask" }).click();
  await expect(studentPage.locator("article").first()).toBeVisible();

  // No reload: the dashboard picks the alert up by itself.
  const alert = teacherPage.locator("li.alert").filter({ hasText: student }).filter({ hasText: "Asked for help" });
  await expect(alert).toBeVisible({ timeout: 30_000 });
  await expect(alert.getByText("new")).toBeVisible();
  await screenshot(teacherPage, "teacher-alert-live");
  await expect(teacherPage.getByRole("table")).toContainText(student);
  await screenshot(teacherPage, "teacher-class-heatmap");

  await alert.getByRole("button", { name: "Mark as resolved" }).click();
  await expect(alert).toHaveCount(0);
  await teacherPage.reload();
  await expect(teacherPage.getByRole("heading", { name: "Struggle alerts" })).toBeVisible();
  await expect(teacherPage.locator("li.alert").filter({ hasText: student }).filter({ hasText: "Asked for help" })).toHaveCount(0);

  await teacherPage.getByRole("table").getByRole("link", { name: student }).click();
  await expect(teacherPage.getByRole("heading", { name: student })).toBeVisible();
  await expect(teacherPage.locator('[data-topic="return-values"]')).toBeVisible();
  // The student's work: the wrong then right submissions with their results and code, and the question.
  await expect(teacherPage.locator('[data-history-topic="return-values"]')).toBeVisible();
  const submissions = teacherPage.getByRole("region", { name: "Submissions", exact: true });
  const wrong = submissions.locator("li[data-submission]").filter({ hasText: title }).filter({ hasText: "Not yet" });
  await expect(wrong).toHaveCount(1);
  await wrong.locator("summary").click();
  await expect(wrong).toContainText("test_double_three: failed");
  await expect(wrong.getByLabel(`Code submitted for ${title}`)).toContainText("return n + 2");
  await expect(submissions.locator("li[data-submission]").filter({ hasText: title }).filter({ hasText: "Passed" })).toHaveCount(1);
  const questions = teacherPage.getByRole("region", { name: "Recent questions" });
  await expect(questions).toContainText("I'm stuck, I don't understand return values at all");
  await screenshot(teacherPage, "teacher-student-page");
});
