// #/coverage?form=&level=&province=&district=&commune=&status=&q=&page= — drill-down from the
// nation to provinces, districts, communes and stations (paged by the server), and
// #/station/CODE — one station: master record per form, each observer's submissions,
// conflicts with every value and who gave it, QA flags, overrides.
import { api, num, query } from './api.js';
import { stackedBar, statusCounts } from './charts.js';
import { h, replace, select } from './dom.js';
import { count, pct, questionLabel, questionOf, shortId, time, valueInput, valueText, when } from './format.js';
import { localized, t } from './i18n.js';
import {
  canEdit,
  byFormOrder,
  caseBadge,
  categoryLabel,
  checklistForms,
  coverageBadge,
  emptyRow,
  errorText,
  filterBar,
  formTitle,
  go,
  href,
  kv,
  optionsOf,
  page,
  pager,
  severityBadge,
  state,
  table,
} from './ui.js';

const LEVELS = ['province', 'district', 'commune', 'station'];
const CHILD = { province: 'district', district: 'commune', commune: 'station' };
const STATUS_FILTERS = ['missing', 'partial', 'complete', 'conflict'];

function breadcrumb(p) {
  const items = [h('a', { href: href('coverage', { form: p.form, level: 'province' }) }, t('nation'))];
  if (p.province) {
    items.push(h('a', { href: href('coverage', { form: p.form, level: 'district', province: p.province }) }, p.province));
  }
  if (p.province && p.district) {
    items.push(
      h('a', { href: href('coverage', { form: p.form, level: 'commune', province: p.province, district: p.district }) }, p.district),
    );
  }
  if (p.province && p.district && p.commune) {
    items.push(
      h('a', {
        href: href('coverage', { form: p.form, level: 'station', province: p.province, district: p.district, commune: p.commune }),
      }, p.commune),
    );
  }
  return h(
    'nav',
    { class: 'breadcrumb', testid: 'breadcrumb', 'aria-label': 'breadcrumb' },
    items.flatMap((el, i) => (i ? [h('span', { class: 'sep' }, '›'), el] : [el])),
  );
}

function areaTable(cp, p) {
  const child = CHILD[cp.level] ? cp.level : p.level;
  const next = CHILD[child];
  const rows = (cp.areas || []).map((row) => {
    const target = { form: p.form, level: next, province: p.province, district: p.district, commune: p.commune };
    if (child === 'province') target.province = row.area;
    if (child === 'district') target.district = row.area;
    if (child === 'commune') target.commune = row.area;
    const link = href('coverage', target);
    return h(
      'tr',
      { testid: 'coverage-row', data: { area: row.area || '' } },
      h('th', { scope: 'row' }, h('a', { href: link, testid: 'area-link' }, row.area || '—')),
      h('td', { class: 'num' }, count(row.stations)),
      h('td', { class: 'num' }, count(row.missing)),
      h('td', { class: 'num' }, count(row.partial)),
      h('td', { class: 'num' }, count(row.complete)),
      h('td', { class: 'num', testid: 'area-conflict' }, count(row.conflict)),
      h('td', { class: 'bar-cell' }, stackedBar(row)),
      h('td', { class: 'num' }, pct(row.complete, row.stations)),
    );
  });
  return table(
    [t(child), t('stations'), t('missing'), t('partial'), t('complete'), t('conflict'), '', t('complete_pct')],
    rows.length ? rows : emptyRow(8),
    'coverage-table',
  );
}

function stationTable(cp) {
  const rows = (cp.stations || []).map((st) =>
    h(
      'tr',
      { testid: 'station-row', data: { code: st.stationCode, status: st.status || 'COVERAGE_MISSING' } },
      h('th', { scope: 'row' }, h('a', { href: href(`station/${encodeURIComponent(st.stationCode)}`), testid: 'station-link' }, st.stationCode)),
      h('td', null, st.name || ''),
      h('td', null, st.province || '', h('br'), h('span', { class: 'muted' }, [st.district, st.commune].filter(Boolean).join(' › '))),
      h('td', null, coverageBadge(st.status)),
      h('td', { class: 'num' }, count(st.contributors)),
      h('td', { class: 'num' }, count(st.conflicts)),
      h('td', { class: 'num' }, count(st.qaFlags)),
      h('td', { class: 'nowrap', title: time(st.updatedAtMs) }, num(st.updatedAtMs) ? when(st.updatedAtMs) : '—'),
    ),
  );
  return table(
    [t('station'), '', `${t('province')} › ${t('district')} › ${t('commune')}`, t('status'), t('contributors'), t('conflicts'), t('qa_flags'), t('updated')],
    rows.length ? rows : emptyRow(8),
    'coverage-table',
  );
}

export async function renderCoverage(root, ctx) {
  const forms = checklistForms();
  const p = { ...ctx.params };
  if (!p.form) p.form = forms.length ? forms[0].formId : (ctx.overview() && ctx.overview().forms && ctx.overview().forms[0] && ctx.overview().forms[0].formId) || '';
  if (!LEVELS.includes(p.level)) p.level = 'province';
  // The server wants the parents a level needs; fall back to the nearest level it can show.
  if (p.level === 'commune' && !(p.province && p.district)) p.level = p.province ? 'district' : 'province';
  if (p.level === 'district' && !p.province) p.level = 'province';
  if (p.level !== 'station') delete p.status;
  state.lastCoverageParams = { form: p.form, province: p.province, district: p.district, commune: p.commune, status: p.status };

  const body = page(root, t('coverage_title'), 'page-coverage');
  const cp = await api.coverage({
    form: p.form,
    level: p.level,
    province: p.province,
    district: p.district,
    commune: p.commune,
    status: p.status,
    q: p.q,
    page: p.page,
    page_size: p.page_size,
  });
  if (!ctx.isCurrent()) return;

  const formOptions = forms.map((f) => ({ value: f.formId, label: localized(f.title, f.formId) }));
  if (p.form && !formOptions.some((o) => o.value === p.form)) formOptions.push({ value: p.form, label: formTitle(p.form) });
  const fields = [{ name: 'form', label: t('form'), options: formOptions, value: p.form }];
  if (p.level === 'station') {
    fields.push({ name: 'status', label: t('status'), options: optionsOf(STATUS_FILTERS, (s) => t(s)), value: p.status });
  }
  fields.push({ name: 'q', label: p.level === 'station' ? t('code_or_name') : t('search'), value: p.q, placeholder: t('code_or_name') });
  const filters = filterBar(fields, (v) => go('coverage', { ...p, ...v, page: '' }), 'coverage-filters');

  const parent = cp.parent || {};
  const exportLink = `/api/export/masters.csv${query({ form: p.form, province: p.province, district: p.district, commune: p.commune, status: p.status })}`;
  replace(
    body,
    h('div', { class: 'toolbar' }, breadcrumb(p), h('a', { class: 'button secondary', href: exportLink, download: '', testid: 'coverage-export' }, t('download_csv'))),
    filters,
    h(
      'article',
      { class: 'card parent-card', testid: 'coverage-parent' },
      h('h2', null, `${formTitle(p.form)} · ${[p.province, p.district, p.commune].filter(Boolean).join(' › ') || t('nation')}`),
      stackedBar(parent, { big: true, testid: 'coverage-parent-bar' }),
      statusCounts(parent, 'coverage-parent'),
      p.level !== 'station' &&
        h('a', {
          class: 'button secondary',
          href: href('coverage', { form: p.form, level: 'station', province: p.province, district: p.district, commune: p.commune }),
          testid: 'show-stations',
        }, t('show_stations')),
    ),
    p.level === 'station' ? stationTable(cp) : areaTable(cp, p),
    pager(cp, 'coverage', p),
  );
}

// ---- One station ------------------------------------------------------------------------

function answersTable(master, form) {
  const answers = new Map((master.answers || []).map((a) => [a.questionId, a.value]));
  const overrides = new Map((master.overrides || []).map((o) => [o.questionId, o]));
  const conflicts = new Map((master.conflicts || []).map((c) => [c.questionId, c]));
  const missing = new Set(master.missingRequired || []);
  const ids = form ? (form.questions || []).map((q) => q.id) : [];
  for (const id of [...answers.keys(), ...conflicts.keys(), ...missing]) if (!ids.includes(id)) ids.push(id);
  const rows = ids.map((id) => {
    const q = questionOf(form, id);
    const ov = overrides.get(id);
    const conflict = conflicts.get(id);
    let value;
    let source = '';
    let cls = '';
    if (answers.has(id)) {
      value = valueText(answers.get(id), q);
      source = ov ? t('override_by', { by: ov.by || '', reason: ov.reason || '' }) : t('agreed');
      cls = ov ? 'row-override' : '';
    } else if (conflict && !conflict.overridden) {
      value = [...new Set((conflict.values || []).map((v) => valueText(v.value, q) || v.text || ''))].join(' ≠ ');
      source = t('conflict');
      cls = 'row-conflict';
    } else if (missing.has(id)) {
      value = t('not_answered');
      cls = 'row-missing';
    } else {
      value = '—';
      cls = 'row-empty';
    }
    return h(
      'tr',
      { class: cls, testid: 'answer-row', data: { question: id } },
      h('th', { scope: 'row' }, questionLabel(form, id)),
      h('td', { testid: 'answer-value' }, value),
      h('td', { class: 'muted' }, source),
    );
  });
  return table([t('question'), t('value'), t('source')], rows, 'answers', 'answers');
}

function conflictList(master, form, onUse) {
  const conflicts = master.conflicts || [];
  if (!conflicts.length) return null;
  return h(
    'div',
    { class: 'conflicts' },
    conflicts.map((c) => {
      const q = questionOf(form, c.questionId);
      return h(
        'div',
        { class: ['conflict', c.overridden && 'settled'], testid: 'conflict', data: { question: c.questionId, form: master.formId } },
        h('h4', null,
          h('span', { class: 'conflict-kind' }, `${t('conflict_values')}:`),
          questionLabel(form, c.questionId),
          c.overridden && h('span', { class: 'badge settled-badge' }, t('settled_by_override'))),
        h(
          'ul',
          { class: 'conflict-values' },
          (c.values || []).map((v) =>
            h(
              'li',
              { testid: 'conflict-value', data: { observer: v.observerId || '', device: v.deviceId || '' } },
              h('strong', { testid: 'conflict-value-text' }, valueText(v.value, q) || v.text || ''),
              h('span', { class: 'muted' }, ` — ${t('observer')} ${v.observerId || '?'}, ${t('device')} `),
              h('a', { href: href('devices', { q: v.deviceId }), title: v.deviceId || '' }, shortId(v.deviceId)),
              canEdit() &&
                h('button', {
                  type: 'button',
                  class: 'button-small',
                  testid: 'use-value',
                  on: { click: () => onUse(master.formId, c.questionId, valueInput(v.value) || v.text || '') },
                }, t('use_value')),
            ),
          ),
        ),
      );
    }),
  );
}

function qaFlagList(flags, form) {
  if (!flags || !flags.length) return null;
  return h(
    'ul',
    { class: 'qa-flags', testid: 'qa-flags' },
    flags.map((f) => {
      const check = form && (form.qaChecks || []).find((c) => c.id === f.checkId);
      return h('li', { testid: 'qa-flag', data: { check: f.checkId || '' } }, '⚑ ', check ? localized(check.label, f.label || f.checkId) : f.label || f.checkId);
    }),
  );
}

function masterCard(master, onUse) {
  const form = state.formsById.get(master.formId);
  return h(
    'article',
    { class: 'card master', testid: `master-${master.formId}`, data: { form: master.formId, status: master.status || 'COVERAGE_MISSING' } },
    h(
      'header',
      { class: 'card-head' },
      h('h2', null, formTitle(master.formId)),
      coverageBadge(master.status),
      h('span', { class: 'muted' }, t('form_version', { v: num(master.formVersion) })),
    ),
    qaFlagList(master.qaFlags, form),
    conflictList(master, form, onUse),
    answersTable(master, form),
    (master.overrides || []).length > 0 &&
      h(
        'div',
        { class: 'overrides' },
        h('h3', { class: 'sub' }, t('overridden')),
        h(
          'ul',
          null,
          master.overrides.map((o) =>
            h('li', { testid: 'override', data: { question: o.questionId } },
              h('strong', null, questionLabel(form, o.questionId)), ': ',
              h('span', { testid: 'override-text' }, valueText(o.value, questionOf(form, o.questionId)) || o.text || ''),
              h('span', { class: 'muted' }, ` — ${o.by || ''}, ${time(o.atMs)}: ${o.reason || ''}`)),
          ),
        ),
      ),
    (master.contributors || []).length > 0 &&
      h(
        'p',
        { class: 'muted contributors' },
        `${t('contributors')}: `,
        master.contributors.map((c, i) => [i ? ', ' : '', `${c.observerId} (${shortId(c.deviceId)}, ${time(c.finalizedAtMs)})`]),
      ),
  );
}

function overrideForm(detail, onSaved) {
  const forms = checklistForms();
  const masterForms = byFormOrder(detail.masters || []).map((m) => m.formId);
  const formIds = [...new Set([...masterForms, ...forms.map((f) => f.formId)])];
  const formSel = select({ name: 'form', testid: 'override-form' }, formIds.map((id) => ({ value: id, label: formTitle(id) })), formIds[0]);
  const questionSel = h('select', { name: 'question', testid: 'override-question' });
  const value = h('input', { name: 'value', testid: 'override-value', autocomplete: 'off' });
  const hint = h('small', { class: 'muted', testid: 'override-hint' });
  const reason = h('textarea', { name: 'reason', rows: 2, required: true, testid: 'override-reason', maxlength: 1000 });
  const remove = h('input', { type: 'checkbox', name: 'remove', testid: 'override-remove' });
  const message = h('p', { class: 'form-error', role: 'alert', testid: 'override-error' });
  const submit = h('button', { type: 'submit', class: 'button', testid: 'override-submit' }, t('override_submit'));

  const fillQuestions = (selected) => {
    const form = state.formsById.get(formSel.value);
    questionSel.replaceChildren(
      ...((form && form.questions) || []).map((q) => h('option', { value: q.id }, `${localized(q.label, q.id)} (${q.id})`)),
    );
    if (selected) questionSel.value = selected;
    showHint();
  };
  const showHint = () => {
    const q = questionOf(state.formsById.get(formSel.value), questionSel.value);
    let text = t('override_value_help');
    if (q && (q.type === 'SELECT_ONE' || q.type === 'SELECT_MANY')) text += ` [${(q.options || []).map((o) => o.id).join(' ')}]`;
    if (q && q.type) text += ` (${q.type})`;
    hint.textContent = text;
  };
  formSel.addEventListener('change', () => fillQuestions());
  questionSel.addEventListener('change', showHint);
  remove.addEventListener('change', () => {
    value.disabled = remove.checked;
  });
  fillQuestions();

  const form = h(
    'form',
    { class: 'card override-form', testid: 'override-panel' },
    h('h2', null, t('override_title')),
    h('div', { class: 'grid-2' },
      h('label', { class: 'field' }, h('span', null, t('form')), formSel),
      h('label', { class: 'field' }, h('span', null, t('question')), questionSel)),
    h('label', { class: 'field' }, h('span', null, t('value')), value, hint),
    h('label', { class: 'check' }, remove, h('span', null, t('override_remove'))),
    h('label', { class: 'field' }, h('span', null, t('reason')), reason),
    submit,
    message,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    message.textContent = '';
    message.className = 'form-error';
    if (!reason.value.trim()) {
      message.textContent = t('reason_required');
      return;
    }
    submit.disabled = true;
    try {
      const master = await api.override({
        stationCode: detail.station.code,
        formId: formSel.value,
        questionId: questionSel.value,
        valueText: remove.checked ? '' : value.value.trim(),
        remove: remove.checked,
        reason: reason.value.trim(),
      });
      onSaved(master, remove.checked);
    } catch (err) {
      message.textContent = errorText(err);
      message.dataset.code = err.code || '';
      submit.disabled = false;
    }
  });
  form.use = (formId, questionId, text) => {
    formSel.value = formId;
    fillQuestions(questionId);
    remove.checked = false;
    value.disabled = false;
    value.value = text;
    form.scrollIntoView({ block: 'nearest' });
    reason.focus();
  };
  return form;
}

function submissionsList(detail) {
  const subs = detail.submissions || [];
  if (!subs.length) return null;
  return h(
    'article',
    { class: 'card', testid: 'submissions' },
    h('h2', null, `${t('submissions_title')} (${subs.length})`),
    subs.map((ss) => {
      const sub = ss.submission || {};
      const form = state.formsById.get(sub.formId);
      return h(
        'details',
        { class: 'submission', testid: 'submission', data: { observer: sub.observerId || '', form: sub.formId || '', latest: ss.latest ? 'true' : 'false' } },
        h(
          'summary',
          null,
          h('strong', null, formTitle(sub.formId)),
          ` · ${t('observer')} ${sub.observerId || '?'} · ${t('device')} ${shortId(ss.deviceId)} · ${t('received')} ${time(ss.receivedAtMs)} `,
          h('span', { class: ['badge', ss.latest ? 'latest' : 'earlier'] }, ss.latest ? t('latest') : t('earlier')),
          (ss.qaFlags || []).length > 0 && h('span', { class: 'badge qa' }, `⚑ ${ss.qaFlags.length}`),
        ),
        kv([
          [t('finalized'), time(sub.finalizedAtMs)],
          [t('device'), ss.deviceId || ''],
          ['ID', sub.submissionId || ''],
        ]),
        qaFlagList(ss.qaFlags, form),
        table(
          [t('question'), t('value')],
          (sub.answers || []).map((a) =>
            h('tr', null, h('th', { scope: 'row' }, questionLabel(form, a.questionId)), h('td', null, valueText(a.value, questionOf(form, a.questionId)))),
          ),
        ),
      );
    }),
  );
}

function casesList(cases) {
  if (!cases || !cases.length) return null;
  return h(
    'article',
    { class: 'card', testid: 'station-cases' },
    h('h2', null, t('cases_here')),
    table(
      [t('category'), t('status'), t('reports')],
      cases.map((c) =>
        h('tr', { testid: 'case-row', data: { case: c.caseId } },
          h('td', null,
            h('a', { href: href(`case/${encodeURIComponent(c.caseId)}`), title: time(c.firstOccurredAtMs) }, categoryLabel(c.category)),
            ' ', severityBadge(c.severity)),
          h('td', null, caseBadge(c.status)),
          h('td', { class: 'num' }, count(c.reportCount))),
      ),
    ),
  );
}

function drawStation(body, detail, ctx, notice) {
  const st = detail.station || {};
  let editor = null;
  const onUse = (formId, questionId, text) => editor && editor.use(formId, questionId, text);
  const onSaved = (master, removed) => {
    const masters = (detail.masters || []).filter((m) => m.formId !== master.formId);
    masters.push(master);
    drawStation(body, { ...detail, masters }, ctx, removed ? t('override_removed') : t('override_saved'));
  };
  if (canEdit()) editor = overrideForm(detail, onSaved);
  const area = { level: 'station', province: st.province, district: st.district, commune: st.commune };
  replace(
    body,
    notice && h('p', { class: 'notice', role: 'status', testid: 'notice' }, notice),
    h(
      'div',
      { class: 'station-layout' },
      h(
        'div',
        { class: 'station-main' },
        (detail.masters || []).length
          ? h('div', { class: 'masters' }, byFormOrder(detail.masters).map((m) => masterCard(m, onUse)))
          : h('p', { class: 'card muted', testid: 'no-masters' }, t('no_masters')),
        submissionsList(detail),
      ),
      h(
        'div',
        { class: 'station-side' },
        h(
          'article',
          { class: 'card', testid: 'station-info' },
          h('h2', { testid: 'station-name' }, st.name || st.code || ''),
          kv([
            [t('station'), st.code || '', 'station-code'],
            [t('province'), st.province ? h('a', { href: href('coverage', { ...state.lastCoverageParams, level: 'district', province: st.province, district: '', commune: '', status: '' }) }, st.province) : ''],
            [t('district'), st.district ? h('a', { href: href('coverage', { ...state.lastCoverageParams, level: 'commune', province: st.province, district: st.district, commune: '', status: '' }) }, st.district) : ''],
            [t('commune'), st.commune ? h('a', { href: href('coverage', { ...state.lastCoverageParams, ...area, status: '' }) }, st.commune) : ''],
            [t('registered_voters'), count(st.registeredVoters)],
            [t('observers_assigned'), (detail.observerIds || []).join(', ') || t('none'), 'station-observers'],
          ]),
        ),
        editor,
        casesList(detail.cases),
      ),
    ),
  );
}

export async function renderStation(root, ctx) {
  const code = ctx.args[0] || '';
  const body = page(root, t('station_title', { code }), 'page-station');
  const detail = await api.station(code);
  if (!ctx.isCurrent()) return;
  drawStation(body, detail, ctx);
}
