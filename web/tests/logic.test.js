// Why: the dashboard's pure logic (language choice, each language's words kept apart, an
// event's author words shown only in their language, appending only new readings, trimming
// to the window, picking live sensors, telling a stopped curve of the contrast lane, event
// tones, clock ticks, where the replication picture puts a new reading's copies) checked
// without a browser.

import { test } from "node:test";
import assert from "node:assert/strict";

import { pickLanguage, messagesFor, eventLabel, eventNarration } from "../js/i18n.js";
import { FRENCH_MARKS, messageTexts, vocabulary, wordsOf } from "./support/vocabulary.js";
import {
  activeSensors,
  CONTRAST_STALL_MS,
  contrastSensorState,
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
import { newestReading, replicationPlan, writeQuorum } from "../js/replication-picture.js";

test("language: ?lang wins, then the browser's languages, then English", () => {
  assert.equal(pickLanguage("?lang=fr", ["en-US"]), "fr");
  assert.equal(pickLanguage("?lang=EN", ["fr-FR"]), "en");
  assert.equal(pickLanguage("?lang=de", ["fr-CA", "en"]), "fr");
  assert.equal(pickLanguage("", ["de-DE", "en-GB"]), "en");
  assert.equal(pickLanguage("", []), "en");
  assert.equal(messagesFor("fr").down, "ARRÊTÉ");
  assert.equal(messagesFor("xx").down, "DOWN");
});

/** A message table's keys, nested ones included, each with the type of its value. */
function shapeOf(table) {
  return Object.fromEntries(
    Object.entries(table)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, value]) => [key, value && typeof value === "object" ? shapeOf(value) : typeof value]),
  );
}

test("every message exists in both languages, nested ones included", () => {
  assert.deepEqual(shapeOf(messagesFor("fr")), shapeOf(messagesFor("en")));
});

/**
 * The words both tables use: names (Cassandra, Kafka, nodetool, npm, the ingest service
 * and PCs of the sample arguments), units, and words French and English share ("a":
 * "a hint" and "a rattrapé"; "copies", "page", "pause", "services"). Any other shared word
 * is one language's word in the other's table: a new word here must be one of both.
 */
const WORDS_OF_BOTH_TABLES = [
  "a", "api", "cassandra", "chart", "ci", "cluster", "copies", "ingest", "iot", "js", "kafka", "min", "ms",
  "nodetool", "npm", "ok", "one", "page", "pause", "pc", "prefix", "s", "services", "status", "web",
];

test("neither table uses the other language's words", () => {
  const en = vocabulary("en");
  const fr = vocabulary("fr");
  assert.deepEqual([...en].filter((word) => fr.has(word)).sort(), WORDS_OF_BOTH_TABLES);
  for (const text of messageTexts("en")) {
    assert.doesNotMatch(text, FRENCH_MARKS, `an English text with French letters: "${text}"`);
  }
  // The vocabulary is made of words, not of text: "copie" is no part of "copies".
  assert.deepEqual([...wordsOf("2 copies + un indice gardé par l'API")], ["copies", "un", "indice", "gardé", "par", "l", "api"]);
  assert.ok(fr.has("arrêté") && fr.has("mesures") && !en.has("arrêté"), "the French words are in the French vocabulary only");
  assert.ok(en.has("readings") && en.has("stopped") && !fr.has("readings"), "the English words are in the English vocabulary only");
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
  const stop = { kind: "kill-node", node: "PC2", figures: { mode: "stop" } };
  assert.equal(eventLabel("en", stop), "PC2 stopped");
  assert.equal(eventLabel("fr", stop), "PC2 arrêté");
  assert.equal(eventLabel("fr", { kind: "kill-node", node: "PC2", figures: { mode: "freeze" } }), "PC2 gelé");
  assert.equal(eventLabel("en", { kind: "kill-node", node: "PC2", figures: { mode: "manual" } }), "PC2 switched off");
  const isolate = { kind: "kill-node", node: "PC2", figures: { mode: "isolate" } };
  assert.equal(eventLabel("en", isolate), "PC2 isolated (network cable pulled)");
  assert.equal(eventLabel("fr", isolate), "PC2 isolé (câble réseau débranché)");
  // In the words of the cards: a French page says ARRÊTÉ, never the conductor's DOWN.
  assert.equal(eventLabel("en", { kind: "wait-node-state", node: "PC2", figures: { state: "down" } }), "PC2 seen DOWN");
  assert.equal(eventLabel("fr", { kind: "wait-node-state", node: "PC2", figures: { state: "down" } }), "PC2 vu ARRÊTÉ");
  assert.equal(eventLabel("fr", { kind: "wait-node-state", node: "PC2", figures: { state: "up" } }), "PC2 vu EN LIGNE");
  assert.equal(eventLabel("fr", { kind: "capture", node: null, figures: {} }), "nodetool status");
  assert.equal(eventLabel("en", { kind: "capture", node: "PC1", figures: {} }), "nodetool status (PC1)");
  assert.equal(eventLabel("en", { kind: "expect-catch-up", node: "PC2", figures: {} }), "PC2 caught up");
  assert.equal(eventLabel("fr", { kind: "verify", figures: {} }), "Rien n'est perdu");
  assert.equal(eventLabel("en", { kind: "kill-service", node: null, figures: { service: "ingest" } }), "ingest killed");
  assert.equal(eventLabel("fr", { kind: "kill-service", node: null, figures: { service: "ingest" } }), "ingest tué");
  assert.equal(eventLabel("fr", { kind: "restart-service", figures: { service: "api" } }), "api redémarré");
  assert.equal(eventLabel("en", { kind: "restart-service", figures: {} }), "? restarted");
  assert.equal(eventLabel("en", { kind: "restart-kafka", figures: {} }), "Kafka restarted");
  // The run's verdict: its status says passed or failed.
  const passed = { kind: "verdict", step: 0, status: "ok", figures: { verdict: { steps: 12, readings: 1234, lost: 0 } } };
  assert.equal(eventLabel("en", passed), "PASSED: all 12 steps, 0 of 1234 readings lost");
  assert.equal(eventLabel("fr", passed), "RÉUSSI : les 12 étapes, 0 mesure(s) perdue(s) sur 1234");
  const failed = { kind: "verdict", step: 0, status: "failed", figures: { verdict: { steps: 12, failed_step: 7 } } };
  assert.equal(eventLabel("en", failed), "FAILED at step 7 of 12");
  assert.equal(eventLabel("fr", failed), "ÉCHEC à l'étape 7 sur 12");
  assert.equal(eventLabel("en", { kind: "verdict", status: "ok", figures: { verdict: { steps: 3 } } }), "PASSED: all 3 steps");
  // A kind this page does not know yet shows its name.
  assert.equal(eventLabel("en", { kind: "chaos-monkey", figures: {} }), "chaos-monkey");
});

test("the author's label and narration show only on a page in the language they were written in", () => {
  const french = {
    kind: "kill-node",
    node: "PC2",
    figures: { mode: "stop", lang: "fr" },
    label: "Le PC2 s'éteint",
    narration: "Maintenant, on éteint le PC2, comme si on le débranchait.",
    status: "running",
  };
  assert.equal(eventLabel("fr", french), "Le PC2 s'éteint");
  assert.equal(eventNarration("fr", french), "Maintenant, on éteint le PC2, comme si on le débranchait.");
  // Another language: the page words the event itself, in the list, the markers and the banner.
  assert.equal(eventLabel("en", french), "PC2 stopped");
  assert.equal(eventNarration("en", french), "PC2 stopped");
  const english = { ...french, figures: { mode: "stop", lang: "en" }, label: "PC2 goes dark", narration: "Now PC2 is switched off." };
  assert.equal(eventLabel("en", english), "PC2 goes dark");
  assert.equal(eventNarration("en", english), "Now PC2 is switched off.");
  assert.equal(eventLabel("fr", english), "PC2 arrêté");
  assert.equal(eventNarration("fr", english), "PC2 arrêté");
  // A row written before events carried their language: its words may be in either.
  const unknown = { ...french, figures: { mode: "stop" } };
  assert.equal(eventLabel("fr", unknown), "PC2 arrêté");
  assert.equal(eventNarration("fr", unknown), "PC2 arrêté");
  assert.equal(eventLabel("en", { ...french, figures: undefined }), "PC2 stopped");
  // In the right language but with no label or narration: worded too.
  assert.equal(eventLabel("fr", { ...french, label: null }), "PC2 arrêté");
  assert.equal(eventNarration("fr", { ...french, narration: "" }), "Le PC2 s'éteint");
  // The verdict carries no narration: the banner words it, in either language.
  const verdict = { kind: "verdict", step: 0, status: "ok", narration: "", figures: { verdict: { steps: 3, readings: 10, lost: 0 }, lang: "fr" } };
  assert.equal(eventNarration("en", verdict), "PASSED: all 3 steps, 0 of 10 readings lost");
  assert.equal(eventNarration("fr", verdict), "RÉUSSI : les 3 étapes, 0 mesure(s) perdue(s) sur 10");
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

/** A /cluster body with PC1..PC3, `down` naming the PCs that do not answer. */
const clusterWith = (...down) => ({
  checked_at: "2026-01-04T10:00:00Z",
  nodes: ["PC1", "PC2", "PC3"].map((name, i) => ({ name, address: `127.0.0.${i + 1}`, up: !down.includes(name) })),
});
const copiesOf = (plan) => plan.targets.map((t) => `${t.node}:${t.copy}${t.copyNumber ?? ""}`);

test("replication picture: all PCs up, a new reading lands as 3 copies", () => {
  const plan = replicationPlan(clusterWith(), true);
  assert.equal(plan.state, "written");
  assert.equal(plan.copies, 3);
  assert.deepEqual(copiesOf(plan), ["PC1:yes1", "PC2:yes2", "PC3:yes3"]);
  assert.deepEqual(plan.hints, []);
  assert.deepEqual(plan.caption, { key: "written", args: [3] });
});

test("replication picture: one PC down, 2 copies and its copy kept aside as a hint by the first live PC", () => {
  const plan = replicationPlan(clusterWith("PC3"), true);
  assert.equal(plan.state, "written");
  assert.equal(plan.copies, 2);
  assert.deepEqual(copiesOf(plan), ["PC1:yes1", "PC2:yes2", "PC3:no"]);
  assert.deepEqual(plan.hints, [{ for: "PC3", keptBy: "PC1" }]);
  assert.deepEqual(plan.caption, { key: "writtenWithHints", args: [2, "PC1", ["PC3"]] });

  const firstDown = replicationPlan(clusterWith("PC1"), true);
  assert.deepEqual(copiesOf(firstDown), ["PC1:no", "PC2:yes1", "PC3:yes2"]);
  assert.deepEqual(firstDown.hints, [{ for: "PC1", keptBy: "PC2" }], "the hint is on a live PC, never on the one down");
});

test("replication picture: two PCs down, below QUORUM nothing is stored and the reading waits in Kafka", () => {
  assert.equal(writeQuorum(3), 2);
  assert.equal(writeQuorum(5), 3);
  const plan = replicationPlan(clusterWith("PC2", "PC3"), true);
  assert.equal(plan.state, "waiting");
  assert.equal(plan.copies, 0);
  assert.deepEqual(copiesOf(plan), ["PC1:no", "PC2:no", "PC3:no"]);
  assert.deepEqual(plan.targets.map((t) => t.up), [true, false, false]);
  assert.deepEqual(plan.hints, [], "a refused write leaves no hint either");
  assert.deepEqual(plan.caption, { key: "waiting", args: [1, 2] });
  assert.deepEqual(replicationPlan(clusterWith("PC1", "PC2", "PC3"), true).caption, { key: "waiting", args: [0, 2] });
});

test("replication picture: no claim while the API does not answer or the cluster is not known", () => {
  const unreachable = replicationPlan(clusterWith(), false);
  assert.equal(unreachable.state, "unknown");
  assert.equal(unreachable.copies, null);
  assert.deepEqual(copiesOf(unreachable), ["PC1:unknown", "PC2:unknown", "PC3:unknown"], "a stale UP is not drawn as a copy");
  assert.deepEqual(unreachable.hints, []);
  assert.deepEqual(unreachable.caption, { key: "unknown", args: [] });
  assert.equal(replicationPlan(null, true).state, "unknown", "before the first /cluster answer");
  assert.deepEqual(replicationPlan(null, true).targets, []);
  assert.equal(replicationPlan({ nodes: [] }, true).state, "unknown");
  assert.equal(replicationPlan({ nodes: [{ name: "PC1" }, { name: "PC2", up: true }] }, true).state, "unknown");
});

test("replication picture: the newest reading received is the one shown, its key changing with each new one", () => {
  const sensors = [
    { sensor_id: "s_01", last_timestamp: "2026-01-04T10:00:01.500Z", last_value: 21.5 },
    { sensor_id: "s_02", last_timestamp: "2026-01-04T10:00:02.000Z", last_value: 19.25 },
    { sensor_id: "s_03", last_timestamp: "not a time", last_value: 30 },
  ];
  assert.deepEqual(newestReading(sensors), {
    sensor_id: "s_02",
    timestamp: "2026-01-04T10:00:02.000Z",
    value: 19.25,
    key: "s_02 2026-01-04T10:00:02.000Z",
  });
  const next = newestReading([...sensors, { sensor_id: "s_01", last_timestamp: "2026-01-04T10:00:02.500Z", last_value: 22 }]);
  assert.notEqual(next.key, newestReading(sensors).key);
  assert.equal(newestReading([]), null);
  assert.equal(newestReading(undefined), null);
});

test("replication picture words: every caption in both languages, none of the other's words", () => {
  const en = messagesFor("en").picture;
  const fr = messagesFor("fr").picture;
  assert.deepEqual(Object.keys(fr).sort(), Object.keys(en).sort());
  const captions = (words) =>
    [clusterWith(), clusterWith("PC3"), clusterWith("PC2", "PC3")]
      .map((cluster) => replicationPlan(cluster, true))
      .concat(replicationPlan(clusterWith(), false))
      .map(({ caption }) => words[caption.key](...caption.args));
  assert.deepEqual(captions(en), [
    "1 reading → 3 copies, one per PC",
    "2 copies + a hint kept by PC1 for PC3",
    "2 PCs needed, 1 up: the reading waits in Kafka",
    "No answer from the API: nothing is claimed",
  ]);
  assert.deepEqual(captions(fr), [
    "1 mesure → 3 copies, une par PC",
    "2 copies + un indice gardé par PC1 pour PC3",
    "Il faut 2 PC, 1 répond : la mesure attend dans Kafka",
    "Pas de réponse de l'API : rien n'est affirmé",
  ]);
  assert.equal(en.copy(2), "copy 2");
  assert.equal(fr.copy(2), "copie 2");
  assert.equal(en.hintFor("PC3"), "for PC3");
  assert.equal(fr.hintFor("PC3"), "pour PC3");
  assert.equal(en.waiting(0, 2), "2 PCs needed, none up: the reading waits in Kafka");
  assert.equal(fr.waiting(0, 2), "Il faut 2 PC, aucun ne répond : la mesure attend dans Kafka");
});

test("contrast lane: a curve is live while its single copy keeps advancing", () => {
  const nowMs = Date.UTC(2026, 0, 4, 10, 0, 30);
  assert.equal(CONTRAST_STALL_MS, 5000);
  assert.equal(contrastSensorState({ lastMs: nowMs - 1000, failing: false, replicatedLastMs: nowMs - 500, nowMs }), "live");
  assert.equal(contrastSensorState({ lastMs: nowMs - 5000, failing: false, nowMs }), "live", "5 s behind is still live");
  // A reading stamped by a clock slightly ahead of the viewer's is not a stall.
  assert.equal(contrastSensorState({ lastMs: nowMs + 800, failing: false, nowMs }), "live");
});

test("contrast lane: stopped when the API cannot read it or when it stays more than 5 s behind", () => {
  const nowMs = Date.UTC(2026, 0, 4, 10, 0, 30);
  // The PC holding the only copy is down: the API answers 503, whatever was drawn before.
  assert.equal(contrastSensorState({ lastMs: nowMs - 200, failing: true, replicatedLastMs: nowMs, nowMs }), "stopped");
  assert.equal(contrastSensorState({ lastMs: undefined, failing: true, nowMs }), "stopped");
  // Its reads still answer, but it falls more than 5 s behind its replicated twin, which goes on.
  assert.equal(contrastSensorState({ lastMs: nowMs - 5301, failing: false, replicatedLastMs: nowMs - 300, nowMs }), "stopped");
  assert.equal(contrastSensorState({ lastMs: nowMs - 5300, failing: false, replicatedLastMs: nowMs - 300, nowMs }), "live");
  assert.equal(contrastSensorState({ lastMs: nowMs - 60000, failing: false, nowMs }), "stopped");
  assert.equal(contrastSensorState({ lastMs: nowMs - 3000, failing: false, nowMs, stallMs: 2000 }), "stopped");
});

test("contrast lane: a flow that stalls as a whole is not blamed on the single copy", () => {
  const nowMs = Date.UTC(2026, 0, 4, 10, 0, 30);
  // Producer stopped or API unreachable: both lanes stopped 20 s ago, at the same reading.
  assert.equal(contrastSensorState({ lastMs: nowMs - 20000, failing: false, replicatedLastMs: nowMs - 20000, nowMs }), "live");
  // ...but a single copy that stopped well before its replicated twin is stopped.
  assert.equal(contrastSensorState({ lastMs: nowMs - 40000, failing: false, replicatedLastMs: nowMs - 20000, nowMs }), "stopped");
  // A replicated reading "ahead of now" (skewed clocks) never stretches the allowance.
  assert.equal(contrastSensorState({ lastMs: nowMs - 6000, failing: false, replicatedLastMs: nowMs + 4000, nowMs }), "stopped");
});

test("contrast lane: waiting before its first reading", () => {
  const nowMs = Date.UTC(2026, 0, 4, 10, 0, 30);
  assert.equal(contrastSensorState({ lastMs: undefined, failing: false, replicatedLastMs: nowMs, nowMs }), "waiting");
  assert.equal(contrastSensorState({ lastMs: NaN, failing: false, nowMs }), "waiting");
});

test("contrast lane words: every state in both languages, none of the other's words", () => {
  const en = messagesFor("en");
  const fr = messagesFor("fr");
  assert.deepEqual(Object.keys(fr.contrastStates).sort(), ["live", "stopped", "waiting"]);
  assert.deepEqual(Object.keys(en.contrastStates).sort(), ["live", "stopped", "waiting"]);
  assert.equal(en.contrastTitle, "Without replication (a single copy)");
  assert.equal(fr.contrastTitle, "Sans réplication (1 seule copie)");
  assert.equal(en.contrastStates.stopped, "stopped: its only copy is on a PC that is down");
  assert.equal(fr.contrastStates.stopped, "arrêté : sa seule copie est sur un PC éteint");
  const englishTexts = [en.contrastTitle, en.contrastHint, ...Object.values(en.contrastStates)].join(" ");
  const frenchTexts = [fr.contrastTitle, fr.contrastHint, ...Object.values(fr.contrastStates)].join(" ");
  for (const word of ["réplication", "seule", "copie", "mesures", "arrêté", "direct", "éteint", "aucune", "capteur"]) {
    assert.ok(!englishTexts.toLowerCase().includes(word), `English contrast texts hold the French word "${word}"`);
  }
  for (const word of ["without", "single", "readings", "stopped", "live", "down", "only", "sensor", "stored"]) {
    assert.ok(!frenchTexts.toLowerCase().includes(word), `French contrast texts hold the English word "${word}"`);
  }
});
