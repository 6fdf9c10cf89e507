// #/incidents?status=&category=&province=&severity=&page= — incident cases, sorted by the
// server (severity, then newest report), and #/case/ID — one case: its timeline, history and
// workflow (new → verified → escalated → resolved, or rejected), each step with a reason.
import { api, query } from './api.js';
import { SEVERITIES } from './charts.js';
import { h, replace } from './dom.js';
import { count, shortId, time, when } from './format.js';
import { t } from './i18n.js';
import {
  canEdit,
  caseBadge,
  categoryLabel,
  emptyRow,
  filterBar,
  go,
  href,
  kv,
  optionsOf,
  page,
  pager,
  reasonAction,
  severityBadge,
  state,
  table,
} from './ui.js';

const STATUS_FILTERS = ['open', 'new', 'verified', 'escalated', 'resolved', 'rejected'];
const STEPS = ['CASE_NEW', 'CASE_VERIFIED', 'CASE_ESCALATED', 'CASE_RESOLVED'];
const NEXT = {
  CASE_NEW: ['CASE_VERIFIED', 'CASE_REJECTED'],
  CASE_VERIFIED: ['CASE_ESCALATED', 'CASE_REJECTED'],
  CASE_ESCALATED: ['CASE_RESOLVED', 'CASE_REJECTED'],
};

const statusOf = (c) => (c && c.status && c.status !== 'CASE_STATUS_UNSPECIFIED' ? c.status : 'CASE_NEW');
const lower = (s) => s.replace('CASE_', '').toLowerCase();

export async function renderIncidents(root, ctx) {
  const p = { ...ctx.params };
  state.lastCaseParams = { status: p.status, category: p.category, province: p.province, severity: p.severity };
  const body = page(root, t('incidents_title'), 'page-incidents');
  const cp = await api.cases({
    status: p.status,
    category: p.category,
    province: p.province,
    severity: p.severity,
    page: p.page,
    page_size: p.page_size,
  });
  if (!ctx.isCurrent()) return;

  const categories = [...new Set([...(cp.categories || []), ...(p.category ? [p.category] : [])])];
  const provinces = [...new Set([...(cp.provinces || []), ...(p.province ? [p.province] : [])])];
  const filters = filterBar(
    [
      { name: 'status', label: t('status'), options: optionsOf(STATUS_FILTERS, (s) => t(`status_${s}`)), value: p.status },
      { name: 'severity', label: t('severity'), options: optionsOf(SEVERITIES, (s) => t(s)), value: p.severity },
      { name: 'category', label: t('category'), options: optionsOf(categories, categoryLabel), value: p.category },
      { name: 'province', label: t('province'), options: optionsOf(provinces), value: p.province },
    ],
    (v) => go('incidents', { ...p, ...v, page: '' }),
    'incident-filters',
  );
  const rows = (cp.cases || []).map((row) => {
    const c = row.info || {};
    const link = href(`case/${encodeURIComponent(c.caseId)}`);
    return h(
      'tr',
      { testid: 'case-row', data: { case: c.caseId, status: statusOf(c), severity: c.severity || '' } },
      h('td', null, severityBadge(c.severity)),
      h('th', { scope: 'row' }, h('a', { href: link, testid: 'case-link' }, categoryLabel(c.category))),
      h('td', { class: 'nowrap' }, h('a', { href: href(`station/${encodeURIComponent(c.stationCode)}`) }, c.stationCode || ''), h('br'), h('span', { class: 'muted' }, row.stationName || '')),
      h('td', null, row.province || '', h('br'), h('span', { class: 'muted' }, [row.district, row.commune].filter(Boolean).join(' › '))),
      h('td', { class: 'nowrap', title: time(c.firstOccurredAtMs) }, when(c.firstOccurredAtMs)),
      h('td', { class: 'nowrap', title: time(c.lastOccurredAtMs) }, when(c.lastOccurredAtMs)),
      h('td', { class: 'num' }, count(c.reportCount)),
      h('td', null, caseBadge(c.status)),
    );
  });
  const exportLink = `/api/export/cases.csv${query(state.lastCaseParams)}`;
  filters.appendChild(h('a', { class: 'button secondary push-right', href: exportLink, download: '', testid: 'cases-export' }, t('download_csv')));
  replace(
    body,
    filters,
    table(
      [t('severity'), t('category'), t('station'), `${t('province')} › ${t('district')} › ${t('commune')}`, t('first_report'), t('last_report_at'), t('reports'), t('status')],
      rows.length ? rows : emptyRow(8),
      'cases-table',
    ),
    pager(cp, 'incidents', p),
  );
}

function workflowSteps(status) {
  const rejected = status === 'CASE_REJECTED';
  const at = STEPS.indexOf(status);
  return h(
    'ol',
    { class: 'steps', testid: 'workflow-steps' },
    STEPS.map((s, i) => h('li', { class: [i < at && 'done', i === at && 'current'] }, t(s))),
    rejected && h('li', { class: 'current rejected' }, t('CASE_REJECTED')),
  );
}

function drawCase(body, detail, notice) {
  const row = detail.row || {};
  const c = row.info || {};
  const status = statusOf(c);
  const next = NEXT[status] || [];
  const actions = canEdit()
    ? next.map((target) =>
        reasonAction({
          label: t(`action_${lower(target)}`),
          testid: `case-action-${lower(target)}`,
          danger: target === 'CASE_REJECTED',
          action: (reason) => api.caseStatus(c.caseId, target, reason),
          done: (updated) => drawCase(body, updated, `${t('changed')}: ${t(target)}`),
        }),
      )
    : [];
  replace(
    body,
    notice && h('p', { class: 'notice', role: 'status', testid: 'notice' }, notice),
    h(
      'article',
      { class: 'card', testid: 'case-info', data: { case: c.caseId || '', status } },
      h('header', { class: 'card-head' }, h('h2', null, categoryLabel(c.category)), severityBadge(c.severity), caseBadge(status)),
      kv([
        ['ID', c.caseId || '', 'case-id'],
        [t('station'), h('a', { href: href(`station/${encodeURIComponent(c.stationCode || '')}`) }, `${c.stationCode || ''} ${row.stationName || ''}`)],
        [`${t('province')} › ${t('district')} › ${t('commune')}`, [row.province, row.district, row.commune].filter(Boolean).join(' › ')],
        [t('first_report'), time(c.firstOccurredAtMs)],
        [t('last_report_at'), time(c.lastOccurredAtMs)],
        [t('reports'), count(c.reportCount)],
        [t('changed'), time(c.statusChangedAtMs) || '—'],
      ]),
    ),
    h(
      'article',
      { class: 'card', testid: 'case-workflow' },
      h('h2', null, t('workflow')),
      workflowSteps(status),
      next.length === 0 && h('p', { class: 'muted' }, t('no_more_steps')),
      actions.length > 0 && h('div', { class: 'actions', testid: 'case-actions' }, actions),
    ),
    h(
      'article',
      { class: 'card', testid: 'case-timeline' },
      h('h2', null, t('timeline')),
      h(
        'ol',
        { class: 'timeline' },
        (c.timeline || []).map((e) =>
          h(
            'li',
            { testid: 'timeline-event', data: { incident: e.incidentId || '' } },
            h('div', { class: 'timeline-head' },
              h('time', null, time(e.occurredAtMs)), ' ',
              severityBadge(e.severity), ' ',
              h('strong', null, categoryLabel(e.category)),
              e.parentId && h('span', { class: 'badge follow-up' }, t('follow_up'))),
            h('p', { class: 'narrative' }, e.narrative || ''),
            h('p', { class: 'muted' }, `${t('observer')} ${e.observerId || '?'} · ${t('device')} `,
              h('a', { href: href('devices', { q: e.deviceId }), title: e.deviceId || '' }, shortId(e.deviceId))),
          ),
        ),
      ),
    ),
    (detail.history || []).length > 0 &&
      h(
        'article',
        { class: 'card', testid: 'case-history' },
        h('h2', null, t('history')),
        table(
          [t('when'), t('who'), t('what'), t('reason')],
          detail.history.map((a) =>
            h('tr', { testid: 'history-row' },
              h('td', null, time(a.atMs)),
              h('td', null, a.actor || ''),
              h('td', null, `${a.action || ''}: ${a.before || '—'} → ${a.after || '—'}`),
              h('td', null, a.reason || '')),
          ),
        ),
      ),
  );
}

export async function renderCase(root, ctx) {
  const id = ctx.args[0] || '';
  const body = page(root, `${t('case_title')} ${shortId(id, 13)}`, 'page-case');
  const detail = await api.caseDetail(id);
  if (!ctx.isCurrent()) return;
  drawCase(body, detail);
}
