// The coordinators' dashboard end to end: a real syncd over HTTPS, real devices (vigil-loadgen
// and the observer command line), headless Chromium at 1280×800. Each test builds on the one
// before it (one election day), so they run in order.
//
//   node --test dashboard.test.js      (env: VIGIL_SYNCD, VIGIL_LOADGEN, VIGIL_OBSERVER,
//                                       VIGIL_SCREENSHOT_DIR, VIGIL_CHROMIUM)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { bin, Deployment, guardChildren, people, screenshotDir, until } from './harness.js';

const WAIT = 30000; // Longest wait for anything the page should show.
const VIEWPORT = { width: 1280, height: 800 };

const CLI_STATION = '01-01-01-0001';
const OPENING = {
  q01_arrival_time: '06:05',
  q02_allowed_to_observe: true,
  q03_committee_members: 5,
  q04_women_members: 2,
  q05_materials_present: 'ballots ballot_box seals voter_list ink screens stamp',
  q06_box_shown_empty: true,
  q07_box_sealed: true,
  q08_seal_numbers: 'A-1042, A-1043',
  q09_ballots_received: 600,
  q10_voters_on_list: 512,
  q11_opening_time: 'before_0700',
  q12_party_agents: 'party_01 party_03 party_07',
  q13_other_observers: false,
  q14_unauthorised_persons: 'village_chief',
};

let d;
let browser;
const contexts = [];
const world = {}; // What earlier tests found, for later ones.

const num = (text) => Number(String(text || '').replace(/[^0-9-]/g, '')) || 0;

async function newPage() {
  const context = await browser.newContext({ viewport: VIEWPORT, ignoreHTTPSErrors: true, locale: 'en-US' });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // A refused request shows as a console error; those the tests provoke are expected.
    if (m.type() === 'error' && !/status of (401|403|404|409|429)/.test(m.text())) page.errors.push(`console: ${m.text()}`);
  });
  return page;
}

async function shot(page, name) {
  fs.mkdirSync(screenshotDir, { recursive: true });
  await page.evaluate(() => document.fonts.ready);
  await page.screenshot({ path: path.join(screenshotDir, `${name}.png`) });
}

async function signIn(page, who) {
  const person = people[who];
  await page.goto(`${d.url}/dashboard/`);
  await page.getByTestId('login-form').waitFor();
  await page.getByTestId('login-name').fill(person.name);
  await page.getByTestId('login-password').fill(person.password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('session-role').waitFor();
  const lang = await page.getByTestId('lang-switch').inputValue();
  if (lang !== 'en') {
    await page.getByTestId('lang-switch').selectOption('en');
  }
  await settled(page);
}

// Waits until the page has drawn the data of the route in its address bar.
async function settled(page) {
  await page.waitForFunction(() => {
    const app = document.getElementById('app');
    return app && app.dataset.ready === window.location.hash;
  });
}

// Goes to a route in the page (no reload) and waits for its data to be drawn.
async function go(page, hash, testid) {
  await page.evaluate((h) => {
    window.location.hash = h;
  }, hash);
  await settled(page);
  if (testid) await page.getByTestId(testid).waitFor();
}

// A request from inside the page, with the page's own cookie (as a script on the page would).
function pageFetch(page, method, url, { body, csrf } = {}) {
  return page.evaluate(
    async ({ method, url, body, csrf }) => {
      const headers = { 'Content-Type': 'application/json' };
      if (csrf) headers['X-CSRF-Token'] = csrf;
      const r = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
      let json = null;
      try {
        json = await r.json();
      } catch {
        json = null;
      }
      return { status: r.status, json };
    },
    { method, url, body, csrf },
  );
}

before(async () => {
  d = new Deployment();
  guardChildren(d);
  await d.setUp({
    layout: { provinces: 3, districts: 2, communes: 2, perCommune: 2, secondEvery: 3 },
    extraObservers: [
      { id: 'obs-cli-a', name: 'Sokha Chan', station: CLI_STATION },
      { id: 'obs-cli-b', name: 'Dara Kim', station: CLI_STATION },
      { id: 'obs-revoke', name: 'Lost Tablet', station: '01-01-01-0002' },
    ],
  });
  await d.start();
  browser = await chromium.launch({ executablePath: bin.chromium, args: ['--no-sandbox'], headless: true });
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  if (browser) await browser.close().catch(() => {});
  if (d) await d.close();
});

test('the login page refuses a wrong password, then signs a coordinator in', async () => {
  const page = await newPage();
  world.coordinator = page;
  await page.goto(`${d.url}/dashboard/`);
  await page.getByTestId('login-form').waitFor();
  if ((await page.getByTestId('lang-switch').inputValue()) !== 'en') await page.getByTestId('lang-switch').selectOption('en');
  await shot(page, 'login');

  await page.getByTestId('login-name').fill(people.coordinator.name);
  await page.getByTestId('login-password').fill('not-the-password');
  await page.getByTestId('login-submit').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="login-error"]').textContent.trim() !== '');
  assert.match(await page.getByTestId('login-error').textContent(), /wrong name or password/i);

  await page.getByTestId('login-password').fill(people.coordinator.password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('page-overview').waitFor();
  await settled(page);
  assert.equal(await page.getByTestId('session-name').textContent(), people.coordinator.name);
  assert.equal(await page.getByTestId('session-role').getAttribute('data-role'), 'ROLE_COORDINATOR');
  await page.getByTestId('live-indicator').waitFor();
  assert.equal(await page.getByTestId('overview-stations').textContent(), String(d.stations.length));
});

test('the overview follows the election day live, without reloading', async () => {
  const page = world.coordinator;
  await page.getByTestId('overview-submissions').waitFor();
  await page.evaluate(() => {
    window.__sameDocument = true;
  });
  let overviewFetches = 0;
  let streamsOpened = 0;
  const countFetches = (req) => {
    const { pathname } = new URL(req.url());
    if (pathname === '/api/overview') overviewFetches++;
    if (pathname === '/api/events') streamsOpened++;
  };
  page.on('request', countFetches);
  const before = num(await page.getByTestId('overview-submissions').textContent());

  // Every observer of the country plays the day; at some stations with two, they disagree.
  // (Not at the station the command-line tablets report from below.)
  const players = d.observers.filter((o) => o.id.startsWith('obs-0') && o.station !== CLI_STATION).map((o) => o.id);
  const day = d.loadgen(players, { daySeconds: 6, conflictShare: 0.5, incidentOneIn: 4 });

  await page.waitForFunction(
    (b) => Number(document.querySelector('[data-testid="overview-submissions"]').textContent.replace(/\D/g, '')) > b,
    before,
    { timeout: 60000 },
  );
  const result = await day;
  assert.equal(result.code, 0, `vigil-loadgen failed:\n${result.output}`);

  // The page catches up with everything syncd stored, still without a reload. (The day is
  // over: syncd's own count stops moving, and the page must come to show the same.)
  const api = await d.login('viewer');
  await until(async () => {
    const stored = Number((await api.get('/api/overview')).json.submissions);
    const shown = num(await page.getByTestId('overview-submissions').textContent());
    return stored > before && shown === stored;
  }, { timeoutMs: WAIT, intervalMs: 250, what: 'the page to show every stored checklist' });
  page.off('request', countFetches);
  await shot(page, 'overview');
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page reloaded');
  assert.equal(overviewFetches, 0, 'the counts came from the event stream, not from GET /api/overview');

  const opening = page.getByTestId('form-coverage-opening');
  const counted = await Promise.all(
    ['missing', 'partial', 'complete', 'conflict'].map(async (k) => num(await page.getByTestId(`form-opening-${k}`).textContent())),
  );
  assert.equal(counted.reduce((a, b) => a + b, 0), d.stations.length, 'the four counts add up to every station');
  assert.equal(await opening.getByTestId('area-bar').count(), 3, 'a bar per province');
  assert.equal(await page.getByTestId('reports-chart').count(), 1);

  // One stream, opened at login, carried the whole day: it never had to reconnect.
  assert.equal(streamsOpened, 0, 'the event stream was reopened during the day');
  assert.equal(await page.getByTestId('live-indicator').getAttribute('data-state'), 'live');
});

test('coverage drills down to a station with a conflict, and a coordinator overrides it', async () => {
  const page = world.coordinator;
  // Two tablets at one station agree on the opening checklist but for the committee: 5
  // members (2 women) against 3 (4 women, which also fails the form's QA check).
  const a = await d.device('obs-cli-a').enroll();
  const b = await d.device('obs-cli-b').enroll();
  await a.fill('opening', { answers: OPENING });
  await b.fill('opening', { answers: { ...OPENING, q03_committee_members: 3, q04_women_members: 4 } });
  await a.syncOk();
  await b.syncOk();
  world.deviceA = a;
  const station = d.station(a.station);

  const api = await d.login('viewer');
  const detail = await until(async () => {
    const r = (await api.get(`/api/stations/${station.code}`)).json;
    const m = (r.masters || []).find((x) => x.formId === 'opening');
    return m && m.status === 'COVERAGE_CONFLICT' && r;
  }, { what: 'a conflict at the station' });
  const conflicts = detail.masters.find((x) => x.formId === 'opening').conflicts;
  assert.deepEqual(conflicts.map((c) => c.questionId).sort(), ['q03_committee_members', 'q04_women_members']);
  const conflict = conflicts.find((c) => c.questionId === 'q03_committee_members');

  await go(page, '#/coverage', 'page-coverage');
  await page.getByTestId('filter-form').selectOption('opening');
  await page.waitForFunction(() => window.location.hash.includes('form=opening'));
  await settled(page);
  assert.equal(await page.getByTestId('coverage-row').count(), 3, 'one row per province');
  await shot(page, 'coverage');

  for (const [testid, area] of [['coverage-row', station.province], ['coverage-row', station.district], ['coverage-row', station.commune]]) {
    await page.locator(`[data-testid="${testid}"][data-area="${area}"] [data-testid="area-link"]`).click();
    await page.waitForFunction((a) => decodeURIComponent(window.location.hash.replace(/\+/g, ' ')).includes(a), area);
    await settled(page);
  }
  const row = page.locator(`[data-testid="station-row"][data-code="${station.code}"]`);
  await row.waitFor();
  assert.equal(await row.getAttribute('data-status'), 'COVERAGE_CONFLICT');
  await page.getByTestId('filter-status').selectOption('conflict');
  await page.waitForFunction(() => window.location.hash.includes('status=conflict'));
  await settled(page);
  const statuses = await page.locator('[data-testid="station-row"]').evaluateAll((rows) => rows.map((r) => r.dataset.status));
  assert.ok(statuses.every((s) => s === 'COVERAGE_CONFLICT'), `status filter: ${statuses}`);
  await row.getByTestId('station-link').click();
  await page.waitForFunction(() => window.location.hash.startsWith('#/station/'));
  await settled(page);

  const card = page.getByTestId('master-opening');
  assert.equal(await card.getAttribute('data-status'), 'COVERAGE_CONFLICT');
  const box = card.locator(`[data-testid="conflict"][data-question="${conflict.questionId}"]`);
  assert.equal(await box.getByTestId('conflict-value').count(), conflict.values.length, 'every value with who gave it');
  const observers = await box.getByTestId('conflict-value').evaluateAll((els) => els.map((e) => e.dataset.observer).sort());
  assert.deepEqual(observers, conflict.values.map((v) => v.observerId).sort());
  await shot(page, 'station');

  // Take the first observer's value, with a reason.
  await box.getByTestId('use-value').first().click();
  assert.equal(await page.getByTestId('override-question').inputValue(), conflict.questionId);
  await page.getByTestId('override-reason').fill('Checked by phone with the presiding officer');
  await page.getByTestId('override-submit').click();
  await page.getByTestId('notice').waitFor();
  await page.waitForSelector(`[data-testid="master-opening"] [data-testid="override"][data-question="${conflict.questionId}"]`);
  await page.waitForSelector(`[data-testid="master-opening"] [data-testid="conflict"][data-question="${conflict.questionId}"].settled`);

  const after = (await api.get(`/api/stations/${station.code}`)).json.masters.find((x) => x.formId === 'opening');
  const override = (after.overrides || []).find((o) => o.questionId === conflict.questionId);
  assert.ok(override, 'syncd holds the override');
  assert.equal(override.by, people.coordinator.name);
  assert.equal(override.reason, 'Checked by phone with the presiding officer');
  world.conflictStation = station.code;
  world.conflictQuestion = conflict.questionId;
});

test('a case moves through its workflow, each step with a reason', async () => {
  const page = world.coordinator;
  const a = world.deviceA;
  const first = await a.incident({ category: 'intimidation', severity: 'critical', text: 'Men photographing voters at the gate' });
  await a.incident({ category: 'intimidation', severity: 'high', text: 'They came back and threatened the queue', follows: first });
  await a.syncOk();
  world.caseId = first;

  await go(page, '#/incidents?status=open', 'page-incidents');
  const caseRow = page.locator(`[data-testid="case-row"][data-case="${first}"]`);
  await until(async () => {
    if (await caseRow.count()) return true;
    await go(page, `#/incidents?status=open&t=${Date.now()}`, 'page-incidents');
    return false;
  }, { what: 'the case in the list', intervalMs: 500 });
  // Sorted by the server: critical cases first.
  assert.equal(await page.locator('[data-testid="case-row"]').first().getAttribute('data-severity'), 'critical');
  await shot(page, 'incidents');

  await caseRow.getByTestId('case-link').click();
  await page.waitForFunction(() => window.location.hash.startsWith('#/case/'));
  await settled(page);
  assert.equal(await page.getByTestId('timeline-event').count(), 2, 'the report and its follow-up');
  assert.equal(await page.getByTestId('case-info').getAttribute('data-status'), 'CASE_NEW');

  for (const [action, status] of [['verified', 'CASE_VERIFIED'], ['escalated', 'CASE_ESCALATED'], ['resolved', 'CASE_RESOLVED']]) {
    await page.getByTestId(`case-action-${action}`).click();
    const form = page.locator('[data-testid="reason-form"]:visible');
    await form.getByTestId('reason-input').fill(`Step ${action}: confirmed with the observer`);
    await form.getByTestId('reason-confirm').click();
    await page.waitForSelector(`[data-testid="case-info"][data-status="${status}"]`);
    if (status === 'CASE_VERIFIED') await shot(page, 'case');
  }
  assert.equal(await page.getByTestId('case-actions').count(), 0, 'nothing after resolved');
  assert.equal(await page.getByTestId('history-row').count(), 3);
  assert.deepEqual(page.errors, []);
});

test('an admin revokes a device, and its next sync is refused', async () => {
  const page = await newPage();
  world.admin = page;
  await signIn(page, 'admin');
  const tablet = await d.device('obs-revoke').enroll();
  await tablet.fill('opening', { seed: 3 });
  await tablet.syncOk();

  await go(page, `#/devices?q=${tablet.deviceId}`, 'page-devices');
  const row = page.locator(`[data-testid="device-row"][data-device="${tablet.deviceId}"]`);
  await row.waitFor();
  assert.equal(await row.getByTestId('device-status').getAttribute('data-status'), 'active');
  await go(page, '#/devices', 'page-devices');
  await shot(page, 'devices');
  await go(page, `#/devices?q=${tablet.deviceId}`, 'page-devices');

  await row.getByTestId('revoke-button').click();
  await row.getByTestId('reason-input').fill('Tablet reported stolen');
  await row.getByTestId('reason-confirm').click();
  await page.waitForSelector(`[data-testid="device-row"][data-device="${tablet.deviceId}"] [data-testid="device-status"][data-status="revoked"]`);

  await tablet.fill('closing', { seed: 4 });
  const refused = await tablet.sync();
  assert.notEqual(refused.code, 0, `a revoked device synced:\n${refused.stdout}`);
  assert.match(refused.stdout + refused.stderr, /revoked/i);

  // syncd raises an alert for the attempt.
  await until(async () => {
    await go(page, `#/alerts?kind=DEVICE_REVOKED&t=${Date.now()}`, 'page-alerts');
    return (await page.locator(`[data-testid="alert-row"][data-device="${tablet.deviceId}"]`).count()) > 0;
  }, { what: 'a DEVICE_REVOKED alert', intervalMs: 500 });
  await go(page, '#/alerts', 'page-alerts');
  await shot(page, 'alerts');
  world.revokedDevice = tablet.deviceId;
  assert.deepEqual(page.errors, []);
});

test('a viewer sees every page but is refused every change, in the page and by the API', async () => {
  const page = await newPage();
  await signIn(page, 'viewer');
  assert.equal(await page.getByTestId('session-role').getAttribute('data-role'), 'ROLE_VIEWER');

  await go(page, `#/station/${world.conflictStation}`, 'page-station');
  await page.getByTestId('station-info').waitFor();
  assert.equal(await page.getByTestId('override-panel').count(), 0);
  assert.equal(await page.getByTestId('use-value').count(), 0);
  await go(page, `#/case/${world.caseId}`, 'page-case');
  await page.getByTestId('case-info').waitFor();
  assert.equal(await page.locator('[data-testid^="case-action-"]').count(), 0);
  await go(page, '#/devices', 'page-devices');
  await page.locator('[data-testid="device-row"]').first().waitFor();
  assert.equal(await page.getByTestId('revoke-button').count(), 0);

  // The server refuses whatever the page shows: the same requests made by hand.
  const session = await pageFetch(page, 'GET', '/api/session');
  assert.equal(session.status, 200);
  const csrf = session.json.csrfToken;
  const attempts = [
    ['/api/overrides', { stationCode: world.conflictStation, formId: 'opening', questionId: world.conflictQuestion, valueText: '1', reason: 'viewer tries' }],
    [`/api/cases/${world.caseId}/status`, { status: 'CASE_REJECTED', reason: 'viewer tries' }],
    [`/api/devices/${world.deviceA.deviceId}/revoke`, { reason: 'viewer tries' }],
  ];
  for (const [url, body] of attempts) {
    const r = await pageFetch(page, 'POST', url, { body, csrf });
    assert.equal(r.status, 403, `${url}: ${JSON.stringify(r.json)}`);
    assert.equal(r.json && r.json.code, 'FORBIDDEN', url);
  }
  // Without the CSRF header, even a permitted request is refused.
  const noCsrf = await pageFetch(page, 'POST', '/api/logout', { body: {} });
  assert.equal(noCsrf.status, 403);
  assert.equal(noCsrf.json && noCsrf.json.code, 'CSRF');
  const coord = await pageFetch(world.coordinator, 'POST', '/api/overrides', {
    body: { stationCode: world.conflictStation, formId: 'opening', questionId: world.conflictQuestion, valueText: '1', reason: 'no token' },
  });
  assert.equal(coord.status, 403);
  assert.equal(coord.json && coord.json.code, 'CSRF');

  // Nothing changed.
  const b = await d.login('admin');
  const detail = (await b.get(`/api/cases/${world.caseId}`)).json;
  assert.equal(detail.row.info.status, 'CASE_RESOLVED');
  const devices = (await b.get(`/api/devices?q=${world.deviceA.deviceId}`)).json.devices || [];
  assert.equal(devices[0].device.status, 'active');
  assert.deepEqual(page.errors, []);
});

test('the quarantine page lists held and released records, in English and Khmer', async () => {
  const page = world.coordinator;
  await go(page, '#/quarantine', 'page-quarantine');
  await page.getByTestId('quarantine-table').waitFor();
  await page.getByTestId('quarantine-help').waitFor();
  const api = await pageFetch(page, 'GET', '/api/quarantine');
  assert.equal(api.status, 200);
  const held = (api.json.records || []).length;
  assert.equal(await page.getByTestId('quarantine-row').count(), held);
  if (held === 0) assert.equal(await page.getByTestId('no-rows').count(), 1);
  await page.getByTestId('filter-released').selectOption('1');
  await page.waitForFunction(() => window.location.hash.includes('released=1'));
  await settled(page);
  await page.getByTestId('quarantine-table').waitFor();
  await page.getByTestId('lang-switch').selectOption('km');
  await page.waitForFunction(() => /[\u1780-\u17FF]/.test(document.querySelector('[data-testid="nav-quarantine"]').textContent));
  await page.getByTestId('lang-switch').selectOption('en');
  await page.waitForFunction(() => document.querySelector('[data-testid="nav-quarantine"]').textContent === 'Quarantine');
  await shot(page, 'quarantine');
  assert.deepEqual(page.errors, []);
});

test('Khmer labels, the export links, and logging out', async () => {
  const page = world.coordinator;
  await go(page, '#/overview', 'page-overview');
  await page.getByTestId('lang-switch').selectOption('km');
  await page.waitForFunction(() => /[\u1780-\u17FF]/.test(document.querySelector('[data-testid="nav-coverage"]').textContent));
  await page.getByTestId('overview-submissions').waitFor();
  // Form titles come from the form definitions' own labels.
  const title = await page.locator('[data-testid="form-coverage-opening"] h2').textContent();
  assert.match(title, /[\u1780-\u17FF]/);
  await shot(page, 'overview-km');
  await page.reload();
  await page.getByTestId('page-overview').waitFor();
  assert.equal(await page.getByTestId('lang-switch').inputValue(), 'km', 'the choice is remembered');
  await page.getByTestId('lang-switch').selectOption('en');
  await page.waitForFunction(() => document.querySelector('[data-testid="nav-coverage"]').textContent === 'Coverage');

  await go(page, `#/coverage?form=opening&level=station&province=Province%2001&status=conflict`, 'page-coverage');
  await go(page, '#/export', 'page-export');
  const href = await page.getByTestId('export-masters').getAttribute('href');
  const url = new URL(href, d.url);
  assert.equal(url.pathname, '/api/export/masters.csv');
  assert.equal(url.searchParams.get('form'), 'opening');
  assert.equal(url.searchParams.get('province'), 'Province 01');
  assert.equal(url.searchParams.get('status'), 'conflict');
  const csv = await page.evaluate(async (u) => {
    const r = await fetch(u);
    return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
  }, href);
  assert.equal(csv.status, 200);
  assert.match(csv.type, /text\/csv/);
  assert.ok(csv.text.split('\n').filter(Boolean).length >= 1, 'a header line at least');
  await shot(page, 'export');

  await page.getByTestId('logout').click();
  await page.getByTestId('login-form').waitFor();
  const r = await pageFetch(page, 'GET', '/api/session');
  assert.equal(r.status, 401);
  // Any page now asks for a sign-in.
  await page.goto(`${d.url}/dashboard/#/devices`);
  await page.getByTestId('login-form').waitFor();
  assert.deepEqual(page.errors, []);
});
