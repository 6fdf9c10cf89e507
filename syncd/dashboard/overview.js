// #/overview: national coverage per checklist form, a bar per province, reports per minute,
// open cases by severity, silent observers. Redrawn from every `overview` event, no reload.
import { api, num } from './api.js';
import { areaBars, minuteChart, severityBars, stackedBar, statusCounts } from './charts.js';
import { h, replace } from './dom.js';
import { ago, count, duration, time } from './format.js';
import { lang, localized, t } from './i18n.js';
import { byFormOrder, formTitle, href, page, state } from './ui.js';

function tile(label, value, testid, extra, link) {
  return h(
    link ? 'a' : 'div',
    { class: ['tile', link && 'tile-link'], href: link || null },
    h('span', { class: 'tile-label' }, label),
    h('span', { class: 'tile-value', testid }, value),
    extra && h('span', { class: 'tile-extra' }, extra),
  );
}

function titleOf(fc) {
  const def = state.formsById.get(fc.formId);
  if (def) return localized(def.title, fc.formId);
  return (lang() === 'km' ? fc.titleKm : fc.titleEn) || fc.titleEn || fc.titleKm || formTitle(fc.formId);
}

function formCard(fc) {
  const nation = fc.nation || {};
  return h(
    'article',
    { class: 'card form-card', testid: `form-coverage-${fc.formId}`, data: { form: fc.formId } },
    h(
      'header',
      { class: 'card-head' },
      h('h2', null, titleOf(fc)),
      h('span', { class: 'muted' }, `${count(nation.stations)} ${t('stations')}`),
    ),
    h('h3', { class: 'sub' }, t('national_coverage')),
    stackedBar(nation, { testid: `form-${fc.formId}-bar`, big: true }),
    statusCounts(nation, `form-${fc.formId}`),
    h('h3', { class: 'sub' }, t('by_province')),
    areaBars(
      fc.provinces || [],
      (row) => href('coverage', { form: fc.formId, level: 'district', province: row.area }),
      `form-${fc.formId}-provinces`,
    ),
  );
}

function draw(body, ov) {
  const now = Date.now();
  const generated = num(ov.generatedAtMs);
  const lastReport = num(ov.lastReportAtMs);
  const silentAfter = num(ov.silentAfterMs);
  replace(
    body,
    h(
      'div',
      { class: 'tiles', testid: 'overview-tiles' },
      tile(t('stations'), count(ov.stations), 'overview-stations'),
      tile(t('submissions'), count(ov.submissions), 'overview-submissions'),
      tile(t('incidents'), count(ov.incidents), 'overview-incidents'),
      tile(t('open_cases'), count(ov.openCasesTotal), 'overview-open-cases', null, href('incidents', { status: 'open' })),
      tile(
        t('silent_observers'),
        count(ov.silentObservers),
        'overview-silent',
        silentAfter ? t('silent_after', { d: duration(silentAfter) }) : null,
        href('devices', { status: 'active' }),
      ),
      tile(t('active_devices'), count(ov.activeDevices), 'overview-active-devices', null, href('devices', { status: 'active' })),
      tile(t('revoked_devices'), count(ov.revokedDevices), 'overview-revoked-devices', null, href('devices', { status: 'revoked' })),
      tile(t('alerts_last_hour'), count(ov.alertsLastHour), 'overview-alerts', null, href('alerts')),
      tile(
        t('last_report'),
        lastReport ? time(lastReport).slice(11) : t('never'),
        'overview-last-report',
        lastReport ? ago(lastReport, Math.max(now, generated)) : null,
      ),
    ),
    h(
      'p',
      { class: 'muted updated-line' },
      `${t('last_update')}: `,
      h('time', { testid: 'overview-updated', data: { ms: generated } }, generated ? time(generated) : '—'),
    ),
    h('div', { class: 'form-cards', testid: 'form-cards' }, byFormOrder(ov.forms || []).map(formCard)),
    h(
      'div',
      { class: 'overview-grid' },
      h(
        'article',
        { class: 'card', testid: 'reports-per-minute' },
        h('h2', null, t('reports_per_minute')),
        minuteChart(ov.reportsPerMinute, { now: generated }),
      ),
      h(
        'article',
        { class: 'card', testid: 'open-cases' },
        h('h2', null, t('open_cases_by_severity')),
        severityBars(ov.openCases, (sev) => href('incidents', { status: 'open', severity: sev })),
      ),
    ),
  );
}

export async function renderOverview(root, ctx) {
  const body = page(root, t('overview_title'), 'page-overview');
  let pending = null;
  let frame = 0;
  let shownAt = -1;
  // Events can come faster than drawing is useful: draw the latest once per frame.
  const show = (ov, { now = false } = {}) => {
    const at = num(ov.generatedAtMs);
    if (at >= shownAt) {
      shownAt = at;
      pending = ov;
    } else if (!now) {
      return;
    }
    if (now) {
      if (frame) window.cancelAnimationFrame(frame);
      frame = 0;
      draw(body, pending);
      return;
    }
    if (frame) return;
    frame = window.requestAnimationFrame(() => {
      frame = 0;
      if (ctx.isCurrent() && pending) draw(body, pending);
    });
  };
  // The latest event at once (when there is one), then the server's current answer unless an
  // event newer than it arrived meanwhile.
  ctx.onOverview((ov) => show(ov));
  const ov = await api.overview();
  if (ctx.isCurrent()) show(ov, { now: true });
}
