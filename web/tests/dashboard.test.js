// Why: the dashboard is what the audience watches while a PC is switched off, so it is
// tested the way they see it: real Chromium, the real api serving real readings that the
// real producer and ingest push through the lab's Kafka and Cassandra, and real faults
// (a Cassandra node stopped, the api stopped). The contrast lane is on (a second ingest
// keeping one copy of each reading), so the same stop shows what replication spares.
// Screenshots land in web/test-results/.

import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";

import { Stack, RESULTS_DIR, apiGet, bounded, waitFor, sleep } from "./support/stack.js";
import { openBrowser, openPage, withPage, chartSnapshot } from "./support/browser.js";
import { connectEvents } from "./support/events.js";
import { takeFaultLock, labNodeCommand } from "./support/lab-fault.js";
import { FRENCH_MARKS, foreignWords, wordsOf } from "./support/vocabulary.js";

const FAULT_NODE = 3; // PC3 = 127.0.0.3, not the seed
const FAULT_NODE_NAME = `PC${FAULT_NODE}`;
const FAULT_NODE_ADDRESS = `127.0.0.${FAULT_NODE}`;
/** The page breaks a curve over a hole longer than this (GAP_MS in js/app.js). */
const CURVE_BREAK_MS = 10000;

/**
 * The page's errors, less the browser's own log lines for the contrast lane's answers
 * that are part of its contract: 404 while the lane is off, 503 while the PC holding a
 * sensor's only copy is down (another suite may hold a PC down right now).
 */
const unexpectedErrors = (errors) =>
  errors.filter((e) => !/Failed to load resource: the server responded with a status of (404|503)\b.*\/rf1\/[^ ]*\)$/.test(e));

describe("live dashboard against the real stack", { timeout: 15 * 60 * 1000 }, () => {
  let stack;
  let browser;
  let events;

  before(async () => {
    stack = new Stack({ contrast: { splitOn: FAULT_NODE_ADDRESS } });
    await stack.start();
    browser = await openBrowser();
    events = await connectEvents();
  }, { timeout: 150000 });

  after(async () => {
    await bounded(events?.removeAll(), 20000, "deleting the test's events");
    await bounded(events?.close(), 10000, "closing the Cassandra driver");
    await bounded(browser?.close(), 20000, "closing Chromium");
    await bounded(stack?.stop(), 90000, "stopping the services");
    // Everything this file started is stopped. Should a client library still hold a
    // socket open, it must not keep the test runner waiting: leave 15 s, then exit.
    setTimeout(() => {
      console.error("a handle is still open 15 s after cleanup; exiting");
      process.exit();
    }, 15000).unref();
  }, { timeout: 150000 });

  // prefix= keeps the page to this run's sensors: the shared lab also holds other tests' sensors.
  const pageUrl = (params) =>
    `${stack.baseUrl}/?${new URLSearchParams({ lang: "fr", window: "5", prefix: stack.sensorPrefix, ...params })}`;
  const shot = (page, name) => page.screenshot({ path: path.join(RESULTS_DIR, name) });

  /** Waits until the curve of `sensorId` (on the main chart, or `which`) has a point newer than `afterX`; returns it. */
  async function waitForNewPoint(page, sensorId, afterX, timeoutMs, which = "chart") {
    return waitFor(
      `a new point of ${sensorId} after ${new Date(afterX).toISOString()} on ${which}`,
      async () => {
        const snap = await chartSnapshot(page, which);
        const curve = snap?.datasets.find((d) => d.label === sensorId);
        return curve?.last && curve.last.x > afterX ? curve.last : null;
      },
      { timeoutMs, everyMs: 100 },
    );
  }

  async function firstPoints(page, sensorId) {
    return waitFor(
      `points of ${sensorId} on the chart`,
      async () => {
        const snap = await chartSnapshot(page);
        const curve = snap?.datasets.find((d) => d.label === sensorId);
        return curve && curve.count > 0 ? curve : null;
      },
      { timeoutMs: 15000 },
    );
  }

  /** What the contrast panel says of each sensor: {id: {state, points, text}}, null while the panel is hidden. */
  const contrastStates = (page) =>
    page.evaluate(() => {
      const panel = document.querySelector("#contrast-panel");
      if (!panel || panel.hidden) return null;
      return Object.fromEntries(
        [...panel.querySelectorAll("[data-rf1-sensor]")].map((entry) => [
          entry.dataset.rf1Sensor,
          { state: entry.dataset.rf1State, points: Number(entry.dataset.points), text: entry.querySelector(".rf1-state").textContent },
        ]),
      );
    });

  const nodeState = (page, name) =>
    page.evaluate((n) => document.querySelector(`#cluster-cards > .node[data-node="${n}"]`)?.dataset.state ?? null, name);

  /** What each card shows of its replica: {PC1: {readings, keeps, sees: {PC2: "UN", ...}}, ...}. */
  const replicas = (page) =>
    page.evaluate(() =>
      Object.fromEntries(
        [...document.querySelectorAll("#cluster-cards .node")].map((card) => {
          const holds = card.querySelector(".node-holds");
          const keeps = card.querySelector(".node-keeps");
          const sees = Object.fromEntries(
            [...card.querySelectorAll(".node-sees .seen")].map((chip) => [chip.dataset.seen, chip.textContent.split(" ").pop()]),
          );
          const readings = holds?.dataset.readings ? Number(holds.dataset.readings) : null;
          return [card.dataset.node, { readings, shown: holds?.textContent ?? "", keeps: keeps?.hidden ? "" : keeps?.textContent ?? "", sees }];
        }),
      ),
    );
  const OTHERS = ["PC1", "PC2", "PC3"].filter((n) => n !== FAULT_NODE_NAME);

  /** What the replication picture draws: {state, copies, reading, copy: {PC1: "yes", ...}, hints: [{for, keptBy}], caption}. */
  const picture = (page) =>
    page.evaluate(() => {
      const root = document.querySelector("#replication-picture");
      return {
        state: root.dataset.state,
        copies: root.dataset.copies,
        reading: root.dataset.reading,
        copy: Object.fromEntries([...root.querySelectorAll(".rp-pc")].map((row) => [row.dataset.node, row.dataset.copy])),
        hints: [...root.querySelectorAll("[data-hint-for]")].map((h) => ({ for: h.dataset.hintFor, keptBy: h.dataset.keptBy })),
        caption: root.querySelector(".rp-caption").textContent,
      };
    });

  test("page loads without console errors, lists the sensors, draws points and gains new ones within 3 s", async () => {
    const [first] = stack.sensorIds;
    await withPage(browser.context, pageUrl({ sensor: first }), async ({ page, errors }) => {
      await waitFor(
        "the sensor selector to list the test's sensors",
        async () => {
          const options = await page.$$eval("#sensor-select option", (os) => os.map((o) => o.value));
          return stack.sensorIds.every((id) => options.includes(id)) && options.includes("all");
        },
        { timeoutMs: 10000 },
      );
      const curve = await firstPoints(page, first);
      const started = Date.now();
      const newer = await waitForNewPoint(page, first, curve.last.x, 3000);
      console.log(`${curve.count} points at first, a new one after ${Date.now() - started} ms (value ${newer.y})`);

      // UP or DOWN, never "unknown" while the api answers (another suite may hold a node down
      // under the fault lock right now; UP is asserted by the fault test, which holds it).
      const states = await waitFor("three cluster cards with a known state", async () => {
        const found = await page.$$eval("#cluster-cards .node", (cards) => cards.map((c) => `${c.dataset.node}=${c.dataset.state}`));
        return found.length === 3 && found.every((s) => /=(up|down)$/.test(s)) ? found : null;
      }, { timeoutMs: 10000 });
      console.log(`cluster cards: ${states.join(" ")}`);
      assert.equal(await page.getAttribute("#api-status", "data-state"), "ok");
      const age = await page.textContent(`#sensor-tiles [data-sensor="${first}"] .tile-age`);
      assert.match(age, /il y a \d+ s/);
      assert.ok(Number(/(\d+) s/.exec(age)[1]) <= 5, `the tile of a live sensor says "${age}"`);

      // The lane is on: the counter-example shows the same sensor, from its single copy.
      const contrast = await waitFor(`the contrast panel showing ${first}`, async () => {
        const found = await contrastStates(page);
        return found?.[first] && ["live", "stopped"].includes(found[first].state) ? found : null;
      }, { timeoutMs: 15000 });
      console.log(`contrast lane: ${JSON.stringify(contrast)}`);
      assert.deepEqual(Object.keys(contrast), [first], "the contrast follows the main chart's selection");
      assert.equal(await page.textContent("#contrast-panel h2"), "Sans réplication (1 seule copie)");

      await shot(page, "dashboard-normal.png");
      assert.deepEqual(unexpectedErrors(errors), [], "the page logged errors");
    });
  });

  test("with the contrast lane off the page shows nothing of it, and logs no error", async () => {
    const baseUrl = await stack.startApiWithoutContrast();
    const off = await apiGet(baseUrl, "/rf1/sensors");
    assert.equal(off.status, 404, "an api started without --contrast-keyspace has no /rf1/");
    assert.match(String(off.body?.error), /contrast lane is off/);
    const url = `${baseUrl}/?${new URLSearchParams({ lang: "en", sensor: "all", window: "5", prefix: stack.sensorPrefix })}`;
    await withPage(browser.context, url, async ({ page, errors }) => {
      await firstPoints(page, stack.sensorIds[0]);
      await waitFor("the page learning that the lane is off", async () => (await page.getAttribute("#contrast-panel", "data-lane")) === "off", {
        timeoutMs: 10000,
      });
      assert.equal(await page.isVisible("#contrast-panel"), false, "no contrast panel");
      assert.equal(await page.$$eval("[data-rf1-sensor]", (entries) => entries.length), 0, "no contrast entry");
      assert.equal(await page.evaluate(() => window.dashboard.contrastChart), null, "no contrast chart made");
      assert.equal(await page.isVisible("#api-alert"), false, "the lane being off is no alert");
      assert.equal(await page.getAttribute("#api-status", "data-state"), "ok");
      assert.deepEqual(unexpectedErrors(errors), [], "the page logged errors");
    });
  });

  test("choosing another sensor changes the curve", async () => {
    const [first, second] = stack.sensorIds;
    await withPage(browser.context, pageUrl({ sensor: first }), async ({ page, errors }) => {
      const before = await firstPoints(page, first);
      await page.selectOption("#sensor-select", second);
      const after = await firstPoints(page, second);
      const snap = await chartSnapshot(page);
      assert.deepEqual(snap.datasets.map((d) => d.label), [second], "only the chosen sensor is drawn");
      assert.notDeepEqual(after.ys, before.ys, "the curve of another sensor has other values");
      assert.match(page.url(), new RegExp(`sensor=${second}`), "the choice is kept in the address");

      await page.selectOption("#sensor-select", "all");
      await waitFor("all the test's sensors overlaid", async () => {
        const labels = (await chartSnapshot(page)).datasets.map((d) => d.label);
        return stack.sensorIds.every((id) => labels.includes(id));
      }, { timeoutMs: 10000 });
      assert.deepEqual(errors, []);
    });
  });

  test("the time window choice changes the x range", async () => {
    await withPage(browser.context, pageUrl({ sensor: stack.sensorIds[0] }), async ({ page }) => {
      await firstPoints(page, stack.sensorIds[0]);
      for (const minutes of [1, 15, 5]) {
        await page.click(`#window-buttons button[data-minutes="${minutes}"]`);
        const span = await waitFor(`an x range of ${minutes} min`, async () => {
          const snap = await chartSnapshot(page);
          const width = snap.xMax - snap.xMin;
          return Math.abs(width - minutes * 60000) < 2000 ? width : null;
        }, { timeoutMs: 5000, everyMs: 100 });
        assert.equal(await page.getAttribute(`#window-buttons button[data-minutes="${minutes}"]`, "aria-pressed"), "true");
        console.log(`window ${minutes} min -> x range ${Math.round(span / 1000)} s`);
        await firstPoints(page, stack.sensorIds[0]);
      }
    });
  });

  test("labels follow the browser language unless ?lang= says otherwise", async () => {
    const page = await browser.context.newPage();
    try {
      await page.addInitScript(() => {
        Object.defineProperty(navigator, "languages", { get: () => ["fr-FR", "fr"] });
        Object.defineProperty(navigator, "language", { get: () => "fr-FR" });
      });
      await page.goto(`${stack.baseUrl}/`);
      assert.equal(await page.textContent("h1"), "Démo IoT Cassandra — en direct");
      await page.goto(`${stack.baseUrl}/?lang=en`);
      assert.equal(await page.textContent("h1"), "Cassandra IoT demo — live");
      assert.equal(await page.getAttribute("html", "lang"), "en");
    } finally {
      await page.close();
    }
  });

  test("an event written to scenario_events appears as a labelled marker on the chart and in the list", async () => {
    await withPage(browser.context, pageUrl({ sensor: stack.sensorIds[0] }), async ({ page }) => {
      await firstPoints(page, stack.sensorIds[0]);
      // A kill-node event with its author's label, in the page's language: its tone (a
      // fault's, from its kind) makes its label always drawn however busy the chart is.
      const label = `PC2 arrêté (test ${stack.runId})`;
      const narration = `Événement de test ${stack.runId} : il doit apparaître sur la courbe et dans la liste.`;
      await events.write({
        runId: stack.runId,
        step: 901,
        kind: "kill-node",
        node: "PC2",
        figures: { mode: "stop", lang: "fr" },
        label,
        narration,
      });
      const written = Date.now();
      await waitFor(`"${label}" in the event list`, () => page.$(`#event-list li[data-label="${label}"]`), {
        timeoutMs: 10000,
      });
      const marker = await waitFor(`a marker "${label}" drawn on the chart`, async () => {
        const snap = await chartSnapshot(page);
        return snap.markers.find((mk) => mk.label === label && mk.labelled);
      }, { timeoutMs: 10000 });
      console.log(`event listed and drawn at x=${marker.px}px ${Date.now() - written} ms after the write`);
      const latest = await page.evaluate(() => window.dashboard.state.events[0]?.label);
      if (latest === label) assert.equal(await page.textContent("#banner-text"), narration);
      await shot(page, "dashboard-event.png");
    });
  });

  test("a page in English shows no French word during and after a French scenario, and a page in French no English one", async () => {
    // Two runs written as the conductor writes them, each step running then ok and a verdict
    // last: day J's French words, then an English scenario's.
    const frenchRun = `${stack.runId}-fr`;
    const englishRun = `${stack.runId}-en`;
    const [checked, switchedOff, seenDown] = [
      { step: 1, kind: "check-cluster", label: "Cluster complet", narration: "Voici notre base de données : un cluster Cassandra réparti sur trois PC, PC1, PC2 et PC3." },
      {
        step: 2, kind: "kill-node", node: "PC2", figures: { mode: "stop" }, label: "Le PC2 s'éteint",
        narration: "Maintenant, on éteint le PC2, comme si on le débranchait. Un des trois serveurs de la base de données disparaît.",
      },
      {
        step: 3, kind: "wait-node-state", node: "PC2", figures: { state: "down" }, label: "PC2 arrêté",
        narration: "De leur côté, PC1 et PC3 ne reçoivent plus de nouvelles de PC2 : ils le déclarent hors service.",
      },
    ].map((step) => ({ ...step, runId: frenchRun, lang: "fr" }));
    const [crashed, seenGone] = [
      { step: 1, kind: "kill-node", node: "PC3", figures: { mode: "kill" }, label: "PC3 crashes", narration: "Now PC3 crashes, as if its power were cut." },
      {
        step: 2, kind: "wait-node-state", node: "PC3", figures: { state: "down" }, label: "PC3 is gone",
        narration: "PC1 and PC2 no longer hear from PC3: the two others carry the readings.",
      },
    ].map((step) => ({ ...step, runId: englishRun, lang: "en" }));
    const authorTexts = (steps) => steps.flatMap((step) => [step.label, step.narration]);
    // What a page must not show: the other table's words and the other language's author words.
    const foreign = { en: foreignWords("en", authorTexts([checked, switchedOff, seenDown])), fr: foreignWords("fr", authorTexts([crashed, seenGone])) };
    for (const word of ["arrêté", "éteint", "étapes", "mesures", "capteur", "réplication", "copie", "données"]) {
      assert.ok(foreign.en.has(word), `"${word}" is looked for on the English page`);
    }
    for (const word of ["the", "readings", "stopped", "sensor", "without", "copy", "waiting", "live", "crashes"]) {
      assert.ok(foreign.fr.has(word), `"${word}" is looked for on the French page`);
    }

    let lastAt = 0;
    /** One row of `step` with `status`, its language in its figures, dated after the previous row. */
    const write = (step, status) => {
      lastAt = Math.max(Date.now(), lastAt + 5);
      const { runId, lang, node = null, figures = {}, label = null, narration = "" } = step;
      return events.write({ runId, step: step.step, kind: step.kind, node, figures: { ...figures, lang }, label, status, narration, at: new Date(lastAt) });
    };
    const verdict = (runId, lang, status, figures) => write({ runId, lang, step: 0, kind: "verdict", figures: { verdict: figures } }, status);

    // The lab's event table also holds other runs' events, in their authors' languages: each
    // page is kept to this test's runs, as ?prefix= keeps it to this test's sensors.
    const onlyOurRuns = (page) =>
      page.route(/\/events\?/, async (route) => {
        const response = await route.fetch();
        const rows = await response.json();
        await route.fulfill({ response, json: Array.isArray(rows) ? rows.filter((row) => [frenchRun, englishRun].includes(row.run_id)) : rows });
      });
    const pages = {};
    try {
      for (const lang of ["en", "fr"]) {
        pages[lang] = (await openPage(browser.context, pageUrl({ lang, sensor: "all" }), { beforeLoad: onlyOurRuns })).page;
        await firstPoints(pages[lang], stack.sensorIds[0]);
      }

      /** Every word a page shows: its text, title, labels, chart titles and legends, the markers' labels. */
      const shownText = (page) =>
        page.evaluate(() => {
          const { chart, contrastChart } = window.dashboard;
          // The language switch (FR, EN) reads the same on both pages.
          const languageSwitch = document.querySelector("nav.lang").innerText;
          return [
            document.title,
            document.body.innerText.replace(languageSwitch, ""),
            ...[...document.querySelectorAll("[aria-label]")].map((el) => el.getAttribute("aria-label")),
            ...[...document.querySelectorAll("option")].map((option) => option.text),
            ...[chart, contrastChart].filter(Boolean).flatMap((c) => [c.options.scales.y.title.text, ...c.data.datasets.map((d) => d.label)]),
            ...chart.options.plugins.eventMarkers.events.map((marker) => marker.label),
            ...(chart.$eventMarkersDrawn || []).map((marker) => marker.label),
          ].join("\n");
        });
      /** Waits until every page has folded `steps` ("run step status") into its list and its markers. */
      const showing = async (steps) => {
        for (const [lang, page] of Object.entries(pages)) {
          await waitFor(`the ${lang} page showing ${steps.join(", ")}`, () =>
            page.evaluate((expected) => {
              const { state, chart } = window.dashboard;
              const folded = state.steps.map((s) => `${s.run_id} ${s.step} ${s.status}`).sort();
              return JSON.stringify(folded) === JSON.stringify(expected) && chart.options.plugins.eventMarkers.events.length === folded.length;
            }, [...steps].sort()), { timeoutMs: 10000 });
        }
      };
      /** The labels the page gives the markers' plugin, newest first. */
      const markers = (page) => page.evaluate(() => window.dashboard.chart.options.plugins.eventMarkers.events.map((mk) => mk.label));
      const assertBanners = async (banners) => {
        for (const [lang, page] of Object.entries(pages)) assert.equal(await page.textContent("#banner-text"), banners[lang], `the ${lang} banner`);
      };
      /** No word of the other language on either page (nor, in English, a French letter); sensor ids and UN/DN aside. */
      const assertOneLanguage = async (moment) => {
        for (const [lang, page] of Object.entries(pages)) {
          const text = await shownText(page);
          const plain = text.replaceAll(stack.sensorPrefix, " ").replace(/(?<![\p{L}\p{N}])[UD][NJLM?](?![\p{L}\p{N}])/gu, " ");
          const found = [...wordsOf(plain)].filter((word) => foreign[lang].has(word));
          assert.deepEqual(found, [], `${moment}, the ${lang} page shows words of the other language (${found.join(", ")}):\n${text}`);
          if (lang === "en") assert.doesNotMatch(plain, FRENCH_MARKS, `${moment}, the English page shows French letters:\n${text}`);
        }
      };

      // The French run under way: PC2 just switched off.
      await write(checked, "running");
      await write(checked, "ok");
      await write(switchedOff, "running");
      await showing([`${frenchRun} 1 ok`, `${frenchRun} 2 running`]);
      await assertOneLanguage("during the French run");
      await assertBanners({ en: "PC2 stopped", fr: switchedOff.narration });
      assert.deepEqual(await markers(pages.en), ["PC2 stopped", "Cluster checked"], "the English page words the French steps");
      assert.deepEqual(await markers(pages.fr), ["Le PC2 s'éteint", "Cluster complet"], "the French page shows their author's labels");

      // Over: its verdict is the latest event.
      await write(switchedOff, "ok");
      await write(seenDown, "running");
      await write(seenDown, "ok");
      await verdict(frenchRun, "fr", "ok", { steps: 3, failed_step: null, readings: 1234, lost: 0 });
      const frenchDone = [`${frenchRun} 0 ok`, `${frenchRun} 1 ok`, `${frenchRun} 2 ok`, `${frenchRun} 3 ok`];
      await showing(frenchDone);
      await assertOneLanguage("after the French run's verdict");
      await assertBanners({ en: "PASSED: all 3 steps, 0 of 1234 readings lost", fr: "RÉUSSI : les 3 étapes, 0 mesure(s) perdue(s) sur 1234" });
      assert.ok((await markers(pages.en)).includes("PC2 seen DOWN"));
      await shot(pages.en, "dashboard-english-after-french-run.png");

      // An English run, for the French page.
      await write(crashed, "running");
      await write(crashed, "ok");
      await write(seenGone, "running");
      await showing([...frenchDone, `${englishRun} 1 ok`, `${englishRun} 2 running`]);
      await assertOneLanguage("during the English run");
      await assertBanners({ en: seenGone.narration, fr: "PC3 vu ARRÊTÉ" });
      assert.deepEqual((await markers(pages.fr)).slice(0, 2), ["PC3 vu ARRÊTÉ", "PC3 planté"], "the French page words the English steps");
      await write(seenGone, "failed");
      await verdict(englishRun, "en", "failed", { steps: 2, failed_step: 2, readings: null, lost: null });
      await showing([...frenchDone, `${englishRun} 0 failed`, `${englishRun} 1 ok`, `${englishRun} 2 failed`]);
      await assertOneLanguage("after the English run's verdict");
      await assertBanners({ en: "FAILED at step 2 of 2", fr: "ÉCHEC à l'étape 2 sur 2" });
      await shot(pages.fr, "dashboard-french-after-english-run.png");
    } finally {
      for (const page of Object.values(pages)) await page.close().catch(() => {});
    }
  });

  test(`stopping ${FAULT_NODE_NAME} turns its card DOWN within 10 s while the chart keeps gaining points, the picture shows 2 copies and a hint, and the sensors whose only copy is on it stop in the contrast lane; starting it brings all back`, {
    timeout: 8 * 60 * 1000,
  }, async () => {
    const release = await takeFaultLock();
    let stopped = false;
    const { page } = await openPage(browser.context, pageUrl({ sensor: "all" }));
    try {
      const watched = stack.sensorIds[0];
      await firstPoints(page, watched);
      await waitFor(`${FAULT_NODE_NAME} UP before the fault (is the lab whole?)`, async () => (await nodeState(page, FAULT_NODE_NAME)) === "up", {
        timeoutMs: 60000,
      });
      // The contrast lane: which sensors keep their only copy on the PC about to stop (the
      // stack named its sensors so that there are some on both sides), all live for now.
      const onFaultNode = stack.sensorIds.filter((id) => stack.rf1Owners.get(id) === FAULT_NODE_ADDRESS);
      const elsewhere = stack.sensorIds.filter((id) => !onFaultNode.includes(id));
      console.log(`contrast lane: only copy on ${FAULT_NODE_NAME}: ${onFaultNode.join(", ")}; elsewhere: ${elsewhere.join(", ")}`);
      const contrastBefore = await waitFor("every sensor live in the contrast lane before the fault", async () => {
        const found = await contrastStates(page);
        return found && stack.sensorIds.every((id) => found[id]?.state === "live" && found[id].points > 0) ? found : null;
      }, { timeoutMs: 20000 });
      assert.equal(contrastBefore[watched].text, "en direct");
      // Every card counts what its replica holds, and the counts grow with the flow.
      const counted = await waitFor("every card showing a count and UN for the whole ring", async () => {
        const r = await replicas(page);
        const all = ["PC1", "PC2", "PC3"];
        return all.every((n) => r[n]?.readings > 0 && all.every((o) => r[n].sees[o] === "UN")) ? r : null;
      }, { timeoutMs: 20000 });
      assert.match(counted.PC1.shown, /^détient \d/, "the count is worded in French");
      // The counts move with the flow. Not necessarily up: they cover the last 10 minutes,
      // and on a lab that carried more readings a few minutes ago (the Rust suites, a
      // rehearsal) more leave the window each second than this test's flow brings in.
      await waitFor("the cards' counts moving with the flow", async () => {
        const r = await replicas(page);
        return ["PC1", "PC2", "PC3"].every((n) => r[n].readings > 0 && r[n].readings !== counted[n].readings) ? r : null;
      }, { timeoutMs: 20000 });
      // The picture lands each new reading as three copies, one per PC, and keeps no hint.
      const whole = await waitFor("the picture landing a reading on the three PCs", async () => {
        const p = await picture(page);
        return p.copies === "3" && ["PC1", "PC2", "PC3"].every((n) => p.copy[n] === "yes") && p.hints.length === 0 && p.reading ? p : null;
      }, { timeoutMs: 10000 });
      assert.equal(whole.caption, "1 mesure → 3 copies, une par PC");
      await waitFor("the picture landing a newer reading", async () => (await picture(page)).reading !== whole.reading, { timeoutMs: 5000 });

      await events.write({
        runId: stack.runId,
        step: 902,
        kind: "kill-node",
        node: FAULT_NODE_NAME,
        figures: { mode: "stop", lang: "fr" },
        narration: `Test du tableau de bord : ${FAULT_NODE_NAME} est arrêté, la courbe doit continuer.`,
      });
      const stopAsked = Date.now();
      stopped = true;
      // Watch the card while the stop runs (drain, then SIGTERM), to date DOWN precisely.
      let downSeen = null;
      const watching = waitFor(`${FAULT_NODE_NAME} DOWN on the page`, async () => {
        if (page.isClosed()) return true; // the test ended (failed) before: stop watching
        if ((await nodeState(page, FAULT_NODE_NAME)) !== "down") return false;
        downSeen = Date.now();
        return true;
      }, { timeoutMs: 200000, everyMs: 100 });
      watching.catch(() => {});
      await labNodeCommand(FAULT_NODE, "stop");
      const stopDone = Date.now();
      await waitFor(`${FAULT_NODE_NAME} DOWN on the page within 10 s of the stop`, () => downSeen !== null, {
        timeoutMs: 10000,
        everyMs: 100,
      });
      console.log(
        `stop (drain + SIGTERM) took ${stopDone - stopAsked} ms; card DOWN ${downSeen - stopAsked} ms after the stop was asked` +
          ` (${downSeen <= stopDone ? "before it returned" : `${downSeen - stopDone} ms after it returned`})`,
      );

      // Without replication, the sensors whose only copy is on the stopped PC stop; the others go on.
      const contrastDuring = await waitFor(`the contrast lane marking ${onFaultNode.join(", ")} stopped and ${elsewhere.join(", ")} live`, async () => {
        const found = await contrastStates(page);
        return found && onFaultNode.every((id) => found[id]?.state === "stopped") && elsewhere.every((id) => found[id]?.state === "live") ? found : null;
      }, { timeoutMs: 15000, everyMs: 250 });
      console.log(`contrast lane ${Date.now() - stopDone} ms after the stop returned: ${JSON.stringify(contrastDuring)}`);
      assert.equal(contrastDuring[onFaultNode[0]].text, "arrêté : sa seule copie est sur un PC éteint");

      // With replication, every sensor's curve goes on, those of the contrast's stopped ones included.
      const before = await chartSnapshot(page);
      for (const id of stack.sensorIds) {
        const lastBefore = before.datasets.find((d) => d.label === id).last;
        const newer = await waitForNewPoint(page, id, Math.max(lastBefore.x, downSeen), 10000);
        console.log(`with ${FAULT_NODE_NAME} down the chart gained a point of ${id} at ${new Date(newer.x).toISOString()}`);
      }
      const contrastCurves = await chartSnapshot(page, "contrastChart");
      for (const id of elsewhere) {
        const lastBefore = contrastCurves.datasets.find((d) => d.label === id).last;
        await waitForNewPoint(page, id, Math.max(lastBefore.x, downSeen), 10000, "contrastChart");
      }
      for (const other of OTHERS) {
        assert.equal(await nodeState(page, other), "up", `${other} stays UP`);
      }
      // The stopped PC shows no count; the others see it DN and keep its writes aside.
      const during = await waitFor(`${OTHERS.join(" and ")} seeing ${FAULT_NODE_NAME} DN and keeping hints for it`, async () => {
        const r = await replicas(page);
        const ok =
          r[FAULT_NODE_NAME].readings === null &&
          OTHERS.every((o) => r[o].sees[FAULT_NODE_NAME] === "DN" && r[o].keeps.includes(FAULT_NODE_NAME) && r[o].readings > 0);
        return ok ? r : null;
      }, { timeoutMs: 15000, everyMs: 250 });
      console.log(`while ${FAULT_NODE_NAME} is down: ${JSON.stringify(during)}`);
      // The picture lands the new readings on the two others, the stopped PC's copy kept
      // aside as a hint by one of them.
      const halved = await waitFor(`the picture landing readings on ${OTHERS.join(" and ")} and a hint for ${FAULT_NODE_NAME}`, async () => {
        const p = await picture(page);
        const ok =
          p.copies === "2" &&
          p.copy[FAULT_NODE_NAME] === "no" &&
          OTHERS.every((o) => p.copy[o] === "yes") &&
          p.hints.length === 1 &&
          p.hints[0].for === FAULT_NODE_NAME &&
          OTHERS.includes(p.hints[0].keptBy);
        return ok ? p : null;
      }, { timeoutMs: 10000, everyMs: 250 });
      assert.equal(halved.caption, `2 copies + un indice gardé par ${halved.hints[0].keptBy} pour ${FAULT_NODE_NAME}`);
      await waitFor(`the picture landing a newer reading with ${FAULT_NODE_NAME} down`, async () => (await picture(page)).reading !== halved.reading, {
        timeoutMs: 10000,
      });
      console.log(`picture while ${FAULT_NODE_NAME} is down: ${JSON.stringify(halved)}`);
      await sleep(1500); // let the event marker and the ONE-consistency note settle for the picture
      await shot(page, "dashboard-node-down.png");
      // Long enough for the stopped curves to end visibly short of the others in the contrast chart.
      await sleep(Math.max(0, downSeen + 15000 - Date.now()));
      const contrastLater = await contrastStates(page);
      assert.ok(onFaultNode.every((id) => contrastLater[id].state === "stopped"), `still stopped: ${JSON.stringify(contrastLater)}`);
      assert.ok(elsewhere.every((id) => contrastLater[id].state === "live"), `still live: ${JSON.stringify(contrastLater)}`);
      await shot(page, "dashboard-contrast.png");

      await events.write({
        runId: stack.runId,
        step: 903,
        kind: "start-node",
        node: FAULT_NODE_NAME,
        figures: { lang: "fr" },
        narration: `Test du tableau de bord : ${FAULT_NODE_NAME} redémarre.`,
      });
      const startAsked = Date.now();
      await labNodeCommand(FAULT_NODE, "start");
      await waitFor(`${FAULT_NODE_NAME} back UP on the page`, async () => (await nodeState(page, FAULT_NODE_NAME)) === "up", {
        timeoutMs: 180000,
        everyMs: 500,
      });
      stopped = false;
      console.log(`${FAULT_NODE_NAME} UP again ${Date.now() - startAsked} ms after start was asked`);
      await waitFor("the picture landing readings on the three PCs again, with no hint", async () => {
        const p = await picture(page);
        return p.copies === "3" && ["PC1", "PC2", "PC3"].every((n) => p.copy[n] === "yes") && p.hints.length === 0;
      }, { timeoutMs: 10000, everyMs: 250 });
      // Back, its single copies are written and read again: live, their curve broken over the
      // readings given up while it was down (the replicated curve has them all).
      const contrastBack = await waitFor("every sensor live again in the contrast lane", async () => {
        const found = await contrastStates(page);
        return found && stack.sensorIds.every((id) => found[id]?.state === "live") ? found : null;
      }, { timeoutMs: 90000, everyMs: 500 });
      console.log(`contrast lane live again ${Date.now() - startAsked} ms after start was asked: ${JSON.stringify(contrastBack)}`);
      const [mainCurves, brokenCurves] = [await chartSnapshot(page), await chartSnapshot(page, "contrastChart")];
      for (const id of onFaultNode) {
        const broken = brokenCurves.datasets.find((d) => d.label === id);
        const main = mainCurves.datasets.find((d) => d.label === id);
        console.log(`${id}: widest hole ${broken.widestGapMs} ms without replication, ${main.widestGapMs} ms with`);
        assert.ok(broken.widestGapMs > CURVE_BREAK_MS, `the contrast curve of ${id} breaks where its readings are missing`);
      }
      // Back, it catches up: its count reaches the others' (less what 3 s of the flow
      // adds, as two cards' counts are taken up to 2 s apart).
      const upAt = Date.now();
      const slack = stack.sensorIds.length * 2 * 3;
      let firstBack = null;
      const caughtUp = await waitFor(`${FAULT_NODE_NAME}'s count reaching the others'`, async () => {
        const r = await replicas(page);
        const back = r[FAULT_NODE_NAME].readings;
        const fewest = Math.min(...OTHERS.map((o) => r[o].readings ?? Infinity));
        if (back !== null && firstBack === null) firstBack = { back, fewest };
        return back !== null && Number.isFinite(fewest) && back >= fewest - slack ? r : null;
      }, { timeoutMs: 120000, everyMs: 500 });
      console.log(`${FAULT_NODE_NAME}'s first count back: ${firstBack?.back} (the others at least ${firstBack?.fewest})`);
      console.log(`${FAULT_NODE_NAME} caught up ${Date.now() - upAt} ms after its card turned UP: ${JSON.stringify(caughtUp)}`);
      await shot(page, "dashboard-node-back.png");
    } finally {
      await page.close().catch(() => {});
      try {
        if (stopped) await labNodeCommand(FAULT_NODE, "start").catch((err) => console.error(`# restoring ${FAULT_NODE_NAME}: ${err.message}`));
      } finally {
        await release();
      }
    }
  });

  test("with the api stopped the page says it is unreachable, and recovers when the api returns", async () => {
    const watched = stack.sensorIds[0];
    await withPage(browser.context, pageUrl({ sensor: watched }), async ({ page }) => {
      await firstPoints(page, watched);
      await waitFor("the page to be live", async () => (await page.getAttribute("#api-status", "data-state")) === "ok", {
        timeoutMs: 10000,
      });
      await stack.api.stop();
      const stoppedAt = Date.now();
      await waitFor("the page to say the api is unreachable", async () => (await page.getAttribute("#api-status", "data-state")) === "down", {
        timeoutMs: 10000,
        everyMs: 100,
      });
      console.log(`unreachable shown ${Date.now() - stoppedAt} ms after the api stopped`);
      assert.equal(await page.isVisible("#api-alert"), true, "a plain alert is shown");
      assert.match(await page.textContent("#api-alert"), /L'API ne répond plus/);
      assert.equal(await page.textContent("#api-status"), "API injoignable");
      await waitFor("cluster cards no longer claiming UP", async () => {
        const states = await page.$$eval("#cluster-cards .node", (cards) => cards.map((c) => c.dataset.state));
        return states.length > 0 && states.every((s) => s === "unknown");
      }, { timeoutMs: 5000 });
      await waitFor("the replication picture making no claim", async () => {
        const p = await picture(page);
        const copies = Object.values(p.copy);
        return p.state === "unknown" && p.copies === "" && p.hints.length === 0 && copies.length > 0 && copies.every((c) => c === "unknown");
      }, { timeoutMs: 5000 });
      await sleep(1500);
      await shot(page, "dashboard-api-down.png");
      const lastWhileDown = (await chartSnapshot(page)).datasets.find((d) => d.label === watched).last;

      stack.api.start();
      const restartedAt = Date.now();
      await stack.waitForApi(30000);
      await waitFor("the page to be live again", async () => (await page.getAttribute("#api-status", "data-state")) === "ok", {
        timeoutMs: 15000,
        everyMs: 100,
      });
      console.log(`live again ${Date.now() - restartedAt} ms after the api was restarted`);
      assert.equal(await page.isVisible("#api-alert"), false, "the alert is gone");
      await waitForNewPoint(page, watched, lastWhileDown.x, 10000);
    });
  });
});
