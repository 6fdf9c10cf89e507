// #/quarantine?released=&page= — records syncd holds instead of merging (docs/protocol.md §11):
// signed by their device but failing a form rule, or naming a station or observer the device
// may not report for. Each shows the device's enrolled observer beside the one the record
// claims; a coordinator may release one with a reason (the server checks it again against
// the current assignments and forms before merging it, and writes the audit entry).
import { api, num } from './api.js';
import { h, replace } from './dom.js';
import { shortId, time, when } from './format.js';
import { t } from './i18n.js';
import { canEdit, emptyRow, filterBar, formTitle, go, href, page, pager, reasonAction, table } from './ui.js';

function observerCell(r) {
  const enrolled = r.observerId || '';
  const claimed = r.claimedObserverId || '';
  const differs = claimed !== '' && claimed !== enrolled;
  return h(
    'td',
    { testid: 'quarantine-observer', data: { differs: differs ? 'true' : 'false' } },
    h('span', { class: 'mono', title: t('enrolled_observer') }, enrolled || '—'),
    differs && h('br'),
    differs && h('span', { class: 'warn', testid: 'quarantine-claimed' }, t('claims_observer', { id: claimed })),
  );
}

function quarantineRow(r, released, onReleased) {
  const cells = [
    h('th', { scope: 'row' }, h('span', { class: 'mono', title: r.recordId || '', testid: 'quarantine-record-id' }, shortId(r.recordId, 13)), h('br'), h('span', { class: 'muted' }, t(`record_kind_${r.kind || 'submission'}`))),
    h('td', null, r.deviceId ? h('a', { href: href('devices', { q: r.deviceId }), class: 'mono', title: r.deviceId }, shortId(r.deviceId, 12)) : '—'),
    observerCell(r),
    h('td', null, r.stationCode ? h('a', { href: href(`station/${encodeURIComponent(r.stationCode)}`) }, r.stationCode) : '—'),
    h('td', null, r.formId ? `${formTitle(r.formId)} v${num(r.formVersion)}` : '—'),
    h('td', { testid: 'quarantine-reason' }, r.reason || ''),
    h('td', { class: 'nowrap', title: time(r.receivedAtMs) }, when(r.receivedAtMs)),
  ];
  if (released) {
    cells.push(
      h(
        'td',
        { testid: 'quarantine-release' },
        h('span', { class: 'nowrap', title: time(r.releasedAtMs) }, when(r.releasedAtMs)),
        ' · ',
        r.releasedBy || '',
        h('br'),
        h('span', { class: 'muted' }, r.releaseReason || ''),
      ),
    );
  } else if (canEdit()) {
    cells.push(
      h(
        'td',
        null,
        reasonAction({
          label: t('release'),
          testid: 'release-button',
          action: (reason) => api.releaseQuarantine(r.recordId, reason),
          done: onReleased,
        }),
      ),
    );
  }
  return h('tr', { testid: 'quarantine-row', data: { record: r.recordId || '', kind: r.kind || '' } }, cells);
}

export async function renderQuarantine(root, ctx) {
  const p = { ...ctx.params };
  const released = p.released === '1';
  const body = page(root, t('quarantine_title'), 'page-quarantine');
  const qp = await api.quarantine({ released: released ? '1' : '', page: p.page, page_size: p.page_size });
  if (!ctx.isCurrent()) return;
  let notice = null;
  const rows = [];
  const headers = [t('record'), t('device'), t('observer'), t('station'), t('form'), t('reason'), t('received')];
  if (released) headers.push(t('released'));
  else if (canEdit()) headers.push('');
  const draw = () => {
    replace(
      body,
      h('p', { class: 'muted', testid: 'quarantine-help' }, t('quarantine_help')),
      notice && h('p', { class: 'notice', role: 'status', testid: 'notice' }, notice),
      filterBar(
        [
          {
            name: 'released',
            label: t('show'),
            options: [
              { value: '', label: t('quarantine_held') },
              { value: '1', label: t('quarantine_released') },
            ],
            value: released ? '1' : '',
          },
        ],
        (v) => go('quarantine', { ...p, ...v, page: '' }),
        'quarantine-filters',
      ),
      table(headers, rows.length ? rows : emptyRow(headers.length), 'quarantine-table'),
      pager(qp, 'quarantine', p),
    );
  };
  (qp.records || []).forEach((r, i) => {
    rows.push(
      quarantineRow(r, released, (updated) => {
        rows[i] = h('tr', { testid: 'quarantine-row', data: { record: r.recordId || '', released: 'true' } },
          h('td', { colspan: headers.length }, t('release_done', { id: (updated && updated.recordId) || r.recordId })));
        notice = t('release_done', { id: r.recordId });
        draw();
      }),
    );
  });
  draw();
}
