// #/devices?q=&status=&page= — enrolled devices, silent ones first (the server's order), with
// revocation for admins; #/alerts?kind=&page= — what the server flagged, newest first.
import { api, num } from './api.js';
import { h, replace } from './dom.js';
import { ago, count, duration, shortId, time, when } from './format.js';
import { t } from './i18n.js';
import {
  canRevoke,
  emptyRow,
  filterBar,
  go,
  href,
  optionsOf,
  page,
  pager,
  reasonAction,
  table,
} from './ui.js';

const ALERT_KINDS = [
  'EQUIVOCATION',
  'BAD_SIGNATURE',
  'DEVICE_REVOKED',
  'RATE_LIMITED',
  'UNKNOWN_DEVICE',
  'LOGIN_FAILED',
  'LOGIN_RATE_LIMITED',
];

function deviceRow(row, silentAfter, now, onRevoked) {
  const d = row.device || {};
  const status = d.status || 'active';
  const lastSeen = num(d.lastSeenMs);
  const silent = status === 'active' && silentAfter > 0 && (!lastSeen || now - lastSeen > silentAfter);
  const offset = num(d.clockOffsetMs);
  const cells = [
    h('th', { scope: 'row' }, h('span', { class: 'mono', title: d.deviceId || '', testid: 'device-id' }, shortId(d.deviceId, 12)), row.model && h('br'), row.model && h('span', { class: 'muted' }, row.model)),
    h('td', null, row.observerName || '', h('br'), h('span', { class: 'muted' }, d.observerId || '')),
    h('td', null, (row.stationCodes || []).map((code, i) => [i ? ', ' : '', h('a', { href: href(`station/${encodeURIComponent(code)}`) }, code)])),
    h('td', { class: [silent && 'silent', 'nowrap'], testid: 'device-last-sync', title: time(lastSeen) }, lastSeen ? when(lastSeen, now) : t('never'), h('br'), h('span', { class: 'muted' }, lastSeen ? ago(lastSeen, now) : '')),
    h('td', { class: 'num', testid: 'device-pending' }, count(d.pendingRecords)),
    h('td', { class: ['num', Math.abs(offset) > 5 * 60000 && 'warn'], testid: 'device-clock-offset', data: { ms: offset } }, duration(offset, { signed: true })),
    h(
      'td',
      null,
      h('span', { class: `badge dev-${status}`, testid: 'device-status', data: { status } }, t(status)),
      d.revokedReason && h('div', { class: 'muted', testid: 'device-revoked-reason' }, d.revokedReason),
    ),
  ];
  if (canRevoke()) {
    cells.push(
      h(
        'td',
        null,
        status === 'active' &&
          reasonAction({
            label: t('revoke'),
            testid: 'revoke-button',
            danger: true,
            action: (reason) => api.revoke(d.deviceId, reason),
            done: onRevoked,
          }),
      ),
    );
  }
  return h('tr', { testid: 'device-row', data: { device: d.deviceId || '', status, silent: silent ? 'true' : 'false' } }, cells);
}

export async function renderDevices(root, ctx) {
  const p = { ...ctx.params };
  const body = page(root, t('devices_title'), 'page-devices');
  const dp = await api.devices({ status: p.status, q: p.q, page: p.page, page_size: p.page_size });
  if (!ctx.isCurrent()) return;
  const ov = ctx.overview();
  const silentAfter = num(ov && ov.silentAfterMs);
  const now = Date.now();
  let notice = null;
  const tbody = [];
  const draw = () => {
    const headers = [t('device'), t('observer'), t('stations'), t('last_sync'), t('pending_records'), t('clock_offset'), t('status')];
    if (canRevoke()) headers.push('');
    replace(
      body,
      notice && h('p', { class: 'notice', role: 'status', testid: 'notice' }, notice),
      filterBar(
        [
          { name: 'status', label: t('status'), options: optionsOf(['active', 'revoked'], (s) => t(s)), value: p.status },
          { name: 'q', label: t('search'), value: p.q, placeholder: t('device_observer_station') },
        ],
        (v) => go('devices', { ...p, ...v, page: '' }),
        'device-filters',
      ),
      table(headers, tbody.length ? tbody : emptyRow(headers.length), 'devices-table'),
      pager(dp, 'devices', p),
    );
  };
  (dp.devices || []).forEach((row, i) => {
    tbody.push(
      deviceRow(row, silentAfter, now, (updated) => {
        tbody[i] = deviceRow(updated, silentAfter, Date.now(), () => {});
        notice = t('revoke_done');
        draw();
      }),
    );
  });
  draw();
}

export async function renderAlerts(root, ctx) {
  const p = { ...ctx.params };
  const body = page(root, t('alerts_title'), 'page-alerts');
  const ap = await api.alerts({ kind: p.kind, page: p.page, page_size: p.page_size });
  if (!ctx.isCurrent()) return;
  const kindLabel = (k) => {
    const label = t(`kind_${k}`);
    return label === `kind_${k}` ? k : label;
  };
  const kinds = [...new Set([...ALERT_KINDS, ...(p.kind ? [p.kind] : [])])];
  const rows = (ap.alerts || []).map((a) =>
    h(
      'tr',
      { testid: 'alert-row', data: { kind: a.kind || '', device: a.deviceId || '' } },
      h('td', null, h('span', { class: `badge alert-${String(a.kind || '').toLowerCase()}` }, kindLabel(a.kind || ''))),
      h('td', null, a.deviceId ? h('a', { href: href('devices', { q: a.deviceId }), class: 'mono', title: a.deviceId }, shortId(a.deviceId, 12)) : '—'),
      h('td', { testid: 'alert-detail' }, a.detail || ''),
      h('td', { class: 'nowrap', title: time(a.firstAtMs) }, when(a.firstAtMs)),
      h('td', { class: 'nowrap', title: time(a.lastAtMs) }, when(a.lastAtMs)),
      h('td', { class: 'num' }, count(a.count || 1)),
    ),
  );
  replace(
    body,
    filterBar(
      [{ name: 'kind', label: t('kind'), options: optionsOf(kinds, kindLabel), value: p.kind }],
      (v) => go('alerts', { ...p, ...v, page: '' }),
      'alert-filters',
    ),
    table([t('kind'), t('device'), t('detail'), t('first_seen'), t('last_seen'), t('count')], rows.length ? rows : emptyRow(6), 'alerts-table'),
    pager(ap, 'alerts', p),
  );
}
