// Why: the pure logic behind the live chart and tiles (parsing API times, merging only
// new points, trimming to the window, picking the sensors worth overlaying, telling a
// stopped curve of the contrast lane, folding events into steps), kept free of the DOM
// and Chart.js so node's test runner checks it directly.

/** Milliseconds since the epoch of an RFC 3339 time from the API, or NaN. */
export function parseTimestamp(text) {
  if (typeof text !== "string") return NaN;
  // The data contract also allows the zone-less form, read as UTC.
  const withZone = /[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`;
  return Date.parse(withZone);
}

/** Whole seconds from `thenMs` to `nowMs`, never negative (clocks of two PCs may differ a little). */
export function secondsAgo(thenMs, nowMs) {
  if (!Number.isFinite(thenMs)) return null;
  return Math.max(0, Math.floor((nowMs - thenMs) / 1000));
}

/** "14:03:07" in the viewer's local time. */
export function formatClock(ms) {
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * Merges into `points` (sorted {x, y}) the readings of `history` ([{timestamp, value}])
 * that it does not hold yet: newer ones are appended, and a late one (written by ingest
 * after a newer reading of the same sensor was already drawn) is inserted in order.
 * Polls ask again for a few seconds before the last point, so such late readings are
 * caught; the ones already drawn are recognised by their time. Returns how many were added.
 */
export function mergeReadings(points, history) {
  let added = 0;
  for (const reading of history || []) {
    const x = parseTimestamp(reading.timestamp);
    const y = Number(reading.value);
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    if (points.length === 0 || x > points[points.length - 1].x) {
      points.push({ x, y });
      added += 1;
      continue;
    }
    let lo = 0;
    let hi = points.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (points[mid].x < x) lo = mid + 1;
      else hi = mid;
    }
    if (points[lo].x === x) continue;
    points.splice(lo, 0, { x, y });
    added += 1;
  }
  return added;
}

/**
 * Drops points older than `minX`, keeping the last one before it so the line still
 * enters the chart from its left edge. Mutates `points`; returns how many were removed.
 */
export function trimBefore(points, minX) {
  let firstInside = 0;
  while (firstInside < points.length && points[firstInside].x < minX) firstInside += 1;
  const removable = Math.max(0, firstInside - 1);
  if (removable > 0) points.splice(0, removable);
  return removable;
}

/**
 * Sensors worth showing in "all sensors" and in the tiles: those whose last reading is
 * within `horizonMs` of the newest one, sorted by id, at most `max`. Sensors left over
 * from earlier runs or tests would otherwise bury the live ones.
 */
export function activeSensors(sensors, horizonMs, max) {
  const withTime = (sensors || [])
    .map((s) => ({ ...s, lastMs: parseTimestamp(s.last_timestamp) }))
    .filter((s) => typeof s.sensor_id === "string");
  const newest = Math.max(-Infinity, ...withTime.map((s) => (Number.isFinite(s.lastMs) ? s.lastMs : -Infinity)));
  return withTime
    .filter((s) => Number.isFinite(s.lastMs) && s.lastMs >= newest - horizonMs)
    .sort((a, b) => a.sensor_id.localeCompare(b.sensor_id))
    .slice(0, max);
}

/** A curve of the contrast lane that stays this far behind its replicated twin is stopped. */
export const CONTRAST_STALL_MS = 5000;

/**
 * The state of one sensor's curve in the contrast lane (each reading kept on a single PC):
 * "stopped" when the API answered that it cannot read it (the PC holding its only copy is
 * down) or when its newest reading `lastMs` is more than `stallMs` old; "waiting" before
 * any reading of it is known; "live" otherwise.
 *
 * "Old" is measured against the same sensor's newest reading in the replicated lane
 * (`replicatedLastMs`) when that is earlier than `nowMs`: when the whole flow stalls
 * (producer stopped, API unreachable) both lanes stop together, and that is not the
 * single copy's fault, so the contrast must not blame a PC for it.
 *
 * @param {{lastMs?: number, failing?: boolean, replicatedLastMs?: number, nowMs: number, stallMs?: number}} curve
 * @returns {"live"|"stopped"|"waiting"}
 */
export function contrastSensorState({ lastMs, failing, replicatedLastMs, nowMs, stallMs = CONTRAST_STALL_MS }) {
  if (failing) return "stopped";
  if (!Number.isFinite(lastMs)) return "waiting";
  const reference = Number.isFinite(replicatedLastMs) ? Math.min(nowMs, replicatedLastMs) : nowMs;
  return reference - lastMs > stallMs ? "stopped" : "live";
}

const TONES = new Set(["fault", "recovery", "info"]);

/**
 * How an event should look: "fault" (a PC taken out, a failed step), "recovery" (a PC
 * back, caught up) or "info". The API sends each event's tone, derived from its kind
 * (and a failure) by the conductor's one list of step kinds; a failed status is a fault
 * even if the tone is missing, and anything else is quiet.
 */
export function eventTone(event) {
  if (String(event?.status || "").toLowerCase() === "failed") return "fault";
  const tone = String(event?.tone || "").toLowerCase();
  return TONES.has(tone) ? tone : "info";
}

/**
 * The conductor writes each step twice (when it starts, "running", then "ok" or
 * "failed"). This folds `events` (newest first, as /events gives them) into one entry
 * per step: the first event's time (when it happened) with the latest status and
 * narration. Events without run_id/step stay as they are. Newest first.
 */
export function collapseSteps(events) {
  const byStep = new Map();
  const out = [];
  for (const event of events || []) {
    const key = event?.run_id && event?.step ? `${event.run_id}\u0000${event.step}` : null;
    const existing = key ? byStep.get(key) : null;
    if (existing) {
      // Older event of the same step: it tells when the step started.
      existing.at = event.at;
      continue;
    }
    const entry = { ...event, latestAt: event.at };
    if (key) byStep.set(key, entry);
    out.push(entry);
  }
  return out.sort((a, b) => parseTimestamp(b.at) - parseTimestamp(a.at));
}

/** The median of `values` (NaN when empty). */
export function median(values) {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Tick values on multiples of `stepMs` between `min` and `max`, for a linear time axis in ms. */
export function roundClockTicks(min, max, stepMs) {
  const ticks = [];
  if (!(stepMs > 0) || !Number.isFinite(min) || !Number.isFinite(max)) return ticks;
  for (let t = Math.ceil(min / stepMs) * stepMs; t <= max; t += stepMs) ticks.push({ value: t });
  return ticks;
}

/** A stable colour per sensor, distinct enough on a projector. */
export const SENSOR_COLOURS = [
  "#2563eb", "#ea580c", "#16a34a", "#9333ea", "#db2777",
  "#0891b2", "#ca8a04", "#4f46e5", "#dc2626", "#0d9488",
];

export function colourFor(index) {
  return SENSOR_COLOURS[index % SENSOR_COLOURS.length];
}

/**
 * How `nodetool status` would print a node as another sees it: UN, DN, UJ...
 * @param {{up: boolean, status: string}} view one entry of /cluster's `sees`
 */
export function ringCode(view) {
  const state = { normal: "N", joining: "J", leaving: "L", moving: "M" }[view?.status] || "?";
  return `${view?.up ? "U" : "D"}${state}`;
}
