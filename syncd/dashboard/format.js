// How numbers, times, durations and answers read on the pages.
import { num } from './api.js';
import { localized, t } from './i18n.js';

const grouped = new Intl.NumberFormat('en-US');

export function count(v) {
  return grouped.format(num(v));
}

export function pct(part, whole) {
  const w = num(whole);
  if (!w) return '0%';
  const p = (100 * num(part)) / w;
  return `${p >= 10 || p === 0 ? Math.round(p) : p.toFixed(1)}%`;
}

const pad = (n) => String(n).padStart(2, '0');

// "2024-07-23 14:05:09" in the browser's time zone; "" for 0 (the mapping's "never").
export function time(ms) {
  const v = num(ms);
  if (!v) return '';
  const d = new Date(v);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

// Compact for tables: the time of day for today, else the date and minute.
export function when(ms, now = Date.now()) {
  const v = num(ms);
  if (!v) return '';
  const full = time(v);
  return full.slice(0, 10) === time(now).slice(0, 10) ? full.slice(11) : full.slice(0, 16);
}

export function clock(ms) {
  const v = num(ms);
  if (!v) return '';
  const d = new Date(v);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// A duration for people: "+2 d 3 h", "-5 min 12 s", "+850 ms", "0 s". The two largest units
// are enough to see whether a device's clock is a little or badly wrong.
export function duration(ms, { signed = false } = {}) {
  let v = Math.round(num(ms));
  const sign = v < 0 ? '-' : signed && v > 0 ? '+' : '';
  v = Math.abs(v);
  if (v === 0) return `0 ${t('unit_s')}`;
  if (v < 1000) return `${sign}${v} ${t('unit_ms')}`;
  const units = [
    ['unit_d', 86400000],
    ['unit_h', 3600000],
    ['unit_min', 60000],
    ['unit_s', 1000],
  ];
  const parts = [];
  let rest = v;
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || parts.length > 0) parts.push([n, unit]);
    if (parts.length === 2) break;
  }
  const shown = parts.filter(([n], i) => n > 0 || i === 0).map(([n, u]) => `${n} ${t(u)}`);
  return sign + shown.join(' ');
}

// "5 min 3 s ago" for a past time; "never" for 0.
export function ago(ms, now = Date.now()) {
  const v = num(ms);
  if (!v) return t('never');
  return t('ago', { d: duration(Math.floor(Math.max(0, now - v) / 1000) * 1000) });
}

// The question of a form definition by id (null when the form does not have it).
export function questionOf(form, questionId) {
  if (!form || !form.questions) return null;
  return form.questions.find((q) => q.id === questionId) || null;
}

export function questionLabel(form, questionId) {
  const q = questionOf(form, questionId);
  return q ? localized(q.label, questionId) : questionId;
}

function optionLabel(question, id) {
  const o = question && question.options && question.options.find((x) => x.id === id);
  return o ? localized(o.label, id) : id;
}

// An answer's Value ({"boolean": true}, {"integer": "5"}, {"choices": {"ids": […]}}, …) as
// people read it, with option labels of the question when the form is known.
export function valueText(value, question) {
  if (!value || typeof value !== 'object') return '';
  if ('boolean' in value) return value.boolean ? t('yes') : t('no');
  if ('integer' in value) return count(value.integer);
  if ('decimal' in value) return String(value.decimal);
  if ('text' in value) {
    if (question && question.type === 'SELECT_ONE') return optionLabel(question, value.text);
    return value.text;
  }
  if ('choices' in value) {
    const ids = (value.choices && value.choices.ids) || [];
    return ids.length ? ids.map((id) => optionLabel(question, id)).join(', ') : t('none');
  }
  if ('unixMs' in value) return time(value.unixMs);
  if ('location' in value) {
    const l = value.location || {};
    return `${num(l.latitude).toFixed(5)}, ${num(l.longitude).toFixed(5)}`;
  }
  return '';
}

// The text `syncd admin override` (and POST /api/overrides) takes for a value.
export function valueInput(value) {
  if (!value || typeof value !== 'object') return '';
  if ('boolean' in value) return value.boolean ? 'yes' : 'no';
  if ('integer' in value) return String(value.integer);
  if ('decimal' in value) return String(value.decimal);
  if ('text' in value) return value.text;
  if ('choices' in value) return ((value.choices && value.choices.ids) || []).join(' ');
  if ('unixMs' in value) return String(value.unixMs);
  return '';
}

export function shortId(id, n = 8) {
  const s = String(id || '');
  return s.length > n + 1 ? `${s.slice(0, n)}…` : s;
}
