// Why: one way to drive Debian's Chromium for every browser test: playwright-core (no
// bundled browser download, which cannot work here) with a fresh profile directory,
// no network chatter beyond loopback, and a 1920×1080 window like the projector's.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A browser context on a fresh profile; `close()` also removes the profile. */
export async function openBrowser({ locale = "en-US" } = {}) {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "dashboard-test-profile-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1920, height: 1080 },
    locale,
    timeout: 30000,
  });
  context.setDefaultTimeout(15000);
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * A new page that records console errors and uncaught exceptions, so a test can
 * assert that the dashboard runs cleanly. `beforeLoad(page)`, if given, runs before the
 * page loads (to route its requests).
 */
export async function openPage(context, url, { beforeLoad } = {}) {
  const page = await context.newPage();
  if (beforeLoad) await beforeLoad(page);
  const errors = [];
  page.on("console", (message) => {
    // With its URL: the browser logs each non-2xx answer as an error, and a test may expect some.
    const url = message.location()?.url;
    if (message.type() === "error") errors.push(`console: ${message.text()}${url ? ` (${url})` : ""}`);
  });
  page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
  await page.goto(url, { waitUntil: "load" });
  return { page, errors };
}

/** Runs `body({ page, errors })` on a page opened at `url`, and closes the page whatever happens. */
export async function withPage(context, url, body) {
  const opened = await openPage(context, url);
  try {
    return await body(opened);
  } finally {
    await opened.page.close();
  }
}

/**
 * What a chart shows now (`which`: "chart", the main one, or "contrastChart"): per dataset
 * its label, point count, last point, widest hole between two points; and the x range.
 */
export function chartSnapshot(page, which = "chart") {
  return page.evaluate((name) => {
    const chart = window.dashboard?.[name];
    if (!chart) return null;
    return {
      xMin: chart.scales.x.min,
      xMax: chart.scales.x.max,
      datasets: chart.data.datasets.map((d) => ({
        label: d.label,
        count: d.data.length,
        first: d.data[0] || null,
        last: d.data[d.data.length - 1] || null,
        ys: d.data.slice(-20).map((p) => p.y),
        widestGapMs: d.data.reduce((widest, p, i) => (i === 0 ? 0 : Math.max(widest, p.x - d.data[i - 1].x)), 0),
      })),
      markers: chart.$eventMarkersDrawn || [],
    };
  }, which);
}
