// #/export — CSV files of masters, submissions and cases, carrying the filters set here
// (prefilled from the last coverage and incidents pages).
import { query } from './api.js';
import { SEVERITIES } from './charts.js';
import { h, replace, select } from './dom.js';
import { localized, t } from './i18n.js';
import { checklistForms, optionsOf, page, state } from './ui.js';

const COVERAGE_STATUSES = ['missing', 'partial', 'complete', 'conflict'];
const CASE_STATUSES = ['open', 'new', 'verified', 'escalated', 'resolved', 'rejected'];

export async function renderExport(root) {
  const body = page(root, t('export_title'), 'page-export');
  const cov = { ...state.lastCoverageParams };
  const cases = { ...state.lastCaseParams };

  const forms = checklistForms();
  const formSel = select({ name: 'form', testid: 'export-form' }, optionsOf(forms.map((f) => f.formId), (id) => localized(state.formsById.get(id).title, id)), cov.form);
  const text = (name, value) => h('input', { name, testid: `export-${name}`, props: { value: value || '' } });
  const province = text('province', cov.province);
  const district = text('district', cov.district);
  const commune = text('commune', cov.commune);
  const statusSel = select({ name: 'status', testid: 'export-status' }, optionsOf(COVERAGE_STATUSES, (s) => t(s)), cov.status);

  const caseStatus = select({ name: 'case-status', testid: 'export-case-status' }, optionsOf(CASE_STATUSES, (s) => t(`status_${s}`)), cases.status);
  const caseSeverity = select({ name: 'case-severity', testid: 'export-case-severity' }, optionsOf(SEVERITIES, (s) => t(s)), cases.severity);
  const caseCategory = text('case-category', cases.category);
  const caseProvince = text('case-province', cases.province);

  const masters = h('a', { class: 'button', download: '', testid: 'export-masters' }, `${t('export_masters')} (masters.csv)`);
  const submissions = h('a', { class: 'button', download: '', testid: 'export-submissions' }, `${t('export_submissions')} (submissions.csv)`);
  const casesLink = h('a', { class: 'button', download: '', testid: 'export-cases' }, `${t('export_cases')} (cases.csv)`);

  const update = () => {
    const area = { form: formSel.value, province: province.value.trim(), district: district.value.trim(), commune: commune.value.trim() };
    masters.href = `/api/export/masters.csv${query({ ...area, status: statusSel.value })}`;
    submissions.href = `/api/export/submissions.csv${query(area)}`;
    casesLink.href = `/api/export/cases.csv${query({
      status: caseStatus.value,
      category: caseCategory.value.trim(),
      province: caseProvince.value.trim(),
      severity: caseSeverity.value,
    })}`;
  };
  for (const el of [formSel, province, district, commune, statusSel, caseStatus, caseSeverity, caseCategory, caseProvince]) {
    el.addEventListener('input', update);
    el.addEventListener('change', update);
  }
  update();

  const field = (label, control) => h('label', { class: 'field' }, h('span', null, label), control);
  replace(
    body,
    h('p', { class: 'muted' }, t('export_help')),
    h(
      'div',
      { class: 'export-grid' },
      h(
        'article',
        { class: 'card' },
        h('h2', null, `${t('export_masters')} · ${t('export_submissions')}`),
        h('div', { class: 'grid-2' },
          field(t('form'), formSel),
          field(t('status'), statusSel),
          field(t('province'), province),
          field(t('district'), district),
          field(t('commune'), commune)),
        h('div', { class: 'row' }, masters, submissions),
      ),
      h(
        'article',
        { class: 'card' },
        h('h2', null, t('export_cases')),
        h('div', { class: 'grid-2' },
          field(t('status'), caseStatus),
          field(t('severity'), caseSeverity),
          field(t('category'), caseCategory),
          field(t('province'), caseProvince)),
        h('div', { class: 'row' }, casesLink),
      ),
    ),
  );
}
