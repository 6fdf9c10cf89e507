// The coordinators' dashboard: a single page with hash routes (#/overview, #/coverage?…,
// #/station/CODE, #/incidents?…, #/case/ID, #/devices?…, #/alerts?…, #/quarantine?…,
// #/export), kept live
// by Server-Sent Events from GET /api/events. docs/dashboard.md describes the API.
import { api, setCsrfToken, setUnauthenticatedHandler } from './api.js';
import { renderAlerts, renderDevices } from './devices.js';
import { h, replace, select } from './dom.js';
import { renderExport } from './export.js';
import { lang, setLang, t } from './i18n.js';
import { renderCase, renderIncidents } from './incidents.js';
import { renderOverview } from './overview.js';
import { renderQuarantine } from './quarantine.js';
import { renderCoverage, renderStation } from './coverage.js';
import { errorBox, loadForms, roleLabel, state } from './ui.js';

const routes = {
  overview: renderOverview,
  coverage: renderCoverage,
  station: renderStation,
  incidents: renderIncidents,
  case: renderCase,
  devices: renderDevices,
  alerts: renderAlerts,
  quarantine: renderQuarantine,
  export: renderExport,
};
const NAV = ['overview', 'coverage', 'incidents', 'devices', 'alerts', 'quarantine', 'export'];
const NAV_OF = { station: 'coverage', case: 'incidents' };

const root = document.getElementById('app');
let renderSeq = 0;
let overviewListeners = new Set();

// ---- Live updates ---------------------------------------------------------------------

const live = {
  source: null,
  state: 'off', // 'live' | 'reconnecting' | 'off'
  retryTimer: 0,
  overview: null, // The latest Overview.
};

function setLive(s) {
  live.state = s;
  const el = document.querySelector('[data-testid="live-indicator"]');
  if (el) {
    el.dataset.state = s;
    el.textContent = t(s === 'live' ? 'live' : s === 'reconnecting' ? 'reconnecting' : 'offline');
  }
}

function publishOverview(ov) {
  live.overview = ov;
  for (const fn of overviewListeners) fn(ov);
}

function startEvents() {
  stopEvents();
  const source = new EventSource('/api/events');
  live.source = source;
  setLive('reconnecting');
  source.addEventListener('open', () => setLive('live'));
  source.addEventListener('overview', (e) => {
    try {
      publishOverview(JSON.parse(e.data));
      setLive('live');
    } catch {
      // A malformed event changes nothing; the next one will do.
    }
  });
  source.addEventListener('error', () => {
    if (live.source !== source) return;
    if (source.readyState === EventSource.CLOSED) {
      // The browser gave up (e.g. a 401 or a non-stream answer): ask whether the session
      // still holds, then open a new stream.
      setLive('reconnecting');
      window.clearTimeout(live.retryTimer);
      live.retryTimer = window.setTimeout(async () => {
        try {
          await api.session();
          if (state.session) startEvents();
        } catch (err) {
          if (err.status === 401) showLogin(t('session_expired'));
          else if (state.session) startEvents();
        }
      }, 3000);
    } else {
      setLive('reconnecting');
    }
  });
}

function stopEvents() {
  window.clearTimeout(live.retryTimer);
  if (live.source) live.source.close();
  live.source = null;
  setLive('off');
}

// ---- The frame: header with navigation, language, session ------------------------------

function languageSwitch() {
  const el = select(
    { testid: 'lang-switch', 'aria-label': t('language'), class: 'lang-switch' },
    [
      { value: 'km', label: 'ខ្មែរ' },
      { value: 'en', label: 'English' },
    ],
    lang(),
  );
  el.addEventListener('change', () => {
    setLang(el.value);
    document.title = t('app_title');
    renderHeader();
    if (state.session) route();
    else showLogin();
  });
  return el;
}

function renderHeader() {
  const header = document.getElementById('header');
  const current = currentRoute().path;
  const active = NAV_OF[current] || current;
  const signedIn = !!state.session;
  replace(
    header,
    h('a', { class: 'brand', href: '#/overview' }, h('span', { class: 'brand-mark' }, 'V'), 'Vigil'),
    signedIn &&
      h(
        'nav',
        { class: 'main-nav', 'aria-label': 'main' },
        NAV.map((name) =>
          h(
            'a',
            {
              href: `#/${name}`,
              testid: `nav-${name}`,
              class: name === active ? 'active' : '',
              'aria-current': name === active ? 'page' : null,
            },
            t(`nav_${name}`),
          ),
        ),
      ),
    h(
      'div',
      { class: 'header-tools' },
      signedIn && h('span', { class: 'live', testid: 'live-indicator', data: { state: live.state } }, ''),
      languageSwitch(),
      signedIn &&
        h(
          'span',
          { class: 'who' },
          h('span', { testid: 'session-name' }, state.session.name || ''),
          h('span', { class: 'role', testid: 'session-role', data: { role: state.session.role || '' } },
            roleLabel(state.session.role)),
        ),
      signedIn && h('button', { type: 'button', class: 'button secondary', testid: 'logout', on: { click: logout } }, t('logout')),
    ),
  );
  setLive(live.state);
}

// ---- Session ------------------------------------------------------------------------

function showLogin(message) {
  state.session = null;
  setCsrfToken('');
  stopEvents();
  overviewListeners = new Set();
  renderSeq++;
  renderHeader();
  document.body.dataset.page = 'login';
  root.dataset.ready = 'login';
  const name = h('input', { name: 'name', autocomplete: 'username', required: true, testid: 'login-name', maxlength: 128 });
  const password = h('input', {
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
    testid: 'login-password',
    maxlength: 256,
  });
  const error = h('p', { class: 'form-error', role: 'alert', testid: 'login-error' }, message || '');
  const submit = h('button', { type: 'submit', class: 'button', testid: 'login-submit' }, t('login_submit'));
  const form = h(
    'form',
    { class: 'login', testid: 'login-form' },
    h('h1', null, t('login_title')),
    h('label', { class: 'field' }, h('span', null, t('login_name')), name),
    h('label', { class: 'field' }, h('span', null, t('login_password')), password),
    submit,
    error,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    submit.disabled = true;
    error.textContent = '';
    try {
      const session = await api.login(name.value.trim(), password.value);
      password.value = '';
      await signedIn(session);
    } catch (err) {
      if (err.status === 401 || err.status === 400) error.textContent = t('login_failed');
      else if (err.status === 429) error.textContent = t('login_rate_limited', { s: err.retryAfter || 60 });
      else error.textContent = err.message || String(err);
      error.dataset.code = err.code || '';
      submit.disabled = false;
    }
  });
  replace(root, h('section', { class: 'page page-login', testid: 'page-login' }, form));
  name.focus();
}

async function signedIn(session) {
  state.session = session;
  setCsrfToken(session.csrfToken);
  try {
    await loadForms();
  } catch (err) {
    if (err.status === 401) return;
    state.forms = [];
    state.formsById = new Map();
  }
  startEvents();
  if (!routes[currentRoute().path]) {
    window.location.hash = '#/overview'; // hashchange routes it
    return;
  }
  route();
}

async function logout() {
  try {
    await api.logout();
  } catch {
    // Signed out either way; the server drops the session on its own after idling.
  }
  showLogin();
}

// ---- Routing --------------------------------------------------------------------------

function currentRoute() {
  const raw = window.location.hash.replace(/^#\/?/, '');
  const qi = raw.indexOf('?');
  const pathPart = qi >= 0 ? raw.slice(0, qi) : raw;
  const params = new URLSearchParams(qi >= 0 ? raw.slice(qi + 1) : '');
  const parts = pathPart.split('/').map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  return { path: parts[0] || '', args: parts.slice(1), params };
}

function route() {
  if (!state.session) return;
  const r = currentRoute();
  const render = routes[r.path];
  if (!render) {
    window.location.replace('#/overview');
    return;
  }
  const seq = ++renderSeq;
  overviewListeners = new Set();
  document.body.dataset.page = r.path;
  renderHeader();
  const ctx = {
    args: r.args,
    params: Object.fromEntries(r.params.entries()),
    isCurrent: () => seq === renderSeq,
    onOverview: (fn) => {
      if (seq !== renderSeq) return;
      overviewListeners.add(fn);
      if (live.overview) fn(live.overview);
    },
    overview: () => live.overview,
  };
  window.scrollTo(0, 0);
  // data-ready names the route whose data is drawn (what tests and people wait for).
  root.dataset.ready = '';
  const hash = window.location.hash;
  Promise.resolve(render(root, ctx))
    .then(() => {
      if (ctx.isCurrent()) root.dataset.ready = hash;
    })
    .catch((err) => {
      if (!ctx.isCurrent() || err.status === 401) return;
      replace(root, h('section', { class: 'page' }, errorBox(err, () => route())));
      root.dataset.ready = hash;
    });
}

// ---- Start ----------------------------------------------------------------------------

async function start() {
  setLang(lang());
  document.title = t('app_title');
  setUnauthenticatedHandler(() => {
    if (state.session) showLogin(t('session_expired'));
  });
  window.addEventListener('hashchange', () => {
    if (state.session) route();
  });
  renderHeader();
  try {
    const session = await api.session();
    await signedIn(session);
  } catch (err) {
    if (err.status === 401) showLogin();
    else replace(root, errorBox(err, () => start()));
  }
}

start();
