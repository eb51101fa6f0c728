// Why: the cards say what each PC holds, but people who are not database experts also
// need to *see* replication: one new reading landing on the three PCs, and on two while
// one is down, its third copy kept aside as a hint on a live PC. This small picture
// shows it, once per new reading the page receives. What it claims comes from
// `GET /cluster` through `replicationPlan`, a pure function node's test runner checks;
// the rest of this module only draws that plan.

import { parseTimestamp } from "./series.js";
import { perNode } from "./dom.js";

/**
 * Live PCs a write needs: ingest writes at QUORUM (its `--write-consistency` default),
 * a majority of the replicas, and every PC is a replica (RF=3 on 3 PCs). Below it
 * Cassandra refuses the write before storing anything, and ingest leaves the reading
 * uncommitted in Kafka and retries until enough PCs answer again.
 */
export function writeQuorum(replicas) {
  return Math.floor(replicas / 2) + 1;
}

/**
 * Where one new reading goes, as `/cluster` tells it.
 *
 * - "written": every live PC gets a copy (numbered in the order of /cluster), and each
 *   PC that is down gets a hint kept by a live PC. The coordinator of a write keeps its
 *   hint, and every live PC coordinates some of the writes: the picture names the first
 *   live PC, so that the hint does not hop from one PC to another.
 * - "waiting": too few PCs for a quorum: nothing is stored, the reading waits in Kafka.
 * - "unknown": the API does not answer, has not answered yet, or gives a PC no state:
 *   no claim at all.
 *
 * @param {{nodes?: {name: string, up: boolean}[]}|null} cluster the last /cluster body
 * @param {boolean} apiReachable false while the API does not answer
 * @returns {{state: "written"|"waiting"|"unknown", copies: number|null,
 *   targets: {node: string, copy: "yes"|"no"|"unknown", copyNumber: number|null, up: boolean|null}[],
 *   hints: {for: string, keptBy: string}[], caption: {key: string, args: unknown[]}}}
 */
export function replicationPlan(cluster, apiReachable) {
  const nodes = Array.isArray(cluster?.nodes) ? cluster.nodes : [];
  const known = apiReachable && nodes.length > 0 && nodes.every((n) => typeof n?.up === "boolean");
  if (!known) {
    return {
      state: "unknown",
      copies: null,
      targets: nodes.map((n) => ({ node: String(n?.name), copy: "unknown", copyNumber: null, up: null })),
      hints: [],
      caption: { key: "unknown", args: [] },
    };
  }
  const live = nodes.filter((n) => n.up).map((n) => n.name);
  const needed = writeQuorum(nodes.length);
  if (live.length < needed) {
    return {
      state: "waiting",
      copies: 0,
      targets: nodes.map((n) => ({ node: n.name, copy: "no", copyNumber: null, up: n.up })),
      hints: [],
      caption: { key: "waiting", args: [live.length, needed] },
    };
  }
  const targets = nodes.map((n) => ({
    node: n.name,
    copy: n.up ? "yes" : "no",
    copyNumber: n.up ? live.indexOf(n.name) + 1 : null,
    up: n.up,
  }));
  const hints = nodes.filter((n) => !n.up).map((n) => ({ for: n.name, keptBy: live[0] }));
  const caption = hints.length
    ? { key: "writtenWithHints", args: [live.length, live[0], hints.map((h) => h.for)] }
    : { key: "written", args: [live.length] };
  return { state: "written", copies: live.length, targets, hints, caption };
}

/**
 * The newest reading among `/sensors` entries ({sensor_id, last_timestamp, last_value}),
 * as {sensor_id, timestamp, value, key}, or null. `key` changes with each new reading:
 * the picture replays its landing when it does.
 */
export function newestReading(sensors) {
  let newest = null;
  let newestMs = -Infinity;
  for (const s of sensors || []) {
    const ms = parseTimestamp(s?.last_timestamp);
    if (!Number.isFinite(ms) || ms <= newestMs) continue;
    newestMs = ms;
    newest = { sensor_id: s.sensor_id, timestamp: s.last_timestamp, value: s.last_value, key: `${s.sensor_id} ${s.last_timestamp}` };
  }
  return newest;
}

/**
 * Draws `plan` into `root` (the #replication-picture element). The rows are built once
 * per set of PCs and their hints only when the hints change, so the DOM never grows and
 * nothing blinks between polls; a new `reading` replays the landing animation.
 * @param {HTMLElement} root
 * @param {ReturnType<typeof replicationPlan>} plan
 * @param {ReturnType<typeof newestReading>} reading
 * @param {object} m the page's messages (messagesFor)
 * @param {(value: number) => string} formatValue
 */
export function renderReplicationPicture(root, plan, reading, m, formatValue) {
  const words = m.picture;
  root.dataset.state = plan.state;
  root.dataset.copies = plan.copies === null ? "" : String(plan.copies);

  // The source: the newest reading received while writes are taken; otherwise no claim on which.
  const shown = plan.state === "written" ? reading : null;
  const value = Number(shown?.value);
  root.querySelector(".rp-source-name").textContent = words.source;
  root.querySelector(".rp-what").textContent = shown ? words.latestReading : words.aReading;
  root.querySelector(".rp-sensor").textContent = shown ? shown.sensor_id : "";
  root.querySelector(".rp-value").textContent = shown && Number.isFinite(value) ? formatValue(value) : "";

  const rows = root.querySelector(".rp-rows");
  perNode(rows, plan.targets.map((t) => t.node), {
    tag: "li",
    className: "rp-pc",
    html:
      '<span class="rp-wire"></span><span class="rp-plate"><span class="rp-dot"></span>' +
      '<span class="rp-name"></span><span class="rp-copy"></span><span class="rp-hints"></span></span>',
    nameClass: "rp-name",
  });
  for (const t of plan.targets) {
    const row = rows.querySelector(`:scope > .rp-pc[data-node="${CSS.escape(t.node)}"]`);
    if (!row) continue;
    row.dataset.copy = t.copy;
    row.dataset.state = t.up === null ? "unknown" : t.up ? "up" : "down";
    // The copy's number; else why there is none: the PC is down, or up with too few others; else "?".
    row.querySelector(".rp-copy").textContent =
      t.copy === "yes" ? words.copy(t.copyNumber) : t.up === false ? m.down : t.up ? words.noCopy : m.unknown;
    renderHints(row.querySelector(".rp-hints"), plan.hints.filter((h) => h.keptBy === t.node), words);
  }

  root.querySelector(".rp-caption").textContent = words[plan.caption.key](...plan.caption.args);

  const key = shown ? shown.key : "";
  if (root.dataset.reading !== key) {
    root.dataset.reading = key;
    if (shown) replayLanding(root);
  }
}

/** The hints a PC keeps, as dashed envelopes "for PC3"; rebuilt only when they change. */
function renderHints(box, hints, words) {
  const wanted = hints.map((h) => h.for).join("\n");
  if (box.dataset.for === wanted) return;
  box.dataset.for = wanted;
  box.replaceChildren(
    ...hints.map((h) => {
      const hint = document.createElement("span");
      hint.className = "rp-hint";
      hint.dataset.hintFor = h.for;
      hint.dataset.keptBy = h.keptBy;
      hint.textContent = words.hintFor(h.for);
      return hint;
    }),
  );
}

/** Restarts the CSS landing animation: the class comes off, a style flush, and back on. */
function replayLanding(root) {
  root.classList.remove("landing");
  void root.offsetWidth; // without this flush the browser would see no change and not restart it
  root.classList.add("landing");
}
