// Why: the audience must see *when* a PC was switched off and that the curve goes on past
// that moment. This tiny Chart.js plugin draws each scenario event as a vertical line with
// its label; it is a dozen lines of canvas drawing, lighter than an annotation plugin.

import { eventTone } from "./series.js";

const TONE_COLOURS = { fault: "#dc2626", recovery: "#16a34a", info: "#4f46e5" };

/**
 * The plugin reads `chart.options.plugins.eventMarkers.events`: [{x (ms), label, event}].
 * Markers outside the x range are skipped; labels are stacked on up to four rows so
 * events close in time stay readable.
 */
export const eventMarkersPlugin = {
  id: "eventMarkers",
  afterDatasetsDraw(chart, _args, options) {
    const markers = options?.events || [];
    const x = chart.scales.x;
    const area = chart.chartArea;
    // What was last drawn, for the browser tests (and devtools): [{label, px}].
    chart.$eventMarkersDrawn = [];
    if (!x || !area || markers.length === 0) return;
    const ctx = chart.ctx;
    const font = "700 18px system-ui, sans-serif";
    const smallFont = "600 15px system-ui, sans-serif";
    const rowHeight = 28;
    const rowsRightEdge = [-Infinity, -Infinity, -Infinity, -Infinity];
    const visible = markers
      .filter((m) => m.x >= x.min && m.x <= x.max)
      .sort((a, b) => a.x - b.x);
    ctx.save();
    for (const marker of visible) {
      const px = Math.round(x.getPixelForValue(marker.x)) + 0.5;
      const tone = eventTone(marker.event);
      const colour = TONE_COLOURS[tone] || TONE_COLOURS.info;
      // Faults and recoveries are the story; other steps are drawn quieter.
      const loud = tone !== "info";
      ctx.font = loud ? font : smallFont;
      ctx.strokeStyle = colour;
      ctx.lineWidth = loud ? 3 : 2;
      ctx.setLineDash([10, 6]);
      ctx.beginPath();
      ctx.moveTo(px, area.top);
      ctx.lineTo(px, area.bottom);
      ctx.stroke();
      ctx.setLineDash([]);

      const text = String(marker.label || "");
      const width = ctx.measureText(text).width + 14;
      // Put the label on the right of its line unless that runs out of the chart.
      const left = px + width + 6 > area.right ? px - width - 6 : px + 6;
      let row = rowsRightEdge.findIndex((edge) => left > edge + 4);
      if (row === -1) row = rowsRightEdge.indexOf(Math.min(...rowsRightEdge));
      rowsRightEdge[row] = left + width;
      const top = area.top + 6 + row * rowHeight;
      ctx.fillStyle = colour;
      ctx.globalAlpha = loud ? 0.95 : 0.8;
      ctx.fillRect(left, top, width, rowHeight - 4);
      ctx.globalAlpha = 1;
      ctx.fillStyle = "#ffffff";
      ctx.textBaseline = "middle";
      ctx.fillText(text, left + 7, top + (rowHeight - 4) / 2);
      chart.$eventMarkersDrawn.push({ label: text, px });
    }
    ctx.restore();
  },
};
