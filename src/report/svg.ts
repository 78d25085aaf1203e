/** Tiny inline-SVG charts for the HTML report: no library, no network, text escaped. */

export const esc = (s: unknown): string =>
  String(s ?? '').replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948'];
const fmt = (n: number) =>
  Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toFixed(3);

/** Horizontal grouped bars: one row per label, one bar per series. */
export function barChart(
  title: string,
  series: string[],
  rows: { label: string; values: (number | null)[] }[],
): string {
  const rowH = 8 + series.length * 12;
  const left = 230;
  const width = 820;
  const h = 30 + rows.length * rowH + 24;
  const max = Math.max(1e-9, ...rows.flatMap((r) => r.values.map((v) => v ?? 0)));
  const scale = (v: number) => ((width - left - 80) * v) / max;
  const parts = [
    `<svg class="chart" role="img" aria-label="${esc(title)}" width="${width}" height="${h}" viewBox="0 0 ${width} ${h}">`,
  ];
  parts.push(`<text x="0" y="14" class="t">${esc(title)}</text>`);
  series.forEach((s, i) => {
    parts.push(
      `<rect x="${left + i * 140}" y="20" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/><text x="${left + i * 140 + 14}" y="29" class="l">${esc(s)}</text>`,
    );
  });
  rows.forEach((r, j) => {
    const y = 38 + j * rowH;
    parts.push(
      `<text x="${left - 6}" y="${y + rowH / 2}" text-anchor="end" class="l">${esc(r.label)}</text>`,
    );
    r.values.forEach((v, i) => {
      if (v === null) return;
      const by = y + 2 + i * 12;
      parts.push(
        `<rect class="bar" x="${left}" y="${by}" width="${Math.max(1, scale(v)).toFixed(1)}" height="10" fill="${COLORS[i % COLORS.length]}"><title>${esc(`${r.label} ${series[i]}: ${fmt(v)}`)}</title></rect>`,
      );
      parts.push(`<text x="${left + scale(v) + 4}" y="${by + 9}" class="v">${fmt(v)}</text>`);
    });
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Lines over time with vertical markers (cutover, rollback). */
export function lineChart(
  title: string,
  series: { name: string; points: { t: number; v: number }[] }[],
  markers: { t: number; label: string }[] = [],
): string {
  const width = 820;
  const height = 220;
  const pad = { l: 50, r: 20, t: 36, b: 30 };
  const all = series.flatMap((s) => s.points);
  const ts = [...all.map((p) => p.t), ...markers.map((m) => m.t)];
  const t0 = Math.min(...ts);
  const t1 = Math.max(t0 + 1000, ...ts);
  const vmax = Math.max(1, ...all.map((p) => p.v));
  const x = (t: number) => pad.l + ((width - pad.l - pad.r) * (t - t0)) / (t1 - t0);
  const y = (v: number) => height - pad.b - ((height - pad.t - pad.b) * v) / vmax;
  const parts = [
    `<svg class="chart" role="img" aria-label="${esc(title)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
  ];
  parts.push(`<text x="0" y="14" class="t">${esc(title)}</text>`);
  parts.push(
    `<line x1="${pad.l}" y1="${height - pad.b}" x2="${width - pad.r}" y2="${height - pad.b}" class="axis"/>`,
  );
  parts.push(
    `<text x="${pad.l - 4}" y="${pad.t + 4}" text-anchor="end" class="v">${fmt(vmax)}</text><text x="${pad.l - 4}" y="${height - pad.b}" text-anchor="end" class="v">0</text>`,
  );
  parts.push(
    `<text x="${pad.l}" y="${height - 8}" class="v">${esc(new Date(t0).toISOString().slice(11, 19))}</text><text x="${width - pad.r}" y="${height - 8}" text-anchor="end" class="v">${esc(new Date(t1).toISOString().slice(11, 19))} UTC</text>`,
  );
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    parts.push(
      `<rect x="${pad.l + i * 170}" y="20" width="10" height="10" fill="${c}"/><text x="${pad.l + i * 170 + 14}" y="29" class="l">${esc(s.name)}</text>`,
    );
    if (s.points.length)
      parts.push(
        `<polyline class="series" fill="none" stroke="${c}" stroke-width="2" points="${s.points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ')}"/>`,
      );
  });
  for (const m of markers)
    parts.push(
      `<line class="marker" x1="${x(m.t)}" y1="${pad.t}" x2="${x(m.t)}" y2="${height - pad.b}" stroke="#e15759" stroke-dasharray="4 3"/><text x="${x(m.t) + 3}" y="${pad.t + 10}" class="v" fill="#e15759">${esc(m.label)}</text>`,
    );
  parts.push('</svg>');
  return parts.join('');
}

/** Gantt-style timeline: one lane per phase, one bar per operation. */
export function timeline(
  ops: { phase: string; label: string; start: number; end: number; failed: boolean }[],
): string {
  const lanes = [...new Set(ops.map((o) => o.phase))];
  const width = 820;
  const left = 150;
  const h = 30 + lanes.length * 22 + 20;
  const t0 = Math.min(...ops.map((o) => o.start));
  const t1 = Math.max(t0 + 1000, ...ops.map((o) => o.end));
  const x = (t: number) => left + ((width - left - 20) * (t - t0)) / (t1 - t0);
  const parts = [
    `<svg class="chart" role="img" aria-label="phase timeline" width="${width}" height="${h}" viewBox="0 0 ${width} ${h}">`,
  ];
  parts.push(`<text x="0" y="14" class="t">Phases (${esc(((t1 - t0) / 1000).toFixed(1))} s)</text>`);
  for (const [i, l] of lanes.entries())
    parts.push(`<text x="${left - 6}" y="${42 + i * 22}" text-anchor="end" class="l">${esc(l)}</text>`);
  for (const o of ops) {
    const i = lanes.indexOf(o.phase);
    parts.push(
      `<rect class="op" x="${x(o.start).toFixed(1)}" y="${30 + i * 22}" width="${Math.max(2, x(o.end) - x(o.start)).toFixed(1)}" height="16" fill="${o.failed ? '#e15759' : COLORS[i % COLORS.length]}"><title>${esc(o.label)}</title></rect>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
}
