// Why: a run's report.html must open offline, years later, and show what happened. This
// makes one with the real `demo report` from the committed fixture journal (a real run's,
// with a timeline around its crash of PC2), opens it in Chromium with every request that
// is not the file itself aborted, and checks that nothing was fetched, the verdict comes
// first, the four plots have drawn content and the fault window is shaded. No lab needed.
// The screenshot lands in web/test-results/report.png.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

import { BIN_DIR, PROJECT_ROOT, RESULTS_DIR } from "./support/stack.js";
import { openBrowser, openPage } from "./support/browser.js";

const FIXTURE = path.join(PROJECT_ROOT, "orchestrator", "src", "report", "fixtures", "journal.json");
const DEMO = path.join(BIN_DIR, "demo");

let runDir;
let browser;

before(() => {
  runDir = fs.mkdtempSync(path.join(os.tmpdir(), "report-test-run-"));
  fs.copyFileSync(FIXTURE, path.join(runDir, "journal.json"));
});

after(async () => {
  await browser?.close();
  fs.rmSync(runDir, { recursive: true, force: true });
});

test("demo report writes a self-contained report.html that fetches nothing and draws its plots", async () => {
  assert.ok(fs.existsSync(DEMO), `${DEMO} is missing: cargo build -p demo (or set DEMO_BIN_DIR)`);
  await promisify(execFile)(DEMO, ["report", runDir], { timeout: 60000 });
  const report = path.join(runDir, "report.html");
  assert.ok(fs.existsSync(report), `demo report did not write ${report}`);

  browser = await openBrowser({ locale: "fr-FR" });
  const fetched = [];
  browser.context.on("request", (request) => {
    if (!request.url().startsWith("file:")) fetched.push(request.url());
  });
  await browser.context.route("**/*", (route) =>
    route.request().url().startsWith("file:") ? route.continue() : route.abort(),
  );
  const { page, errors } = await openPage(browser.context, pathToFileURL(report).href);

  const seen = await page.evaluate(() => {
    const box = (element) => {
      const { width, height } = element.getBoundingClientRect();
      return width > 0 && height > 0;
    };
    const heading = document.querySelector("h1, h2, h3");
    const plots = [...document.querySelectorAll("svg")].map((svg) => ({
      visible: box(svg),
      drawn: [...svg.querySelectorAll("path, rect")].filter((shape) => {
        const { width, height } = shape.getBBox();
        return width > 0 || height > 0;
      }).length,
      labels: [...svg.querySelectorAll("text")].map((text) => text.textContent),
      faults: [...svg.querySelectorAll("rect.fault")].map((rect) => ({
        visible: box(rect),
        opacity: Number(getComputedStyle(rect).fillOpacity),
        fill: getComputedStyle(rect).fill,
      })),
    }));
    return {
      firstHeading: heading?.textContent,
      headingFirstInBody: document.body.firstElementChild.contains(heading),
      plots,
    };
  });

  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  await page.screenshot({ path: path.join(RESULTS_DIR, "report.png"), fullPage: true });

  assert.deepEqual(fetched, [], "the report fetched nothing");
  assert.deepEqual(errors, [], "the page ran without errors");
  assert.equal(seen.firstHeading, "RÉUSSI", "the verdict, in the scenario's language, is the first heading");
  assert.ok(seen.headingFirstInBody, "and it opens the body");
  assert.equal(seen.plots.length, 4, "four plots");
  for (const [index, plot] of seen.plots.entries()) {
    assert.ok(plot.visible, `plot ${index + 1} has a size`);
    assert.ok(plot.drawn > 0, `plot ${index + 1} has drawn content`);
    assert.ok(plot.labels.includes("PC2 kill"), `plot ${index + 1} labels the fault window`);
    assert.equal(plot.faults.length, 1, `plot ${index + 1} shades the fault window`);
    const [fault] = plot.faults;
    assert.ok(fault.visible && fault.opacity > 0 && fault.fill !== "none", `plot ${index + 1}: the shading shows`);
  }
});
