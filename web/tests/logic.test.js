// Why: the dashboard's pure logic (language choice, appending only new readings, trimming
// to the window, picking live sensors, event tones, clock ticks) checked without a browser.

import { test } from "node:test";
import assert from "node:assert/strict";

import { pickLanguage, messagesFor, eventLabel } from "../js/i18n.js";
import {
  activeSensors,
  mergeReadings,
  collapseSteps,
  eventTone,
  median,
  parseTimestamp,
  ringCode,
  roundClockTicks,
  secondsAgo,
  trimBefore,
} from "../js/series.js";
import { Connectivity, SERVER_ERROR_MEMORY_MS, SLOW_MS } from "../js/api.js";

test("language: ?lang wins, then the browser's languages, then English", () => {
  assert.equal(pickLanguage("?lang=fr", ["en-US"]), "fr");
  assert.equal(pickLanguage("?lang=EN", ["fr-FR"]), "en");
  assert.equal(pickLanguage("?lang=de", ["fr-CA", "en"]), "fr");
  assert.equal(pickLanguage("", ["de-DE", "en-GB"]), "en");
  assert.equal(pickLanguage("", []), "en");
  assert.equal(messagesFor("fr").down, "ARRÊTÉ");
  assert.equal(messagesFor("xx").down, "DOWN");
});

test("every message exists in both languages", () => {
  const en = Object.keys(messagesFor("en")).sort();
  const fr = Object.keys(messagesFor("fr")).sort();
  assert.deepEqual(fr, en);
});

test("timestamps: RFC 3339 with or without zone (zone-less is UTC)", () => {
  assert.equal(parseTimestamp("2026-01-04T10:00:01.250Z"), Date.UTC(2026, 0, 4, 10, 0, 1, 250));
  assert.equal(parseTimestamp("2026-01-04T10:00:01"), Date.UTC(2026, 0, 4, 10, 0, 1));
  assert.equal(parseTimestamp("2026-01-04T11:00:01+01:00"), Date.UTC(2026, 0, 4, 10, 0, 1));
  assert.ok(Number.isNaN(parseTimestamp(null)));
  assert.equal(secondsAgo(1000, 5999), 4);
  assert.equal(secondsAgo(9000, 5000), 0, "a viewer clock slightly behind never shows negative ages");
  assert.equal(secondsAgo(NaN, 5000), null);
});

test("merging readings skips those already drawn and inserts late ones in order", () => {
  const points = [];
  const t = (s) => `2026-01-04T10:00:0${s}.000Z`;
  assert.equal(mergeReadings(points, [{ timestamp: t(1), value: 1 }, { timestamp: t(3), value: 3 }]), 2);
  assert.equal(
    mergeReadings(points, [
      { timestamp: t(1), value: 1 },
      { timestamp: t(2), value: 2 },
      { timestamp: t(3), value: 3 },
      { timestamp: t(4), value: 4 },
      { timestamp: "garbage", value: 5 },
      { timestamp: t(5), value: "not a number" },
    ]),
    2,
  );
  assert.deepEqual(points.map((p) => p.y), [1, 2, 3, 4]);
  assert.ok(points.every((p, i) => i === 0 || points[i - 1].x < p.x), "sorted, no duplicate");
  assert.equal(mergeReadings(points, [{ timestamp: t(0), value: 0 }]), 1, "older than everything goes first");
  assert.equal(points[0].y, 0);
});

test("trimming keeps one point before the window so the line enters from the edge", () => {
  const points = [1, 2, 3, 4, 5].map((x) => ({ x, y: x }));
  assert.equal(trimBefore(points, 3.5), 2);
  assert.deepEqual(points.map((p) => p.x), [3, 4, 5]);
  assert.equal(trimBefore(points, 0), 0);
});

test("active sensors: recent ones only, sorted, capped", () => {
  const sensors = [
    { sensor_id: "b", last_timestamp: "2026-01-04T10:00:00Z" },
    { sensor_id: "a", last_timestamp: "2026-01-04T09:59:00Z" },
    { sensor_id: "old", last_timestamp: "2026-01-03T10:00:00Z" },
    { sensor_id: "c", last_timestamp: "2026-01-04T09:58:00Z" },
  ];
  assert.deepEqual(activeSensors(sensors, 15 * 60000, 10).map((s) => s.sensor_id), ["a", "b", "c"]);
  assert.deepEqual(activeSensors(sensors, 15 * 60000, 2).map((s) => s.sensor_id), ["a", "b"]);
  assert.deepEqual(activeSensors([], 1000, 5), []);
});

test("event tones come from the event's tone (its kind), a failure being a fault", () => {
  assert.equal(eventTone({ kind: "kill-node", tone: "fault", status: "running" }), "fault");
  assert.equal(eventTone({ kind: "start-node", tone: "recovery", status: "ok" }), "recovery");
  assert.equal(eventTone({ kind: "expect-catch-up", tone: "recovery", status: "ok" }), "recovery");
  assert.equal(eventTone({ kind: "verify", tone: "info", status: "failed" }), "fault");
  assert.equal(eventTone({ kind: "verify", status: "failed" }), "fault");
  assert.equal(eventTone({ kind: "wait-node-state", tone: "info", status: "ok" }), "info");
  // Words no longer decide: a label that reads like a fault stays quiet without the tone.
  assert.equal(eventTone({ kind: "capture", label: "PC2 arrêté", tone: "info", status: "ok" }), "info");
  assert.equal(eventTone({ kind: "narrate", label: "PC2 down" }), "info");
  assert.equal(eventTone({ tone: "loud" }), "info");
});

test("events are worded from kind, node and figures in the page's language", () => {
  const en = messagesFor("en");
  const fr = messagesFor("fr");
  const stop = { kind: "kill-node", node: "PC2", figures: { mode: "stop" } };
  assert.equal(eventLabel(en, stop), "PC2 stopped");
  assert.equal(eventLabel(fr, stop), "PC2 arrêté");
  assert.equal(eventLabel(fr, { kind: "kill-node", node: "PC2", figures: { mode: "freeze" } }), "PC2 gelé");
  assert.equal(eventLabel(en, { kind: "kill-node", node: "PC2", figures: { mode: "manual" } }), "PC2 switched off");
  const isolate = { kind: "kill-node", node: "PC2", figures: { mode: "isolate" } };
  assert.equal(eventLabel(en, isolate), "PC2 isolated (network cable pulled)");
  assert.equal(eventLabel(fr, isolate), "PC2 isolé (câble réseau débranché)");
  assert.equal(eventLabel(en, { kind: "wait-node-state", node: "PC2", figures: { state: "down" } }), "PC2 seen DOWN");
  assert.equal(eventLabel(fr, { kind: "wait-node-state", node: "PC2", figures: { state: "down" } }), "PC2 vu DOWN");
  assert.equal(eventLabel(fr, { kind: "capture", node: null, figures: {} }), "nodetool status");
  assert.equal(eventLabel(en, { kind: "capture", node: "PC1", figures: {} }), "nodetool status (PC1)");
  assert.equal(eventLabel(en, { kind: "expect-catch-up", node: "PC2", figures: {} }), "PC2 caught up");
  assert.equal(eventLabel(fr, { kind: "verify", figures: {} }), "Rien n'est perdu");
  assert.equal(eventLabel(en, { kind: "kill-service", node: null, figures: { service: "ingest" } }), "ingest killed");
  assert.equal(eventLabel(fr, { kind: "kill-service", node: null, figures: { service: "ingest" } }), "ingest tué");
  assert.equal(eventLabel(fr, { kind: "restart-service", figures: { service: "api" } }), "api redémarré");
  assert.equal(eventLabel(en, { kind: "restart-service", figures: {} }), "? restarted");
  assert.equal(eventLabel(en, { kind: "restart-kafka", figures: {} }), "Kafka restarted");
  // The author's label wins; an unknown kind shows its name.
  assert.equal(eventLabel(en, { ...stop, label: "Le PC2 s'éteint" }), "Le PC2 s'éteint");
  assert.equal(eventLabel(en, { kind: "chaos-monkey", figures: {} }), "chaos-monkey");
});

test("a step's running and ok events fold into one entry dated from its start", () => {
  const events = [
    { at: "2026-01-04T10:00:30Z", run_id: "r", step: "5", kind: "kill-node", label: "PC2 arrêté", status: "ok", narration: "b" },
    { at: "2026-01-04T10:00:20Z", run_id: "r", step: "5", kind: "kill-node", label: "PC2 arrêté", status: "running", narration: "a" },
    { at: "2026-01-04T10:00:10Z", run_id: "r", step: "4", kind: "expect-data", label: "Données", status: "ok" },
    { at: "2026-01-04T10:00:05Z", label: "hand-written" },
  ];
  const steps = collapseSteps(events);
  assert.deepEqual(steps.map((s) => [s.step, s.at, s.status]), [
    ["5", "2026-01-04T10:00:20Z", "ok"],
    ["4", "2026-01-04T10:00:10Z", "ok"],
    [undefined, "2026-01-04T10:00:05Z", undefined],
  ]);
  assert.equal(steps[0].narration, "b", "the latest narration is kept");
  assert.deepEqual(collapseSteps([]), []);
});

test("median resists one late sample", () => {
  assert.equal(median([-400, -300, -9000, -500, -350]), -400);
  assert.equal(median([1, 3]), 2);
  assert.ok(Number.isNaN(median([])));
});

test("each PC's view of the ring reads like nodetool status", () => {
  assert.equal(ringCode({ up: true, status: "normal" }), "UN");
  assert.equal(ringCode({ up: false, status: "normal" }), "DN");
  assert.equal(ringCode({ up: true, status: "joining" }), "UJ");
  assert.equal(ringCode({ up: true, status: "leaving" }), "UL");
  assert.equal(ringCode({ up: false, status: "something new" }), "D?");
  assert.equal(ringCode(undefined), "D?");
});

test("replica lines are worded in both languages", () => {
  const en = messagesFor("en");
  const fr = messagesFor("fr");
  assert.equal(en.holds("5,400"), "holds 5,400 readings of the last 10 min");
  assert.equal(fr.holds("5 400"), "détient 5 400 mesures des 10 dernières minutes");
  assert.match(en.keepsFiles(1, "PC2", "14:03:07"), /^keeps 1 hint file for PC2 \(since 14:03:07\)/);
  assert.match(fr.keepsFiles(2, "PC2", "14:03:07"), /^garde 2 fichiers d'indices pour PC2/);
  assert.match(en.keepsAside("PC2"), /^PC2 not heard/);
  assert.match(fr.keepsAside("PC2"), /^PC2 ne répond plus/);
});

test("clock ticks land on round times", () => {
  const ticks = roundClockTicks(12_345, 61_000, 10_000).map((t) => t.value);
  assert.deepEqual(ticks, [20_000, 30_000, 40_000, 50_000, 60_000]);
  assert.deepEqual(roundClockTicks(0, 10, 0), []);
});

test("connectivity: connecting, ok, slow, degraded, down, then recovered", () => {
  const c = new Connectivity();
  assert.equal(c.state(0), "connecting");
  c.recordAnswer(20, 1000, 200, null);
  assert.equal(c.state(1000), "ok");
  c.recordAnswer(SLOW_MS + 1, 2000, 200, null);
  assert.equal(c.state(2000), "slow");
  c.recordAnswer(20, 3000, 503, undefined);
  c.recordAnswer(20, 3100, 200, undefined);
  assert.equal(c.state(3100), "degraded", "a 5xx is remembered over the next answers");
  assert.equal(c.state(3000 + SERVER_ERROR_MEMORY_MS), "ok", "and forgotten once the API reads again");
  c.recordFailure(7000);
  c.recordFailure(8000);
  assert.equal(c.state(8000), "down");
  assert.equal(c.failingSince, 7000, "the outage is dated from its first failure");
  c.recordAnswer(15, 9000, 200, "ONE");
  assert.equal(c.state(9000), "ok");
  assert.equal(c.readConsistency, "ONE");
});

test("the page words every step kind of the conductor's one list (contract/src/events.rs)", async () => {
  const { readFile } = await import("node:fs/promises");
  const source = await readFile(new URL("../../contract/src/events.rs", import.meta.url), "utf8");
  const kinds = [...source.matchAll(/^\s+\w+ = "([a-z-]+)", (?:Info|Fault|Recovery);$/gm)].map((found) => found[1]);
  assert.equal(kinds.length, 14, `kinds found in contract/src/events.rs: ${kinds}`);
  for (const lang of ["en", "fr"]) {
    for (const kind of kinds) {
      assert.ok(Object.hasOwn(messagesFor(lang).steps, kind), `${lang} has no words for ${kind}`);
    }
  }
});
