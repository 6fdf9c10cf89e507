// Charts drawn with plain DOM and SVG: a stacked coverage bar, a bar per area, reports per
// minute over the day, open cases per severity. No library, nothing fetched.
import { num } from './api.js';
import { h, s } from './dom.js';
import { clock, count, pct } from './format.js';
import { t } from './i18n.js';

export const STATUSES = ['complete', 'partial', 'conflict', 'missing'];
export const SEVERITIES = ['critical', 'high', 'medium', 'low'];

// A CoverageRow as a horizontal bar: complete, partial, conflict, missing.
export function stackedBar(row, { testid, big = false } = {}) {
  const total = num(row && row.stations);
  const bar = h('div', {
    class: ['stacked', big && 'stacked-big'],
    testid,
    role: 'img',
    'aria-label': STATUSES.map((k) => `${t(k)} ${count(row && row[k])}`).join(', '),
  });
  for (const k of STATUSES) {
    const n = num(row && row[k]);
    if (!n || !total) continue;
    const seg = h('span', {
      class: `seg seg-${k}`,
      title: `${t(k)}: ${count(n)} (${pct(n, total)})`,
      size: { width: `${(100 * n) / total}%` },
    });
    bar.appendChild(seg);
  }
  return bar;
}

// The four counts beside a bar, each a tile with its colour key.
export function statusCounts(row, testidPrefix) {
  const total = num(row && row.stations);
  return h(
    'div',
    { class: 'status-counts' },
    STATUSES.map((k) =>
      h(
        'div',
        { class: `status-count key-${k}` },
        h('span', { class: 'status-count-label' }, t(k)),
        h(
          'span',
          { class: 'status-count-value', testid: testidPrefix && `${testidPrefix}-${k}` },
          count(row && row[k]),
        ),
        h('span', { class: 'status-count-pct' }, pct(row && row[k], total)),
      ),
    ),
  );
}

// One labelled stacked bar per area; `href(row)` makes each a link (drill-down).
export function areaBars(rows, href, testid) {
  return h(
    'div',
    { class: 'area-bars', testid },
    (rows || []).map((row) =>
      h(
        'a',
        {
          class: 'area-bar',
          href: href(row),
          testid: 'area-bar',
          data: { area: row.area || '' },
        },
        h('span', { class: 'area-name' }, row.area || t('nation')),
        stackedBar(row),
        h('span', { class: 'area-pct' }, pct(row.complete, row.stations)),
      ),
    ),
  );
}

// Reports per minute: MinuteCount[] (only minutes with reports, oldest first) drawn as bars
// over the span from the first to the last minute, grouped into wider bins on long spans so
// that a bar stays at least a few pixels wide.
export function minuteChart(minutes, { width = 640, height = 180, now = 0 } = {}) {
  const rows = (minutes || [])
    .map((m) => ({
      at: num(m.minuteStartMs),
      submissions: num(m.submissions),
      incidents: num(m.incidents),
    }))
    .filter((m) => m.at > 0)
    .sort((a, b) => a.at - b.at);
  if (!rows.length) {
    return h('p', { class: 'muted', testid: 'reports-chart-empty' }, t('no_reports_yet'));
  }
  const minute = 60000;
  // The axis runs up to now (the overview's time) and spans at least half an hour, so that a
  // fresh day's first minutes read as the start of a day, not as one wide bar.
  const last = Math.max(rows[rows.length - 1].at, Math.floor(num(now) / minute) * minute);
  const first = Math.max(Math.min(rows[0].at, last - 29 * minute), last - 1439 * minute);
  const spanMinutes = Math.round((last - first) / minute) + 1;
  const binMinutes = Math.max(1, Math.ceil(spanMinutes / 180));
  const bins = Math.ceil(spanMinutes / binMinutes);
  const sums = Array.from({ length: bins }, () => ({ submissions: 0, incidents: 0 }));
  for (const r of rows) {
    if (r.at < first) continue;
    const i = Math.min(bins - 1, Math.floor((r.at - first) / minute / binMinutes));
    sums[i].submissions += r.submissions;
    sums[i].incidents += r.incidents;
  }
  const perMinute = (v) => v / binMinutes;
  const max = Math.max(1, ...sums.map((b) => perMinute(b.submissions + b.incidents)));
  const left = 40;
  const bottom = 22;
  const plotW = width - left - 8;
  const plotH = height - bottom - 8;
  const barW = plotW / bins;
  const y = (v) => 8 + plotH - (plotH * v) / max;

  const svg = s('svg', {
    class: 'minute-chart',
    viewBox: `0 0 ${width} ${height}`,
    preserveAspectRatio: 'none',
    role: 'img',
    'aria-label': t('reports_per_minute'),
    testid: 'reports-chart',
  });
  // Axis: zero line, the maximum, hours.
  svg.appendChild(s('line', { class: 'axis', x1: left, y1: y(0), x2: width - 8, y2: y(0) }));
  svg.appendChild(
    s('text', { class: 'axis-label', x: left - 4, y: y(max) + 4, 'text-anchor': 'end' },
      max >= 10 ? String(Math.round(max)) : max.toFixed(1)),
  );
  svg.appendChild(s('text', { class: 'axis-label', x: left - 4, y: y(0), 'text-anchor': 'end' }, '0'));
  const tickEvery = spanMinutes > 360 ? 60 : spanMinutes > 90 ? 30 : spanMinutes > 30 ? 10 : 5;
  const firstTick = Math.ceil(first / (tickEvery * minute)) * tickEvery * minute;
  for (let at = firstTick; at <= first + spanMinutes * minute; at += tickEvery * minute) {
    const x = left + ((at - first) / minute / binMinutes) * barW;
    svg.appendChild(s('line', { class: 'tick', x1: x, y1: y(0), x2: x, y2: y(0) + 4 }));
    const anchor = x > width - 30 ? 'end' : x < left + 12 ? 'start' : 'middle';
    svg.appendChild(s('text', { class: 'axis-label', x, y: height - 6, 'text-anchor': anchor }, clock(at)));
  }
  sums.forEach((b, i) => {
    const x = left + i * barW;
    const w = Math.max(1, barW - (barW > 3 ? 1 : 0));
    const sub = perMinute(b.submissions);
    const inc = perMinute(b.incidents);
    const at = first + i * binMinutes * minute;
    const label = `${clock(at)}: ${b.submissions} ${t('checklist_submissions')}, ${b.incidents} ${t('incident_reports')}`;
    if (sub > 0) {
      svg.appendChild(
        s('rect', { class: 'bar-submissions', x, y: y(sub), width: w, height: y(0) - y(sub) },
          s('title', null, label)),
      );
    }
    if (inc > 0) {
      svg.appendChild(
        s('rect', { class: 'bar-incidents', x, y: y(sub + inc), width: w, height: y(sub) - y(sub + inc) },
          s('title', null, label)),
      );
    }
  });
  return h(
    'figure',
    { class: 'chart' },
    svg,
    h(
      'figcaption',
      { class: 'legend' },
      h('span', { class: 'legend-key key-submissions' }, t('checklist_submissions')),
      h('span', { class: 'legend-key key-incidents' }, t('incident_reports')),
    ),
  );
}

// Open cases per severity as horizontal bars; each links to the filtered case list.
export function severityBars(counts, href) {
  const by = new Map((counts || []).map((c) => [c.severity, num(c.open)]));
  const max = Math.max(1, ...SEVERITIES.map((k) => by.get(k) || 0));
  return h(
    'div',
    { class: 'severity-bars' },
    SEVERITIES.map((k) => {
      const n = by.get(k) || 0;
      return h(
        'a',
        { class: 'severity-bar', href: href(k), testid: `severity-${k}` },
        h('span', { class: `severity-name sev-${k}` }, t(k)),
        h('span', { class: 'severity-track' },
          h('span', { class: `severity-fill fill-${k}`, size: { width: `${(100 * n) / max}%` } })),
        h('span', { class: 'severity-count', testid: `severity-${k}-count` }, count(n)),
      );
    }),
  );
}
