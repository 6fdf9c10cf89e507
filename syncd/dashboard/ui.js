// What every page shares: the signed-in session, the form catalog, links between pages,
// badges, the pager, the reason prompt and error messages.
import { api, ApiError, num, query } from './api.js';
import { h, replace, select } from './dom.js';
import { localized, t } from './i18n.js';

export const state = {
  session: null, // SessionInfo
  forms: [], // FormDefinition[] (latest version of each)
  formsById: new Map(),
  lastCoverageParams: {}, // Filters of the last coverage page, for the export links.
  lastCaseParams: {}, // Filters of the last incidents page.
};

const ROLE_RANK = { ROLE_VIEWER: 1, ROLE_COORDINATOR: 2, ROLE_ADMIN: 3 };

export function roleRank() {
  return (state.session && ROLE_RANK[state.session.role]) || 0;
}
export const canEdit = () => roleRank() >= 2; // overrides, case workflow
export const canRevoke = () => roleRank() >= 3; // devices

// Forms in the order of the day: by the time they are due (send_by), then by id.
const dayOrder = (f) => `${f.sendBy || '99:99'} ${f.formId}`;

export async function loadForms() {
  const catalog = await api.forms();
  state.forms = (catalog.forms || []).slice().sort((a, b) => dayOrder(a).localeCompare(dayOrder(b)));
  state.formsById = new Map(state.forms.map((f) => [f.formId, f]));
}

export function checklistForms() {
  return state.forms.filter((f) => f.kind === 'CHECKLIST');
}

// Sorts things carrying a form id (`key(x)`) into the order of the day.
export function byFormOrder(items, key = (x) => x.formId) {
  const rank = new Map(state.forms.map((f, i) => [f.formId, i]));
  const r = (x) => (rank.has(key(x)) ? rank.get(key(x)) : 1000);
  return items.slice().sort((a, b) => r(a) - r(b) || String(key(a)).localeCompare(String(key(b))));
}

export function formTitle(formId, fallback) {
  const f = state.formsById.get(formId);
  return f ? localized(f.title, formId) : fallback || formId;
}

// The incident form's label of a category option id.
export function categoryLabel(category) {
  for (const f of state.forms) {
    if (f.kind !== 'INCIDENT') continue;
    for (const q of f.questions || []) {
      const o = (q.options || []).find((x) => x.id === category);
      if (o && q.id === 'category') return localized(o.label, category);
    }
  }
  return category || '';
}

// '#/coverage?form=opening&level=district' from a path and parameters (empty ones left out).
export function href(path, params) {
  return `#/${path}${query(params)}`;
}

export function go(path, params) {
  const target = href(path, params);
  if (window.location.hash === target) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else window.location.hash = target;
}

export function coverageKey(status) {
  return String(status || 'COVERAGE_MISSING').replace('COVERAGE_', '').toLowerCase();
}

export function coverageBadge(status) {
  const s = status || 'COVERAGE_MISSING';
  return h('span', { class: `badge cov-${coverageKey(s)}`, testid: 'coverage-status', data: { status: s } }, t(s));
}

export function caseStatusKey(status) {
  return String(status || 'CASE_NEW').replace('CASE_', '').toLowerCase();
}

export function caseBadge(status) {
  const s = status && status !== 'CASE_STATUS_UNSPECIFIED' ? status : 'CASE_NEW';
  return h('span', { class: `badge case-${caseStatusKey(s)}`, testid: 'case-status', data: { status: s } }, t(s));
}

export function severityBadge(severity) {
  const sev = severity || 'low';
  return h('span', { class: `badge sev-${sev}`, testid: 'severity', data: { severity: sev } }, t(sev));
}

export function roleLabel(role) {
  return t(`role_${role}`);
}

// Why a request failed, for people.
export function errorText(err) {
  if (!(err instanceof ApiError)) return String((err && err.message) || err);
  if (err.status === 0) return t('error_network');
  if (err.code === 'FORBIDDEN') return t('error_forbidden');
  if (err.code === 'CSRF') return t('error_csrf');
  if (err.status === 404) return `${t('error_not_found')} ${err.message || ''}`.trim();
  return `${err.message || err.code} (${err.status}${err.code ? ` ${err.code}` : ''})`;
}

export function errorBox(err, retry) {
  return h(
    'div',
    { class: 'error-box', role: 'alert', testid: 'error', data: { code: (err && err.code) || '' } },
    h('span', null, errorText(err)),
    retry && h('button', { type: 'button', class: 'button-small', on: { click: retry } }, t('retry')),
  );
}

// Page N of M with previous/next links to the same route with another `page`.
export function pager(page, path, params) {
  const total = num(page.total);
  const size = num(page.pageSize) || 50;
  const current = num(page.page) || 1;
  const pages = Math.max(1, Math.ceil(total / size));
  const link = (n, label, testid, enabled) =>
    enabled
      ? h('a', { class: 'button button-small', href: href(path, { ...params, page: n }), testid }, label)
      : h('span', { class: 'button button-small disabled', 'aria-disabled': 'true', testid }, label);
  return h(
    'nav',
    { class: 'pager', testid: 'pager', 'aria-label': 'pages' },
    link(current - 1, t('previous'), 'pager-prev', current > 1),
    h('span', { class: 'pager-info', testid: 'pager-info', data: { total, page: current, pages } },
      t('page_of', { page: current, pages, total })),
    link(current + 1, t('next'), 'pager-next', current < pages),
  );
}

// A filter bar: labelled selects and inputs; `onChange(values)` when one changes (selects at
// once, text fields on Enter or the Search button).
export function filterBar(fields, onChange, testid = 'filters') {
  const controls = {};
  const form = h('form', { class: 'filters', testid, role: 'search' });
  const values = () => {
    const v = {};
    for (const [name, el] of Object.entries(controls)) v[name] = el.value.trim();
    return v;
  };
  let hasText = false;
  for (const f of fields) {
    let control;
    if (f.options) {
      control = select({ name: f.name, testid: `filter-${f.name}` }, f.options, f.value);
      control.addEventListener('change', () => onChange(values()));
    } else {
      hasText = true;
      control = h('input', {
        type: 'search',
        name: f.name,
        testid: `filter-${f.name}`,
        placeholder: f.placeholder || '',
        props: { value: f.value || '' },
      });
    }
    controls[f.name] = control;
    form.appendChild(h('label', { class: 'filter' }, h('span', null, f.label), control));
  }
  if (hasText) {
    form.appendChild(h('button', { type: 'submit', class: 'button-small', testid: 'filter-apply' }, t('search')));
  }
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    onChange(values());
  });
  return form;
}

export function optionsOf(values, labelOf, allLabel = t('all')) {
  return [{ value: '', label: allLabel }, ...values.map((v) => ({ value: v, label: labelOf ? labelOf(v) : v }))];
}

// A button that first asks for a reason: clicking it opens a small form under it; Confirm
// calls `action(reason)` (a promise); errors show in the form, success calls `done(result)`.
export function reasonAction({ label, testid, className = '', action, done, danger = false }) {
  const wrap = h('div', { class: 'reason-action' });
  const button = h(
    'button',
    { type: 'button', class: ['button', danger && 'danger-outline', className], testid },
    label,
  );
  const panel = h('form', { class: 'reason-form', testid: 'reason-form', hidden: true });
  const input = h('textarea', {
    name: 'reason',
    rows: 2,
    maxlength: 1000,
    required: true,
    testid: 'reason-input',
    'aria-label': t('reason'),
    placeholder: t('reason'),
  });
  const message = h('p', { class: 'form-error', testid: 'reason-error', role: 'alert' });
  const confirm = h('button', { type: 'submit', class: ['button', danger && 'danger'], testid: 'reason-confirm' }, `${t('confirm')}: ${label}`);
  const cancel = h('button', { type: 'button', class: 'button secondary', testid: 'reason-cancel' }, t('cancel'));
  panel.append(h('label', { class: 'field' }, h('span', null, t('reason')), input), h('div', { class: 'row' }, confirm, cancel), message);
  button.addEventListener('click', () => {
    panel.hidden = false;
    button.hidden = true;
    input.focus();
  });
  cancel.addEventListener('click', () => {
    panel.hidden = true;
    button.hidden = false;
    message.textContent = '';
  });
  panel.addEventListener('submit', async (e) => {
    e.preventDefault();
    const reason = input.value.trim();
    if (!reason) {
      message.textContent = t('reason_required');
      return;
    }
    confirm.disabled = true;
    message.textContent = '';
    try {
      const result = await action(reason);
      done(result);
    } catch (err) {
      message.textContent = errorText(err);
      message.dataset.code = err.code || '';
      confirm.disabled = false;
    }
  });
  wrap.append(button, panel);
  return wrap;
}

// A page's frame: a heading, then its body (replaced once its data has arrived).
export function page(root, title, testid) {
  const body = h('div', { class: 'page-body' }, h('p', { class: 'muted', testid: 'loading' }, t('loading')));
  replace(root, h('section', { class: 'page', testid }, h('h1', null, title), body));
  return body;
}

export function table(headers, rows, testid, className) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: ['data', className], testid },
      h('thead', null, h('tr', null, headers.map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', null, rows),
    ),
  );
}

export function emptyRow(span) {
  return h('tr', { class: 'empty' }, h('td', { colspan: span, testid: 'no-rows' }, t('no_rows')));
}

export function kv(pairs) {
  return h(
    'dl',
    { class: 'kv' },
    pairs.filter(Boolean).map(([k, v, testid]) => [h('dt', null, k), h('dd', { testid }, v)]),
  );
}
