// Why: wires the dashboard together. Independent polling loops (sensors, curves, cluster,
// events, health, the contrast lane) each wait for their own answer before asking again,
// so a slow API never piles up requests; a render tick redraws the charts and the "N s ago"
// figures whatever the API does, so the page never freezes and always says how fresh its
// data is.

import { getJson, Connectivity } from "./api.js";
import { pickLanguage, messagesFor, eventLabel, eventNarration, SUPPORTED_LANGUAGES } from "./i18n.js";
import { eventMarkersPlugin } from "./event-markers.js";
import { perNode } from "./dom.js";
import { newestReading, renderReplicationPicture, replicationPlan } from "./replication-picture.js";
import {
  activeSensors,
  collapseSteps,
  colourFor,
  contrastSensorState,
  eventTone,
  formatClock,
  median,
  mergeReadings,
  parseTimestamp,
  ringCode,
  roundClockTicks,
  secondsAgo,
  trimBefore,
} from "./series.js";

const WINDOWS_MIN = [1, 5, 15];
/** Sensors silent for longer than this (relative to the freshest one) are left out of "all". */
const ACTIVE_HORIZON_MS = 15 * 60 * 1000;
const MAX_OVERLAID = 10;
const TILES_FOR_ONE_SENSOR = 5;
const TICK_STEP_MS = { 1: 10000, 5: 60000, 15: 120000 };
const HISTORY_LIMIT = 10000;
const UNTIL_MARGIN_MS = 60 * 60 * 1000;
/** Each poll asks again for this much before the last point, to catch readings written late. */
const RECHECK_MS = 5000;
/** A curve breaks where no reading came for this long, rather than draw a line over the hole. */
const GAP_MS = 10000;
/** Only correct for a skewed viewer clock beyond this; below it the API time is not precise enough. */
const SKEW_THRESHOLD_MS = 3000;
const SKEW_SAMPLES = 15;
const skewSamples = [];
/** How often the page asks whether the API serves the contrast lane, so turning it on later shows it. */
const CONTRAST_CHECK_MS = 10000;

const params = new URLSearchParams(location.search);
const lang = pickLanguage(location.search, navigator.languages || [navigator.language]);
const m = messagesFor(lang);
const numberFormat = new Intl.NumberFormat(lang, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const countFormat = new Intl.NumberFormat(lang, { maximumFractionDigits: 0 });

const connectivity = new Connectivity();
/** `?prefix=sensor_` keeps only the demo's sensors (a rehearsal lab also holds tests' sensors). */
const sensorPrefix = params.get("prefix") || "";

/**
 * The shown sensors' curves as read from one family of endpoints: the main lane reads the
 * replicated readings (`/sensors/...`), the contrast lane the same readings kept once
 * (`/rf1/sensors/...`). The contrast lane has a Connectivity of its own: its 503s while a
 * PC is down are what it is there to show, not a failure of the API to colour the status.
 */
function newLane(pathPrefix, laneConnectivity, on) {
  return {
    pathPrefix,
    connectivity: laneConnectivity,
    /** sensor_id -> {points: [{x, y}], loaded: boolean, failing: boolean} */
    series: new Map(),
    chart: null,
    /** Whether the API serves this lane; null until asked. */
    on,
  };
}
const mainLane = newLane("", connectivity, true);
const contrastLane = newLane("/rf1", new Connectivity(), null);
const lanes = [mainLane, contrastLane];
const newSeries = () => ({ points: [], loaded: false, failing: false });

const state = {
  sensors: [],
  selection: params.get("sensor") || "all",
  windowMin: WINDOWS_MIN.includes(Number(params.get("window"))) ? Number(params.get("window")) : 5,
  /** The sensors both lanes show (the selection, or the live ones for "all"). */
  shownIds: [],
  /** /events as given (newest first), and folded into one entry per scenario step. */
  events: [],
  steps: [],
  cluster: null,
  /** Server time minus viewer time, when the viewer's clock is clearly off. */
  clockOffsetMs: 0,
  /** Bumped on every selection/window change so answers to older requests are dropped. */
  generation: 0,
};

const $ = (id) => document.getElementById(id);
const now = () => Date.now() + state.clockOffsetMs;

// ---------------------------------------------------------------- static texts

function applyStaticTexts() {
  document.documentElement.lang = lang;
  document.title = m.title;
  for (const el of document.querySelectorAll("[data-i18n]")) {
    const text = m[el.dataset.i18n];
    if (typeof text === "string") el.textContent = text;
  }
  for (const el of document.querySelectorAll("[data-i18n-aria]")) {
    const text = m[el.dataset.i18nAria];
    if (typeof text === "string") el.setAttribute("aria-label", text);
  }
  for (const button of $("window-buttons").querySelectorAll("button")) {
    button.textContent = m.minutes(Number(button.dataset.minutes));
  }
  for (const code of SUPPORTED_LANGUAGES) {
    const link = $(`lang-${code}`);
    if (!link) continue;
    const linkParams = new URLSearchParams(location.search);
    linkParams.set("lang", code);
    link.href = `?${linkParams}`;
    link.setAttribute("aria-current", String(code === lang));
  }
}

// ---------------------------------------------------------------- chart

/**
 * A line chart of the shown sensors over the chosen window. `compact`: the contrast lane's
 * smaller chart, with smaller type and neither axis title nor event markers (the main chart
 * right above carries them, on the same time range).
 */
function createChart(canvas, { compact = false } = {}) {
  const fontSize = compact ? 14 : 16;
  return new window.Chart(canvas, {
    type: "line",
    data: { datasets: [] },
    options: {
      animation: false,
      // Tick and tooltip numbers written as the tiles write them ("22,5" on a French page).
      locale: lang,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      spanGaps: GAP_MS,
      interaction: { mode: "nearest", axis: "x", intersect: false },
      elements: { point: { radius: 0, hoverRadius: 5 }, line: { borderWidth: 3, tension: 0 } },
      scales: {
        x: {
          type: "linear",
          min: now() - state.windowMin * 60000,
          max: now(),
          // Ticks on round clock times (every 10 s, 1 min or 2 min), not on the window's edges.
          afterBuildTicks: (scale) => {
            scale.ticks = roundClockTicks(scale.min, scale.max, TICK_STEP_MS[state.windowMin]);
          },
          ticks: { callback: (value) => formatClock(value), maxRotation: 0, autoSkip: false, font: { size: fontSize } },
          grid: { color: "#e2e8f0" },
        },
        y: {
          grace: "10%",
          ticks: { font: { size: fontSize } },
          title: { display: !compact, text: m.valueAxis, font: { size: fontSize } },
          grid: { color: "#e2e8f0" },
        },
      },
      plugins: {
        legend: { display: false, labels: { font: { size: 18, weight: "600" }, boxWidth: 28 } },
        tooltip: {
          callbacks: {
            title: (items) => (items.length ? formatClock(items[0].parsed.x) : ""),
          },
        },
        eventMarkers: compact ? false : { events: [] },
      },
    },
  });
}

function showChartMessage(text, kind) {
  const box = $("chart-message");
  box.textContent = text;
  box.dataset.kind = kind || "info";
  box.hidden = !text;
}

/** The sensors the chart shows for the current selection. */
function idsToShow() {
  if (state.selection !== "all") return [state.selection];
  return activeSensors(state.sensors, ACTIVE_HORIZON_MS, MAX_OVERLAID).map((s) => s.sensor_id);
}

/** Colours follow the order of the live sensors, so the overlaid curves never share one. */
function colourOf(sensorId) {
  let index = activeSensors(state.sensors, ACTIVE_HORIZON_MS, MAX_OVERLAID).findIndex((s) => s.sensor_id === sensorId);
  if (index === -1) index = state.sensors.map((s) => s.sensor_id).sort().indexOf(sensorId);
  return colourFor(Math.max(0, index));
}

/** Rebuilds the lanes' series and datasets when the set of shown sensors changed; keeps loaded points. */
function syncDatasets() {
  const ids = idsToShow();
  if (ids.join("\n") === state.shownIds.join("\n")) return;
  state.shownIds = ids;
  for (const lane of lanes) {
    for (const id of ids) {
      if (!lane.series.has(id)) lane.series.set(id, newSeries());
    }
    for (const id of [...lane.series.keys()]) {
      if (!ids.includes(id)) lane.series.delete(id);
    }
    fillDatasets(lane);
  }
  // The contrast chart has no legend: its list of sensors says each one's state instead.
  if (mainLane.chart) mainLane.chart.options.plugins.legend.display = ids.length > 1;
}

/** One dataset per shown sensor, on its lane's own points, in the sensor's colour. */
function fillDatasets(lane) {
  if (!lane.chart) return;
  lane.chart.data.datasets = state.shownIds.map((id) => ({
    label: id,
    data: lane.series.get(id).points,
    borderColor: colourOf(id),
    backgroundColor: colourOf(id),
  }));
}

function render() {
  const t = now();
  const minX = t - state.windowMin * 60000;
  for (const lane of lanes) {
    for (const series of lane.series.values()) trimBefore(series.points, minX);
    if (!lane.chart || !lane.on) continue;
    lane.chart.options.scales.x.min = minX;
    lane.chart.options.scales.x.max = t;
  }
  const chart = mainLane.chart;
  if (chart) {
    chart.options.plugins.eventMarkers.events = state.steps
      .map((ev) => ({ x: parseTimestamp(ev.at), label: eventLabel(lang, ev), event: ev }))
      .filter((mk) => Number.isFinite(mk.x));
    chart.update("none");
    let pointCount = 0;
    for (const series of mainLane.series.values()) pointCount += series.points.length;
    if (pointCount === 0 && connectivity.state() !== "down") showChartMessage(m.noData);
    else if (pointCount > 0) showChartMessage("");
  }
  if (contrastLane.on) contrastLane.chart?.update("none");
  renderStatus();
  renderTiles();
  renderContrast();
  renderCluster();
}

// ---------------------------------------------------------------- controls

function fillSensorSelect() {
  const select = $("sensor-select");
  const ids = state.sensors.map((s) => s.sensor_id).sort();
  if (state.selection !== "all" && !ids.includes(state.selection)) ids.unshift(state.selection);
  const wanted = ["all", ...ids];
  const current = [...select.options].map((o) => o.value);
  if (wanted.join("\n") !== current.join("\n")) {
    select.replaceChildren(
      ...wanted.map((id) => {
        const option = document.createElement("option");
        option.value = id;
        option.textContent = id === "all" ? m.allSensors : id;
        return option;
      }),
    );
  }
  select.value = state.selection;
}

function rememberInUrl() {
  const next = new URLSearchParams(location.search);
  next.set("sensor", state.selection);
  next.set("window", String(state.windowMin));
  history.replaceState(null, "", `?${next}`);
  applyStaticTexts();
}

/** A new selection or window: forget the loaded curves and fetch them again. */
function restartCurves() {
  state.generation += 1;
  for (const lane of lanes) lane.series.clear();
  state.shownIds = [];
  syncDatasets();
  rememberInUrl();
  render();
  pollCurves(mainLane);
}

function selectSensor(id) {
  if (id === state.selection) return;
  state.selection = id;
  fillSensorSelect();
  restartCurves();
}

function wireControls() {
  $("sensor-select").addEventListener("change", (e) => selectSensor(e.target.value));
  for (const button of $("window-buttons").querySelectorAll("button")) {
    button.addEventListener("click", () => {
      const minutes = Number(button.dataset.minutes);
      if (minutes === state.windowMin) return;
      state.windowMin = minutes;
      markWindowButtons();
      restartCurves();
    });
  }
  markWindowButtons();
}

function markWindowButtons() {
  for (const button of $("window-buttons").querySelectorAll("button")) {
    button.setAttribute("aria-pressed", String(Number(button.dataset.minutes) === state.windowMin));
  }
}

// ---------------------------------------------------------------- tiles

function renderTiles() {
  const box = $("sensor-tiles");
  // "All": one tile per curve. One sensor: its tile first, then a single row of others
  // to switch to, so the tiles never squeeze the chart.
  let shown = activeSensors(state.sensors, ACTIVE_HORIZON_MS, MAX_OVERLAID);
  if (state.selection !== "all") {
    const selected = state.sensors.find((s) => s.sensor_id === state.selection);
    const others = shown.filter((s) => s.sensor_id !== state.selection);
    shown = [...(selected ? [{ ...selected, lastMs: parseTimestamp(selected.last_timestamp) }] : []), ...others];
    shown = shown.slice(0, TILES_FOR_ONE_SENSOR);
  }
  const t = now();
  const ids = shown.map((s) => s.sensor_id).join("\n");
  if (box.dataset.ids !== ids) {
    box.dataset.ids = ids;
    box.replaceChildren(
      ...shown.map((s) => {
        const tile = document.createElement("button");
        tile.type = "button";
        tile.className = "tile";
        tile.dataset.sensor = s.sensor_id;
        tile.style.setProperty("--tile-colour", colourOf(s.sensor_id));
        tile.innerHTML = '<div class="tile-name"></div><div class="tile-value"></div><div class="tile-age"></div>';
        tile.querySelector(".tile-name").textContent = s.sensor_id;
        tile.addEventListener("click", () => selectSensor(s.sensor_id));
        return tile;
      }),
    );
  }
  for (const s of shown) {
    const tile = box.querySelector(`[data-sensor="${CSS.escape(s.sensor_id)}"]`);
    if (!tile) continue;
    tile.setAttribute("aria-pressed", String(state.selection === s.sensor_id));
    const value = Number(s.last_value);
    tile.querySelector(".tile-value").textContent = Number.isFinite(value) ? numberFormat.format(value) : "—";
    const age = secondsAgo(s.lastMs, t);
    const ageBox = tile.querySelector(".tile-age");
    ageBox.textContent = age === null ? m.updatedNever : m.updatedAgo(age);
    ageBox.dataset.age = age === null || age > 30 ? "old" : age > 5 ? "stale" : "fresh";
  }
}

// ---------------------------------------------------------------- contrast lane

/**
 * Shows or hides the counter-example. Turned on (again), its curves start over from the
 * window's start; its chart is made once its panel is visible, so that it gets a size.
 */
function setContrastLane(on) {
  contrastLane.on = on;
  const panel = $("contrast-panel");
  panel.hidden = !on;
  panel.dataset.lane = on ? "on" : "off";
  if (!on) return;
  for (const id of state.shownIds) contrastLane.series.set(id, newSeries());
  if (!contrastLane.chart && window.Chart) contrastLane.chart = createChart($("contrast-chart"), { compact: true });
  fillDatasets(contrastLane);
  render();
}

/** One entry per shown sensor: its colour, its id, and whether its single copy still answers. */
function renderContrast() {
  if (!contrastLane.on) return;
  const list = $("contrast-sensors");
  const ids = state.shownIds.join("\n");
  if (list.dataset.ids !== ids) {
    list.dataset.ids = ids;
    list.replaceChildren(
      ...state.shownIds.map((id) => {
        const entry = document.createElement("li");
        entry.dataset.rf1Sensor = id;
        entry.style.setProperty("--tile-colour", colourOf(id));
        entry.innerHTML = '<span class="rf1-name"></span><span class="rf1-state"></span>';
        entry.querySelector(".rf1-name").textContent = id;
        return entry;
      }),
    );
  }
  const t = now();
  for (const id of state.shownIds) {
    const entry = list.querySelector(`[data-rf1-sensor="${CSS.escape(id)}"]`);
    const series = contrastLane.series.get(id);
    if (!entry || !series) continue;
    const sensorState = contrastSensorState({
      lastMs: series.points.at(-1)?.x,
      failing: series.failing,
      replicatedLastMs: mainLane.series.get(id)?.points.at(-1)?.x,
      nowMs: t,
    });
    entry.dataset.rf1State = sensorState;
    entry.dataset.points = String(series.points.length);
    entry.querySelector(".rf1-state").textContent = m.contrastStates[sensorState];
  }
}

// ---------------------------------------------------------------- cluster

function renderCluster() {
  const box = $("cluster-cards");
  const nodes = state.cluster?.nodes || [];
  const apiDown = connectivity.state() === "down";
  perNode(box, nodes.map((n) => n.name), {
    tag: "div",
    className: "node",
    html:
      '<div class="node-name"></div><div class="node-state"></div><div class="node-detail"></div>' +
      '<div class="node-holds"></div><div class="node-keeps"></div><div class="node-sees"></div>',
    nameClass: "node-name",
  });
  for (const n of nodes) {
    const card = box.querySelector(`:scope > .node[data-node="${CSS.escape(n.name)}"]`);
    if (!card) continue;
    // With the API unreachable we no longer know: never leave a stale "UP" on screen.
    const nodeState = apiDown ? "unknown" : n.up ? "up" : "down";
    card.dataset.state = nodeState;
    card.querySelector(".node-state").textContent = m[nodeState];
    const latency = Number(n.latency_ms);
    card.querySelector(".node-detail").textContent =
      nodeState === "unknown"
        ? m.notKnown
        : `${n.address} · ${n.up && Number.isFinite(latency) ? m.responds(Math.round(latency)) : m.noAnswer}`;
    renderReplica(card, apiDown ? null : n);
  }
  renderReplicationPicture(
    $("replication-picture"),
    replicationPlan(state.cluster, !apiDown),
    newestReading(state.sensors),
    m,
    (value) => numberFormat.format(value),
  );
  const note = $("cluster-note");
  const checkedAge = secondsAgo(parseTimestamp(state.cluster?.checked_at), now());
  const stale = !apiDown && checkedAge !== null && checkedAge > 5;
  note.hidden = !stale;
  if (stale) note.textContent = m.clusterStale(checkedAge);
}

/**
 * What a PC's own replica holds, what it keeps aside for the PCs it no longer hears,
 * and how it sees the ring (nodetool status as seen from that PC). `n` null: unknown.
 */
function renderReplica(card, n) {
  const readings = Number.isFinite(n?.readings) ? n.readings : null;
  const holds = card.querySelector(".node-holds");
  holds.dataset.readings = readings === null ? "" : String(readings);
  holds.textContent = readings === null ? "" : m.holds(countFormat.format(readings));

  const sees = Object.entries(n?.sees || {});
  const files = new Map((n?.hints || []).map((h) => [h.node, h]));
  const keeps = sees
    .filter(([name, view]) => name !== n.name && (!view.up || files.has(name)))
    .map(([name]) => {
      const h = files.get(name);
      return h ? m.keepsFiles(h.files, name, (h.oldest ? formatClock(parseTimestamp(h.oldest)) : "?")) : m.keepsAside(name);
    });
  const keepsBox = card.querySelector(".node-keeps");
  keepsBox.textContent = keeps.join(" · ");
  keepsBox.hidden = keeps.length === 0;

  const seesBox = card.querySelector(".node-sees");
  seesBox.hidden = sees.length === 0;
  seesBox.replaceChildren(
    Object.assign(document.createElement("span"), { className: "sees-label", textContent: m.sees }),
    ...sees.map(([name, view]) => {
      const chip = document.createElement("span");
      chip.className = "seen";
      chip.dataset.seen = name;
      chip.dataset.up = String(view.up);
      chip.textContent = `${name} ${ringCode(view)}`;
      return chip;
    }),
  );
}

// ---------------------------------------------------------------- events & banner

function renderEvents() {
  const list = $("event-list");
  if (state.steps.length === 0) {
    const empty = document.createElement("li");
    empty.className = "empty";
    empty.textContent = m.noEvents;
    list.replaceChildren(empty);
  } else {
    list.replaceChildren(
      ...state.steps.slice(0, 30).map((ev) => {
        const li = document.createElement("li");
        li.dataset.tone = eventTone(ev);
        const label = eventLabel(lang, ev);
        li.dataset.label = label;
        li.innerHTML = '<span class="ev-time"></span><span class="ev-label"></span><span class="ev-status"></span>';
        const at = parseTimestamp(ev.at);
        li.querySelector(".ev-time").textContent = Number.isFinite(at) ? formatClock(at) : "";
        li.querySelector(".ev-label").textContent = label;
        const status = ev.status ? m.status[String(ev.status).toLowerCase()] || ev.status : "";
        li.querySelector(".ev-status").textContent = [ev.step ? m.bannerStep(ev.step) : "", status].filter(Boolean).join(" · ");
        return li;
      }),
    );
  }
  const latest = state.events[0];
  const banner = $("banner");
  if (!latest) {
    banner.dataset.tone = "info";
    $("banner-step").textContent = "";
    $("banner-text").textContent = m.bannerIdle;
  } else {
    banner.dataset.tone = eventTone(latest);
    const at = parseTimestamp(latest.at);
    $("banner-step").textContent = [Number.isFinite(at) ? formatClock(at) : "", latest.step ? m.bannerStep(latest.step) : ""]
      .filter(Boolean)
      .join(" — ");
    $("banner-text").textContent = eventNarration(lang, latest);
  }
}

// ---------------------------------------------------------------- API status

function renderStatus() {
  const apiState = connectivity.state();
  const pill = $("api-status");
  pill.dataset.state = apiState;
  const pillTexts = {
    down: m.apiDown,
    degraded: m.apiDegraded,
    slow: m.apiSlow(connectivity.lastLatencyMs),
    ok: m.apiOk,
  };
  pill.textContent = pillTexts[apiState] || "…";
  const alert = $("api-alert");
  let text = "";
  if (apiState === "down") text = m.apiDownLong(secondsAgo(connectivity.failingSince, Date.now()));
  else if (apiState === "degraded") text = m.dbDegraded;
  else if (apiState === "slow") text = m.apiSlowLong(connectivity.lastLatencyMs);
  alert.hidden = !text;
  alert.dataset.state = apiState;
  alert.textContent = text;
  const readNote = $("read-note");
  const readOne = apiState !== "down" && String(connectivity.readConsistency || "").toUpperCase() === "ONE";
  readNote.hidden = !readOne;
  readNote.textContent = readOne ? m.readOne : "";
}

// ---------------------------------------------------------------- polling

async function pollSensors() {
  const { data } = await getJson("/sensors", connectivity);
  if (!Array.isArray(data)) return;
  state.sensors = data.filter((s) => typeof s?.sensor_id === "string" && s.sensor_id.startsWith(sensorPrefix));
  fillSensorSelect();
  syncDatasets();
}

/**
 * Fetches what is new of each shown sensor's curve in `lane`, and waits for every answer
 * (a failed one included) before the loop asks again.
 */
async function pollCurves(lane) {
  const generation = state.generation;
  const windowStart = now() - state.windowMin * 60000;
  await Promise.allSettled(
    state.shownIds.map(async (id) => {
      const series = lane.series.get(id);
      if (!series) return;
      const last = series.points[series.points.length - 1];
      const since = new Date(last && series.loaded ? last.x - RECHECK_MS : windowStart).toISOString();
      // An explicit `until` ahead of now: readings stamped by a PC whose clock runs a little
      // ahead of the API's must still come back (the API refuses since > its default until).
      const until = new Date(Math.max(Date.parse(since), Date.now()) + UNTIL_MARGIN_MS).toISOString();
      const query = `since=${encodeURIComponent(since)}&until=${encodeURIComponent(until)}&limit=${HISTORY_LIMIT}`;
      const path = `${lane.pathPrefix}/sensors/${encodeURIComponent(id)}/history?${query}`;
      let answer;
      try {
        answer = await getJson(path, lane.connectivity);
      } catch (err) {
        // The API answered that it cannot read this curve (in the contrast lane: the PC
        // holding its only copy is down). Unreachable (status 0) tells nothing of the curve.
        if (err.status >= 500 && lane.series.get(id) === series) series.failing = true;
        return;
      }
      // An answer to a request made before the selection changed belongs to another curve.
      if (generation !== state.generation || lane.series.get(id) !== series) return;
      series.failing = false;
      mergeReadings(series.points, Array.isArray(answer.data) ? answer.data : []);
      series.loaded = true;
    }),
  );
  if (generation === state.generation) render();
}

/**
 * The lane is on unless `/rf1/sensors` answers 404 (the API runs without it); a 503 (its
 * data unreadable for now) still means on. An unreachable API changes nothing.
 */
async function checkContrastLane() {
  let on;
  try {
    await getJson("/rf1/sensors", contrastLane.connectivity);
    on = true;
  } catch (err) {
    if (!(err.status > 0)) return;
    on = err.status !== 404;
  }
  if (on !== contrastLane.on) setContrastLane(on);
}

async function pollCluster() {
  const { data } = await getJson("/cluster", connectivity);
  if (!data || !Array.isArray(data.nodes)) return;
  state.cluster = data;
  const serverMs = parseTimestamp(data.checked_at);
  if (Number.isFinite(serverMs)) {
    // checked_at is normally under a second old; the median of recent samples ignores a
    // probe round that ran late, and only a clearly wrong viewer clock is corrected.
    skewSamples.push(serverMs - Date.now());
    if (skewSamples.length > SKEW_SAMPLES) skewSamples.shift();
    const skew = median(skewSamples);
    state.clockOffsetMs = Math.abs(skew) > SKEW_THRESHOLD_MS ? skew : 0;
  }
  renderCluster();
}

async function pollEvents() {
  const { data } = await getJson("/events?limit=50", connectivity);
  if (!Array.isArray(data)) return;
  const fingerprint = JSON.stringify(data);
  if (fingerprint === state.eventsFingerprint) return;
  state.eventsFingerprint = fingerprint;
  state.events = data;
  state.steps = collapseSteps(data);
  renderEvents();
}

/** /health answers 503 when the API cannot reach Cassandra; getJson records that for the status. */
async function pollHealth() {
  await getJson("/health", connectivity);
}

/** Runs `task` forever, `periodMs` apart, never two at once; failures are shown by renderStatus. */
function everyPeriod(task, periodMs) {
  const run = async () => {
    const started = Date.now();
    try {
      await task();
    } catch {
      // Connectivity already recorded it; the status banner tells the audience.
    }
    setTimeout(run, Math.max(100, periodMs - (Date.now() - started)));
  };
  run();
}

// ---------------------------------------------------------------- start

applyStaticTexts();
renderEvents();
wireControls();
fillSensorSelect();
if (window.Chart) {
  window.Chart.register(eventMarkersPlugin);
  mainLane.chart = createChart($("chart"));
} else {
  showChartMessage(m.chartMissing, "error");
}
syncDatasets();
everyPeriod(pollSensors, 1000);
everyPeriod(() => pollCurves(mainLane), 1000);
everyPeriod(() => (contrastLane.on ? pollCurves(contrastLane) : null), 1000);
everyPeriod(checkContrastLane, CONTRAST_CHECK_MS);
everyPeriod(pollCluster, 1000);
everyPeriod(pollEvents, 2000);
everyPeriod(pollHealth, 3000);
setInterval(render, 500);

// For the browser tests and for curious presenters in the devtools console.
window.dashboard = {
  get chart() {
    return mainLane.chart;
  },
  get contrastChart() {
    return contrastLane.chart;
  },
  state,
  connectivity,
};
