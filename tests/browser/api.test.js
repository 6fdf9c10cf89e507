// The dashboard's JSON API (docs/dashboard.md) against a real syncd: each endpoint's answer in
// protobuf's JSON mapping, and its refusals (401, 403 FORBIDDEN / CSRF, 404, 400, 429).
// Data comes from three tablets played by the observer command line.
//
//   node --test api.test.js      (env: VIGIL_SYNCD, VIGIL_OBSERVER, VIGIL_LOADGEN)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Deployment, guardChildren, people, until } from './harness.js';

let d;
let admin;
let coord;
let viewer;
const w = {}; // What the setup made.

before(async () => {
  d = new Deployment();
  guardChildren(d);
  await d.setUp({
    layout: { provinces: 2, districts: 2, communes: 1, perCommune: 2, secondEvery: 100 },
    extraObservers: [
      { id: 'obs-a', name: 'Sokha Chan', station: '01-01-01-0001' },
      { id: 'obs-b', name: 'Dara Kim', station: '01-01-01-0001' },
      { id: 'obs-c', name: 'Srey Mom', station: '02-01-01-0005' },
    ],
  });
  await d.start();
  const a = await d.device('obs-a').enroll();
  const b = await d.device('obs-b').enroll();
  const c = await d.device('obs-c').enroll();
  w.a = a;
  w.b = b;
  w.c = c;
  await a.fill('opening', { seed: 11 });
  await b.fill('opening', { seed: 12 });
  await c.fill('opening', { seed: 13 });
  w.incident = await a.incident({ category: 'violence', severity: 'critical', text: 'A fight at the gate' });
  await c.incident({ category: 'vote_buying', severity: 'low', text: 'Envelopes handed out nearby' });
  for (const t of [a, b, c]) await t.syncOk();
  admin = await d.login('admin');
  coord = await d.login('coordinator');
  viewer = await d.login('viewer');
});

after(async () => {
  if (d) await d.close();
});

function assertError(r, status, code) {
  assert.equal(r.status, status, `expected ${status} ${code}, got ${r.status} ${r.text.slice(0, 300)}`);
  assert.equal(r.json && r.json.code, code, r.text.slice(0, 300));
  assert.equal(typeof r.json.message, 'string');
}

describe('sessions', () => {
  test('login answers SessionInfo and a strict cookie', async () => {
    assert.equal(admin.session.name, people.admin.name);
    assert.equal(admin.session.role, 'ROLE_ADMIN');
    assert.equal(coord.session.role, 'ROLE_COORDINATOR');
    assert.equal(viewer.session.role, 'ROLE_VIEWER');
    assert.equal(admin.session.serverId, 'browser-test');
    assert.ok(admin.session.csrfToken && admin.session.csrfToken.length >= 16, 'a CSRF token');
    assert.notEqual(admin.session.csrfToken, coord.session.csrfToken);
    const cookie = admin.setCookie.find((c) => c.startsWith('vigil_session='));
    for (const attr of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/']) {
      assert.ok(cookie.split(';').map((s) => s.trim()).includes(attr), `${attr} in ${cookie}`);
    }
    assert.ok(!('password' in admin.session));
  });

  test('wrong or missing credentials are refused', async () => {
    assertError(await d.request('POST', '/api/login', { body: { name: people.admin.name, password: 'wrong-password' } }), 401, 'UNAUTHENTICATED');
    assertError(await d.request('POST', '/api/login', { body: { name: 'nobody-here', password: 'whatever-password' } }), 401, 'UNAUTHENTICATED');
    const bad = await d.request('POST', '/api/login', { body: '{not json' });
    assertError(bad, 400, 'INVALID');
  });

  test('GET /api/session needs the cookie', async () => {
    assertError(await d.request('GET', '/api/session'), 401, 'UNAUTHENTICATED');
    assertError(await d.request('GET', '/api/session', { headers: { Cookie: 'vigil_session=forged' } }), 401, 'UNAUTHENTICATED');
    const r = await coord.get('/api/session');
    assert.equal(r.status, 200);
    assert.equal(r.json.name, people.coordinator.name);
    assert.equal(r.json.csrfToken, coord.session.csrfToken);
  });

  test('every API read needs a session', async () => {
    for (const p of ['/api/overview', '/api/forms', '/api/coverage', '/api/stations/01-01-01-0001', '/api/conflicts', '/api/cases', '/api/devices', '/api/alerts', '/api/audit', '/api/export/masters.csv', '/api/events']) {
      assertError(await d.request('GET', p), 401, 'UNAUTHENTICATED');
    }
  });
});

describe('reads', () => {
  test('GET /api/overview', async () => {
    const r = await viewer.get('/api/overview');
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /application\/json/);
    const ov = r.json;
    assert.equal(ov.stations, String(d.stations.length), 'uint64 as a string');
    assert.equal(ov.submissions, '3');
    assert.equal(ov.incidents, '2');
    assert.equal(typeof ov.generatedAtMs, 'string');
    assert.ok(Number(ov.lastReportAtMs) > 0);
    assert.deepEqual(ov.forms.map((f) => f.formId).sort(), ['closing', 'opening', 'voting'], 'checklists only');
    const opening = ov.forms.find((f) => f.formId === 'opening');
    assert.equal(opening.titleEn, 'Opening checklist');
    assert.match(opening.titleKm, /[\u1780-\u17FF]/);
    const n = opening.nation;
    const sum = ['missing', 'partial', 'complete', 'conflict'].reduce((a, k) => a + Number(n[k] || 0), 0);
    assert.equal(sum, d.stations.length);
    assert.equal(Number(n.conflict || 0), 1, 'one station where two observers disagree');
    assert.deepEqual(opening.provinces.map((p) => p.area), ['Province 01', 'Province 02']);
    assert.equal(ov.openCasesTotal, 2);
    const bySeverity = Object.fromEntries((ov.openCases || []).map((s) => [s.severity, s.open || 0]));
    assert.equal(bySeverity.critical, 1);
    assert.equal(bySeverity.low, 1);
    assert.ok((ov.reportsPerMinute || []).length >= 1);
    const perMinute = ov.reportsPerMinute.reduce((a, m) => a + (m.submissions || 0) + (m.incidents || 0), 0);
    assert.equal(perMinute, 5);
    assert.equal(ov.activeDevices, 3);
  });

  test('GET /api/events streams Overview events', async () => {
    const got = await new Promise((resolve, reject) => {
      const u = new URL('/api/events', d.url);
      import('node:https').then(({ default: https }) => {
        const req = https.get(u, { ca: d.ca, headers: { Cookie: viewer.cookie, Accept: 'text/event-stream' } }, (res) => {
          let buf = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => {
            buf += chunk;
            const m = /event: overview\ndata: (.*)\n\n/.exec(buf);
            if (m) {
              req.destroy();
              resolve({ status: res.statusCode, type: res.headers['content-type'], data: JSON.parse(m[1]) });
            }
          });
        });
        req.on('error', (e) => {
          if (e.code !== 'ECONNRESET') reject(e);
        });
        setTimeout(() => {
          req.destroy();
          reject(new Error('no overview event within 20 s'));
        }, 20000).unref();
      });
    });
    assert.equal(got.status, 200);
    assert.match(got.type, /text\/event-stream/);
    assert.equal(got.data.stations, String(d.stations.length));
  });

  test('GET /api/forms', async () => {
    const r = await viewer.get('/api/forms');
    assert.equal(r.status, 200);
    const ids = r.json.forms.map((f) => f.formId).sort();
    assert.deepEqual(ids, ['closing', 'incident', 'opening', 'voting']);
    const opening = r.json.forms.find((f) => f.formId === 'opening');
    assert.equal(opening.kind, 'CHECKLIST');
    assert.equal(opening.title.en, 'Opening checklist');
    assert.ok(opening.questions.find((q) => q.id === 'q01_arrival_time').label.km);
  });

  test('GET /api/coverage drills down and pages', async () => {
    const top = (await viewer.get('/api/coverage?form=opening')).json;
    assert.equal(top.level, 'province');
    assert.equal(top.formId, 'opening');
    assert.deepEqual(top.areas.map((a) => a.area), ['Province 01', 'Province 02']);
    assert.equal(top.parent.stations, String(d.stations.length));
    assert.equal(top.total, 2);

    const districts = (await viewer.get('/api/coverage?form=opening&level=district&province=Province%2001')).json;
    assert.deepEqual(districts.areas.map((a) => a.area), ['District 01-01', 'District 01-02']);
    const communes = (await viewer.get('/api/coverage?form=opening&level=commune&province=Province%2001&district=District%2001-01')).json;
    assert.deepEqual(communes.areas.map((a) => a.area), ['Commune 01-01-01']);

    const stations = (await viewer.get('/api/coverage?form=opening&level=station&province=Province%2001&district=District%2001-01&commune=Commune%2001-01-01')).json;
    assert.deepEqual(stations.stations.map((s) => s.stationCode), ['01-01-01-0001', '01-01-01-0002']);
    const s1 = stations.stations[0];
    assert.equal(s1.status, 'COVERAGE_CONFLICT');
    assert.equal(s1.contributors, 2);
    assert.ok(s1.conflicts >= 1);
    assert.equal(stations.stations[1].status || 'COVERAGE_MISSING', 'COVERAGE_MISSING');

    const conflicts = (await viewer.get('/api/coverage?form=opening&level=station&status=conflict')).json;
    assert.deepEqual(conflicts.stations.map((s) => s.stationCode), ['01-01-01-0001']);
    assert.equal(conflicts.total, 1);

    const paged = (await viewer.get('/api/coverage?form=opening&level=station&page=2&page_size=3')).json;
    assert.equal(paged.total, d.stations.length);
    assert.equal(paged.page, 2);
    assert.equal(paged.pageSize, 3);
    assert.equal(paged.stations.length, 3);
    assert.equal(paged.stations[0].stationCode, d.stations[3].code);

    const q = (await viewer.get('/api/coverage?form=opening&level=station&q=02-01')).json;
    assert.ok(q.stations.length > 0 && q.stations.every((s) => s.stationCode.startsWith('02-01')));

    assertError(await viewer.get('/api/coverage?form=opening&level=district'), 400, 'INVALID');
    assertError(await viewer.get('/api/coverage?form=opening&level=galaxy'), 400, 'INVALID');
    assertError(await viewer.get('/api/coverage?form=opening&level=station&status=bogus'), 400, 'INVALID');
    // page_size is at most 200: more is refused or cut to 200.
    const big = await viewer.get('/api/coverage?form=opening&level=station&page_size=5000');
    if (big.status === 200) assert.ok(big.json.pageSize <= 200, `pageSize ${big.json.pageSize}`);
    else assertError(big, 400, 'INVALID');
  });

  test('GET /api/stations/{code}', async () => {
    const r = await viewer.get('/api/stations/01-01-01-0001');
    assert.equal(r.status, 200);
    const s = r.json;
    assert.equal(s.station.code, '01-01-01-0001');
    assert.equal(s.station.province, 'Province 01');
    assert.ok(s.observerIds.includes('obs-a') && s.observerIds.includes('obs-b'));
    const m = s.masters.find((x) => x.formId === 'opening');
    assert.equal(m.status, 'COVERAGE_CONFLICT');
    assert.ok(m.conflicts.length >= 1);
    const c = m.conflicts[0];
    assert.deepEqual(c.values.map((v) => v.observerId).sort(), ['obs-a', 'obs-b']);
    assert.ok(c.values.every((v) => v.value && typeof v.text === 'string' && v.deviceId && v.submissionId));
    assert.equal(s.submissions.length, 2);
    assert.ok(s.submissions.every((x) => x.latest === true && x.submission.formId === 'opening' && x.deviceId));
    assert.equal(s.cases.length, 1);
    assert.equal(s.cases[0].caseId, w.incident);
    w.conflictQuestion = c.questionId;

    assertError(await viewer.get('/api/stations/99-99-99-9999'), 404, 'NOT_FOUND');
  });

  test('GET /api/conflicts', async () => {
    const r = await viewer.get('/api/conflicts');
    assert.equal(r.status, 200);
    assert.ok(r.json.conflicts.length >= 1);
    assert.ok(r.json.conflicts.every((c) => c.stationCode === '01-01-01-0001' && c.formId === 'opening'));
  });

  test('GET /api/cases filters, sorts and pages', async () => {
    const all = (await viewer.get('/api/cases')).json;
    assert.equal(all.total, 2);
    assert.equal(all.cases[0].info.severity, 'critical', 'critical first');
    assert.equal(all.cases[0].info.caseId, w.incident);
    assert.equal(all.cases[0].stationName, 'Polling station 1');
    assert.equal(all.cases[0].province, 'Province 01');
    assert.deepEqual([...all.categories].sort(), ['violence', 'vote_buying']);
    assert.deepEqual([...all.provinces].sort(), ['Province 01', 'Province 02']);
    assert.ok(!all.cases[0].info.timeline || all.cases[0].info.timeline.length === 0, 'no timeline in lists');

    const low = (await viewer.get('/api/cases?severity=low')).json;
    assert.deepEqual(low.cases.map((c) => c.info.category), ['vote_buying']);
    const p2 = (await viewer.get('/api/cases?province=Province%2002')).json;
    assert.deepEqual(p2.cases.map((c) => c.info.category), ['vote_buying']);
    const cat = (await viewer.get('/api/cases?category=violence&status=open')).json;
    assert.equal(cat.total, 1);
    const paged = (await viewer.get('/api/cases?page=2&page_size=1')).json;
    assert.equal(paged.cases.length, 1);
    assert.equal(paged.cases[0].info.severity, 'low');
    assertError(await viewer.get('/api/cases?status=bogus'), 400, 'INVALID');
  });

  test('GET /api/cases/{id}', async () => {
    const r = await viewer.get(`/api/cases/${w.incident}`);
    assert.equal(r.status, 200);
    const c = r.json.row.info;
    assert.equal(c.caseId, w.incident);
    assert.equal(c.status || 'CASE_NEW', 'CASE_NEW');
    assert.equal(c.timeline.length, 1);
    assert.equal(c.timeline[0].narrative, 'A fight at the gate');
    assert.equal(c.timeline[0].observerId, 'obs-a');
    assertError(await viewer.get('/api/cases/00000000-0000-4000-8000-000000000000'), 404, 'NOT_FOUND');
  });

  test('GET /api/devices', async () => {
    const r = await viewer.get('/api/devices');
    assert.equal(r.status, 200);
    assert.equal(r.json.total, 3);
    const a = r.json.devices.find((x) => x.device.deviceId === w.a.deviceId);
    assert.equal(a.device.observerId, 'obs-a');
    assert.equal(a.device.status, 'active');
    assert.equal(a.observerName, 'Sokha Chan');
    assert.deepEqual(a.stationCodes, ['01-01-01-0001']);
    assert.ok(Number(a.device.lastSeenMs) > 0);
    const q = (await viewer.get('/api/devices?q=obs-c')).json;
    assert.deepEqual(q.devices.map((x) => x.device.observerId), ['obs-c']);
    const byStation = (await viewer.get('/api/devices?q=01-01-01-0001')).json;
    assert.deepEqual(byStation.devices.map((x) => x.device.observerId).sort(), ['obs-a', 'obs-b']);
    const revoked = (await viewer.get('/api/devices?status=revoked')).json;
    assert.equal(revoked.total || 0, 0);
  });

  test('GET /api/alerts records failed logins', async () => {
    await until(async () => ((await viewer.get('/api/alerts?kind=LOGIN_FAILED')).json.total || 0) >= 1, { what: 'a LOGIN_FAILED alert' });
    const r = await viewer.get('/api/alerts?kind=LOGIN_FAILED');
    assert.equal(r.status, 200);
    assert.ok(r.json.total >= 1);
    assert.ok(r.json.alerts.every((x) => x.kind === 'LOGIN_FAILED'));
    assert.ok(!JSON.stringify(r.json).includes('wrong-password'), 'no password in alerts');
  });

  test('static files carry the Content-Security-Policy', async () => {
    const page = await d.request('GET', '/dashboard/');
    assert.equal(page.status, 200);
    assert.match(page.headers['content-type'], /text\/html/);
    const csp = page.headers['content-security-policy'] || '';
    for (const part of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"]) {
      assert.ok(csp.includes(part), `${part} in ${csp}`);
    }
    assert.ok(page.text.includes('app.js'));
    const js = await d.request('GET', '/dashboard/app.js');
    assert.equal(js.status, 200);
    assert.match(js.headers['content-type'], /javascript/);
    const font = await d.request('GET', '/dashboard/fonts/khmer.ttf');
    assert.equal(font.status, 200);
    assert.match(font.headers['content-type'], /font/);
    assert.equal((await d.request('GET', '/dashboard/no-such-file.js')).status, 404);
    assert.notEqual((await d.request('GET', '/dashboard/..%2f..%2fetc%2fpasswd')).status, 200);
    assertError(await viewer.get('/api/no-such-endpoint'), 404, 'NOT_FOUND');
  });
});

describe('changes', () => {
  test('CSRF: a POST without the token or with another is refused', async () => {
    const body = { stationCode: '01-01-01-0001', formId: 'opening', questionId: w.conflictQuestion, valueText: '1', reason: 'x' };
    assertError(await coord.post('/api/overrides', body, { csrf: '' }), 403, 'CSRF');
    assertError(await coord.post('/api/overrides', body, { csrf: admin.session.csrfToken }), 403, 'CSRF');
    assertError(await coord.post('/api/logout', {}, { csrf: '' }), 403, 'CSRF');
  });

  test('a viewer may change nothing', async () => {
    assertError(
      await viewer.post('/api/overrides', { stationCode: '01-01-01-0001', formId: 'opening', questionId: w.conflictQuestion, valueText: '1', reason: 'x' }),
      403,
      'FORBIDDEN',
    );
    assertError(await viewer.post(`/api/cases/${w.incident}/status`, { status: 'CASE_VERIFIED', reason: 'x' }), 403, 'FORBIDDEN');
    assertError(await viewer.post(`/api/devices/${w.c.deviceId}/revoke`, { reason: 'x' }), 403, 'FORBIDDEN');
    assertError(await coord.post(`/api/devices/${w.c.deviceId}/revoke`, { reason: 'x' }), 403, 'FORBIDDEN');
  });

  test('POST /api/overrides sets and removes an override', async () => {
    const opening = (await coord.get('/api/forms')).json.forms.find((f) => f.formId === 'opening');
    const question = opening.questions.find((q) => q.id === w.conflictQuestion);
    const detail = (await coord.get('/api/stations/01-01-01-0001')).json;
    const conflict = detail.masters.find((m) => m.formId === 'opening').conflicts.find((c) => c.questionId === w.conflictQuestion);
    const value = conflict.values[0];
    const text = 'choices' in value.value ? value.value.choices.ids.join(' ') : 'boolean' in value.value ? (value.value.boolean ? 'yes' : 'no') : String(Object.values(value.value)[0]);

    assertError(await coord.post('/api/overrides', { stationCode: '01-01-01-0001', formId: 'opening', questionId: question.id, valueText: text }), 400, 'INVALID');
    const noQuestion = await coord.post('/api/overrides', { stationCode: '01-01-01-0001', formId: 'opening', questionId: 'no_such_question', valueText: '1', reason: 'x' });
    if (noQuestion.status === 404) assertError(noQuestion, 404, 'NOT_FOUND');
    else assertError(noQuestion, 400, 'INVALID');
    const unknown = await coord.post('/api/overrides', { stationCode: '99-99-99-9999', formId: 'opening', questionId: question.id, valueText: text, reason: 'x' });
    assert.ok([400, 404].includes(unknown.status), `unknown station: ${unknown.status}`);
    assertError(await coord.post('/api/overrides', '{"stationCode":', {}), 400, 'INVALID');

    const r = await coord.post('/api/overrides', { stationCode: '01-01-01-0001', formId: 'opening', questionId: question.id, valueText: text, reason: 'Confirmed by phone' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.stationCode, '01-01-01-0001');
    assert.equal(r.json.formId, 'opening');
    const o = r.json.overrides.find((x) => x.questionId === question.id);
    assert.equal(o.by, people.coordinator.name);
    assert.equal(o.reason, 'Confirmed by phone');
    assert.ok(r.json.conflicts.find((c) => c.questionId === question.id).overridden);
    assert.ok(r.json.answers.find((a) => a.questionId === question.id));

    const removed = await coord.post('/api/overrides', { stationCode: '01-01-01-0001', formId: 'opening', questionId: question.id, remove: true, reason: 'Wrong call' });
    assert.equal(removed.status, 200, removed.text);
    assert.ok(!(removed.json.overrides || []).some((x) => x.questionId === question.id));
    assert.equal(removed.json.status, 'COVERAGE_CONFLICT');
  });

  test('POST /api/cases/{id}/status follows the workflow', async () => {
    assertError(await coord.post(`/api/cases/${w.incident}/status`, { status: 'CASE_VERIFIED' }), 400, 'INVALID');
    const skip = await coord.post(`/api/cases/${w.incident}/status`, { status: 'CASE_RESOLVED', reason: 'too fast' });
    assert.ok([400, 409].includes(skip.status), `skipping a step: ${skip.status} ${skip.text}`);
    const r = await coord.post(`/api/cases/${w.incident}/status`, { status: 'CASE_VERIFIED', reason: 'Two witnesses' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.row.info.status, 'CASE_VERIFIED');
    const h = r.json.history.find((x) => x.action === 'case.status');
    assert.equal(h.actor, people.coordinator.name);
    assert.equal(h.reason, 'Two witnesses');
    const again = await coord.post(`/api/cases/${w.incident}/status`, { status: 'CASE_VERIFIED', reason: 'again' });
    assert.ok([400, 409].includes(again.status), `same status again: ${again.status}`);
    const rejected = await admin.post(`/api/cases/${w.incident}/status`, { status: 'CASE_REJECTED', reason: 'Duplicate of another report' });
    assert.equal(rejected.status, 200, rejected.text);
    assert.equal(rejected.json.row.info.status, 'CASE_REJECTED');
    const open = (await viewer.get('/api/cases?status=open')).json;
    assert.ok(!(open.cases || []).some((c) => c.info.caseId === w.incident), 'rejected is not open');
    assertError(await coord.post('/api/cases/00000000-0000-4000-8000-000000000000/status', { status: 'CASE_VERIFIED', reason: 'x' }), 404, 'NOT_FOUND');
  });

  test('POST /api/devices/{id}/revoke (admin), then the device is refused', async () => {
    assertError(await admin.post(`/api/devices/${w.c.deviceId}/revoke`, {}), 400, 'INVALID');
    const r = await admin.post(`/api/devices/${w.c.deviceId}/revoke`, { reason: 'Tablet stolen' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.device.status, 'revoked');
    assert.equal(r.json.device.revokedReason, 'Tablet stolen');
    assertError(await admin.post('/api/devices/dnosuchdevice/revoke', { reason: 'x' }), 404, 'NOT_FOUND');
    await w.c.incident({ category: 'violence', severity: 'high', text: 'after revocation' });
    const sync = await w.c.sync();
    assert.notEqual(sync.code, 0);
    assert.match(sync.stdout + sync.stderr, /revoked/i);
    const devices = (await viewer.get('/api/devices?status=revoked')).json;
    assert.deepEqual(devices.devices.map((x) => x.device.deviceId), [w.c.deviceId]);
    await until(async () => ((await viewer.get('/api/alerts?kind=DEVICE_REVOKED')).json.total || 0) >= 1, { what: 'a DEVICE_REVOKED alert' });
  });

  test('GET /api/audit lists every change with who and why', async () => {
    const r = await viewer.get('/api/audit');
    assert.equal(r.status, 200);
    const actions = r.json.entries.map((e) => e.action);
    for (const a of ['override.set', 'override.remove', 'case.status']) assert.ok(actions.includes(a), `${a} in ${actions}`);
    const set = r.json.entries.find((e) => e.action === 'override.set');
    assert.equal(set.actor, people.coordinator.name);
    assert.equal(set.reason, 'Confirmed by phone');
    assert.equal(set.target, `01-01-01-0001/opening/${w.conflictQuestion}`);
  });

  test('CSV exports carry their filters', async () => {
    const masters = await viewer.get('/api/export/masters.csv?form=opening&province=Province%2001');
    assert.equal(masters.status, 200);
    assert.match(masters.headers['content-type'], /text\/csv/);
    assert.ok(masters.text.includes('01-01-01-0001'));
    assert.ok(!masters.text.includes('02-01-01-0005'), 'the province filter holds');
    const subs = await viewer.get('/api/export/submissions.csv?form=opening');
    assert.equal(subs.status, 200);
    assert.equal(subs.text.trim().split('\n').length, 1 + 3, 'a header and a line per submission');
    const cases = await viewer.get('/api/export/cases.csv?severity=low');
    assert.equal(cases.status, 200);
    assert.ok(cases.text.includes('vote_buying'));
    assert.ok(!cases.text.includes('A fight at the gate'));
  });

  test('logout ends the session', async () => {
    const session = await d.login('viewer');
    const r = await session.post('/api/logout', {});
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, {});
    assertError(await session.get('/api/session'), 401, 'UNAUTHENTICATED');
    assertError(await session.get('/api/overview'), 401, 'UNAUTHENTICATED');
  });

  // Last: it slows down logins as mallory from this address (docs/dashboard.md "Access").
  test('repeated failed logins are rate-limited', async () => {
    let limited = null;
    for (let i = 0; i < 8 && !limited; i++) {
      const r = await d.request('POST', '/api/login', { body: { name: 'mallory', password: `guess-number-${i}` } });
      if (r.status === 429) limited = r;
      else assertError(r, 401, 'UNAUTHENTICATED');
    }
    assert.ok(limited, 'a 429 within 8 attempts');
    assert.equal(limited.json.code, 'RATE_LIMITED');
    assert.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After');
    // "Failures and limits are alerts" (docs/dashboard.md).
    // Alerts are written by syncd's writer after the answer (best effort): wait for it, bounded.
    await until(async () => ((await viewer.get('/api/alerts?kind=LOGIN_RATE_LIMITED')).json.total || 0) >= 1, { what: 'a LOGIN_RATE_LIMITED alert' });
    const alerts = (await viewer.get('/api/alerts?kind=LOGIN_RATE_LIMITED')).json;
    assert.ok((alerts.total || 0) >= 1, `LOGIN_RATE_LIMITED alert: ${JSON.stringify((await viewer.get('/api/alerts')).json)}`);
  });
});
