// Why: the audience must see *when* a PC was switched off and that the curve goes on past
// that moment. This tiny Chart.js plugin draws each scenario event as a vertical line with
// its label; it is a few dozen lines of canvas drawing, lighter than an annotation plugin.

import { eventTone } from "./series.js";

const TONE_COLOURS = { fault: "#dc2626", recovery: "#16a34a", info: "#4f46e5" };
const LOUD_FONT = "700 18px system-ui, sans-serif";
const QUIET_FONT = "600 15px system-ui, sans-serif";
const ROW_HEIGHT = 28;
const ROWS = 4;

/** Does [left, right] overlap a label already placed on `row`? */
function collides(row, left, right) {
  return row.some(([l, r]) => left < r + 6 && right > l - 6);
}

/**
 * The plugin reads `chart.options.plugins.eventMarkers.events`: [{x (ms), label, event}].
 * Markers outside the x range are skipped. Faults and recoveries (the story) are drawn
 * bold and always labelled, on the first of four rows where their label fits; other steps
 * get a thin line, and a label only where one still fits, so a busy scenario stays legible.
 */
export const eventMarkersPlugin = {
  id: "eventMarkers",
  afterDatasetsDraw(chart, _args, options) {
    const markers = options?.events || [];
    const x = chart.scales.x;
    const area = chart.chartArea;
    // What was last drawn, for the browser tests (and devtools): [{label, px, labelled}].
    chart.$eventMarkersDrawn = [];
    if (!x || !area || markers.length === 0) return;
    const ctx = chart.ctx;
    const visible = markers
      .filter((m) => m.x >= x.min && m.x <= x.max)
      .map((m) => ({ ...m, tone: eventTone(m.event), px: Math.round(x.getPixelForValue(m.x)) + 0.5 }))
      .map((m) => ({ ...m, loud: m.tone !== "info" }));
    // Quiet ones first so loud lines and labels end up on top.
    const ordered = [...visible.filter((m) => !m.loud), ...visible.filter((m) => m.loud)];
    const rows = Array.from({ length: ROWS }, () => []);
    // Loud labels claim their rows before quiet ones look for room.
    const placements = new Map();
    for (const m of [...visible.filter((v) => v.loud), ...visible.filter((v) => !v.loud)]) {
      ctx.font = m.loud ? LOUD_FONT : QUIET_FONT;
      const text = String(m.label || "");
      const width = ctx.measureText(text).width + 14;
      // On the right of its line unless that runs out of the chart.
      const left = m.px + width + 6 > area.right ? m.px - width - 6 : m.px + 6;
      let row = rows.findIndex((r) => !collides(r, left, left + width));
      if (row === -1 && m.loud) row = rows.reduce((best, r, i) => (r.length < rows[best].length ? i : best), 0);
      if (row === -1) continue;
      rows[row].push([left, left + width]);
      placements.set(m, { text, left, width, top: area.top + 6 + row * ROW_HEIGHT });
    }

    ctx.save();
    for (const m of ordered) {
      const colour = TONE_COLOURS[m.tone] || TONE_COLOURS.info;
      ctx.strokeStyle = colour;
      ctx.lineWidth = m.loud ? 3 : 1.5;
      ctx.globalAlpha = m.loud ? 1 : 0.7;
      ctx.setLineDash(m.loud ? [10, 6] : [4, 6]);
      ctx.beginPath();
      ctx.moveTo(m.px, area.top);
      ctx.lineTo(m.px, area.bottom);
      ctx.stroke();
      ctx.setLineDash([]);
      const place = placements.get(m);
      if (place) {
        ctx.font = m.loud ? LOUD_FONT : QUIET_FONT;
        ctx.fillStyle = colour;
        ctx.globalAlpha = m.loud ? 0.95 : 0.8;
        ctx.fillRect(place.left, place.top, place.width, ROW_HEIGHT - 4);
        ctx.globalAlpha = 1;
        ctx.fillStyle = "#ffffff";
        ctx.textBaseline = "middle";
        ctx.fillText(place.text, place.left + 7, place.top + (ROW_HEIGHT - 4) / 2);
      }
      ctx.globalAlpha = 1;
      chart.$eventMarkersDrawn.push({ label: String(m.label || ""), px: m.px, labelled: Boolean(place) });
    }
    ctx.restore();
  },
};
