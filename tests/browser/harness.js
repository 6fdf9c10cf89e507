// A real deployment for the dashboard's tests: syncd with its own data dir in a temporary
// folder, stations, forms, observers, coordinators and enrollment codes set up through
// `syncd admin`, syncd serving HTTPS on 127.0.0.1 at a port the system picks, devices played
// by `observer` and `vigil-loadgen`. Everything it starts is stopped by close(), also when a
// test fails; nothing is left behind but screenshots.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../..');

function firstExisting(...candidates) {
  return candidates.find((p) => fs.existsSync(p)) || candidates[0];
}

export const bin = {
  syncd: process.env.VIGIL_SYNCD || firstExisting(path.join(repoRoot, 'build/syncd/syncd')),
  loadgen: process.env.VIGIL_LOADGEN || path.join(repoRoot, 'build/client-core/vigil-loadgen'),
  observer: process.env.VIGIL_OBSERVER || path.join(repoRoot, 'build/client-core/observer'),
  chromium: process.env.VIGIL_CHROMIUM || '/usr/bin/chromium',
};

export const screenshotDir = path.resolve(
  process.env.VIGIL_SCREENSHOT_DIR || path.join(repoRoot, 'build/screenshots'),
);

export const PIN = '246810';

// Coordinators every deployment gets: one per role.
export const people = {
  admin: { name: 'ada', password: 'admin-password-1', role: 'admin' },
  coordinator: { name: 'chan', password: 'coordinator-pw-1', role: 'coordinator' },
  viewer: { name: 'vuthy', password: 'viewer-password-1', role: 'viewer' },
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Runs a program to its end; resolves {code, stdout, stderr}. Bounded by `timeoutMs`.
export function run(file, args, { input, timeoutMs = 60000, cwd, env } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(file)} ${args.join(' ')}: no end after ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

async function runOk(file, args, opts) {
  const r = await run(file, args, opts);
  if (r.code !== 0) {
    throw new Error(`${path.basename(file)} ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  }
  return r;
}

// Waits until `fn()` returns a truthy value (or a promise of one); bounded.
export async function until(fn, { timeoutMs = 30000, intervalMs = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

// A synthetic country: `provinces` × `districts` × `communes` × `perCommune` stations coded
// PP-DD-CC-SSSS, one observer per station and a second one at every `secondEvery`-th.
export function country({ provinces = 3, districts = 2, communes = 2, perCommune = 3, secondEvery = 2 } = {}) {
  const stations = [];
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  let i = 0;
  for (let p = 1; p <= provinces; p++) {
    for (let d = 1; d <= districts; d++) {
      for (let c = 1; c <= communes; c++) {
        for (let s = 1; s <= perCommune; s++) {
          i++;
          stations.push({
            code: `${pad(p)}-${pad(d)}-${pad(c)}-${pad(i, 4)}`,
            name: `Polling station ${i}`,
            province: `Province ${pad(p)}`,
            district: `District ${pad(p)}-${pad(d)}`,
            commune: `Commune ${pad(p)}-${pad(d)}-${pad(c)}`,
            registeredVoters: 400 + ((i * 37) % 350),
          });
        }
      }
    }
  }
  const observers = [];
  stations.forEach((st, k) => {
    observers.push({ id: `obs-${pad(observers.length + 1, 4)}`, name: `Observer ${observers.length + 1}`, station: st.code });
    if (k % secondEvery === 0) {
      observers.push({ id: `obs-${pad(observers.length + 1, 4)}`, name: `Observer ${observers.length + 1}`, station: st.code });
    }
  });
  return { stations, observers };
}

export class Deployment {
  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-browser-'));
    this.data = path.join(this.dir, 'syncd');
    this.children = new Set();
    this.server = null;
    this.url = '';
    this.payloads = new Map();
    this.stations = [];
    this.observers = [];
  }

  // Sets up the data dir: stations, forms, observers (plus `extraObservers`), coordinators.
  async setUp({ layout, extraObservers = [] } = {}) {
    for (const [name, p] of Object.entries(bin)) {
      if (!fs.existsSync(p)) throw new Error(`${name} not found at ${p} (set VIGIL_${name.toUpperCase()})`);
    }
    const { stations, observers } = country(layout);
    this.stations = stations;
    this.observers = [...observers, ...extraObservers];
    await runOk(bin.syncd, ['init', '--data', this.data, '--server-id', 'browser-test']);
    const stationsCsv = path.join(this.dir, 'stations.csv');
    fs.writeFileSync(
      stationsCsv,
      'code,name,province,district,commune,registered_voters\n' +
        stations.map((s) => [s.code, s.name, s.province, s.district, s.commune, s.registeredVoters].join(',')).join('\n') +
        '\n',
    );
    const observersCsv = path.join(this.dir, 'observers.csv');
    fs.writeFileSync(
      observersCsv,
      'id,name,phone,stations\n' + this.observers.map((o) => `${o.id},${o.name},,${o.station}`).join('\n') + '\n',
    );
    await this.admin('stations', 'import', stationsCsv);
    const formsDir = path.join(repoRoot, 'syncd/demo/forms');
    for (const f of ['opening', 'voting', 'closing', 'incident']) {
      await this.admin('forms', 'publish', path.join(formsDir, `${f}.json`));
    }
    await this.admin('observers', 'import', observersCsv);
    for (const p of Object.values(people)) {
      await runOk(bin.syncd, ['admin', '--data', this.data, 'coordinators', 'add', p.name, '--role', p.role, '--password-stdin'], {
        input: `${p.password}\n`,
      });
    }
  }

  admin(...args) {
    return runOk(bin.syncd, ['admin', '--data', this.data, ...args]);
  }

  station(code) {
    return this.stations.find((s) => s.code === code);
  }

  // Starts `syncd serve` on 127.0.0.1, a free port; resolves once it wrote its URL.
  async start(extraArgs = []) {
    const ready = path.join(this.dir, 'ready');
    const log = fs.openSync(path.join(this.dir, 'syncd.log'), 'a');
    const args = ['serve', '--data', this.data, '--listen', '127.0.0.1:0', '--ready-file', ready, '--quiet', ...extraArgs];
    if (process.env.VIGIL_DASHBOARD_DIR) args.push('--dashboard-dir', process.env.VIGIL_DASHBOARD_DIR);
    const child = spawn(bin.syncd, args, { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.server = child;
    this.children.add(child);
    let exited = null;
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      this.children.delete(child);
    });
    await until(() => {
      if (exited) throw new Error(`syncd exited (${JSON.stringify(exited)}):\n${this.log()}`);
      return fs.existsSync(ready) && fs.readFileSync(ready, 'utf8').trim();
    }, { timeoutMs: 20000, what: 'syncd to start' });
    this.url = fs.readFileSync(ready, 'utf8').trim().replace(/\/$/, '');
    this.ca = fs.readFileSync(path.join(this.data, 'tls/cert.pem'));
    const codes = await this.admin('enroll-code', '--all', '--server-url', this.url, '--expires', '2h');
    for (const line of codes.stdout.split('\n')) {
      const [observer, , payload] = line.trim().split(/\s+/);
      if (observer && payload) this.payloads.set(observer, payload);
    }
    return this.url;
  }

  log() {
    try {
      return fs.readFileSync(path.join(this.dir, 'syncd.log'), 'utf8').slice(-4000);
    } catch {
      return '';
    }
  }

  // Plays `observerIds` through an accelerated day with vigil-loadgen; resolves with its
  // output when it ends. The process is stopped by close() if the test ends first.
  loadgen(observerIds, { daySeconds = 6, conflictShare = 0, incidentOneIn = 0, seed = 7, threads = 4, name = 'loadgen' } = {}) {
    const payloads = path.join(this.dir, `${name}-payloads.txt`);
    fs.writeFileSync(
      payloads,
      observerIds
        .map((id) => `${id} ${this.observers.find((o) => o.id === id).station} ${this.payloads.get(id)}`)
        .join('\n') + '\n',
    );
    const args = ['--payloads', payloads, '--work', path.join(this.dir, name), '--day-seconds', String(daySeconds), '--threads', String(threads), '--seed', String(seed)];
    if (conflictShare) args.push('--conflict-share', String(conflictShare));
    if (incidentOneIn) args.push('--incident-one-in', String(incidentOneIn));
    return new Promise((resolve, reject) => {
      const child = spawn(bin.loadgen, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      this.children.add(child);
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('error', reject);
      child.on('close', (code) => {
        this.children.delete(child);
        resolve({ code, output: out });
      });
    });
  }

  // One tablet played by the `observer` command line.
  device(observerId) {
    return new Device(this, observerId);
  }

  // HTTPS to syncd, verifying its self-signed certificate.
  request(method, urlPath, { body, headers = {} } = {}) {
    return new Promise((resolve, reject) => {
      const u = new URL(urlPath, this.url);
      const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const req = https.request(
        u,
        {
          method,
          ca: this.ca,
          headers: {
            ...(data !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } : {}),
            ...headers,
          },
          timeout: 15000,
        },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json = null;
            try {
              json = JSON.parse(text);
            } catch {
              json = null;
            }
            resolve({ status: res.statusCode, headers: res.headers, text, json });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: timeout`)));
      req.on('error', reject);
      if (data !== undefined) req.write(data);
      req.end();
    });
  }

  // Signs in through the API; returns a client that sends the cookie (and the CSRF token).
  async login(who) {
    const person = typeof who === 'string' ? people[who] : who;
    const r = await this.request('POST', '/api/login', { body: { name: person.name, password: person.password } });
    if (r.status !== 200) throw new Error(`login ${person.name}: ${r.status} ${r.text}`);
    const cookies = [].concat(r.headers['set-cookie'] || []);
    const session = cookies.map((c) => c.split(';')[0]).find((c) => c.startsWith('vigil_session='));
    if (!session) throw new Error(`login ${person.name}: no vigil_session cookie in ${JSON.stringify(cookies)}`);
    return new ApiClient(this, session, r.json, cookies);
  }

  async close() {
    for (const child of [...this.children]) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    }
    const deadline = Date.now() + 5000;
    while ([...this.children].some((c) => c.exitCode === null && c.signalCode === null) && Date.now() < deadline) {
      await sleep(50);
    }
    for (const child of [...this.children]) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    if (!process.env.VIGIL_KEEP_TMP) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export class ApiClient {
  constructor(deployment, cookie, session, setCookie) {
    this.d = deployment;
    this.cookie = cookie;
    this.session = session;
    this.setCookie = setCookie;
  }

  get(urlPath) {
    return this.d.request('GET', urlPath, { headers: { Cookie: this.cookie } });
  }

  post(urlPath, body, { csrf = this.session.csrfToken } = {}) {
    const headers = { Cookie: this.cookie };
    if (csrf) headers['X-CSRF-Token'] = csrf;
    return this.d.request('POST', urlPath, { body: body ?? {}, headers });
  }
}

class Device {
  constructor(deployment, observerId) {
    this.d = deployment;
    this.observerId = observerId;
    this.home = path.join(deployment.dir, `device-${observerId}`);
    this.station = deployment.observers.find((o) => o.id === observerId).station;
    this.deviceId = '';
  }

  cli(args, opts) {
    return run(bin.observer, ['--home', this.home, ...args], { input: `${PIN}\n`, ...opts });
  }

  async enroll() {
    const init = await this.cli(['init', '--pin-stdin']);
    if (init.code !== 0) throw new Error(`observer init: ${init.stderr}`);
    const r = await this.cli(['enroll', '--pin-stdin', '--payload', this.d.payloads.get(this.observerId)]);
    if (r.code !== 0) throw new Error(`observer enroll: ${r.stdout}${r.stderr}`);
    const m = /device (\S+)/.exec(r.stdout);
    this.deviceId = m ? m[1] : '';
    return this;
  }

  // Fills and finalizes a checklist: the given answers ({questionId: value}), or the
  // deterministic example answers of `seed`.
  async fill(form, { seed = 1, answers } = {}) {
    const args = ['fill', form, '--station', this.station, '--pin-stdin'];
    if (answers) {
      const file = path.join(this.d.dir, `answers-${this.observerId}-${form}-${Date.now()}.json`);
      fs.writeFileSync(file, JSON.stringify(answers));
      args.push('--answers', file);
    } else {
      args.push('--example', '--seed', String(seed));
    }
    const r = await this.cli(args);
    if (r.code !== 0) throw new Error(`observer fill: ${r.stdout}${r.stderr}`);
    return r.stdout.trim();
  }

  async incident({ category = 'intimidation', severity = 'high', text = 'Men photographing voters at the gate', follows } = {}) {
    const args = ['incident', 'report', '--pin-stdin', '--station', this.station, '--category', category, '--severity', severity, '--text', text];
    if (follows) args.push('--follows', follows);
    const r = await this.cli(args);
    if (r.code !== 0) throw new Error(`observer incident: ${r.stdout}${r.stderr}`);
    return r.stdout.trim();
  }

  // Resolves {code, stdout, stderr}; a refused sync is not an exception.
  sync() {
    return this.cli(['sync', '--pin-stdin'], { timeoutMs: 60000 });
  }

  async syncOk() {
    const r = await this.sync();
    if (r.code !== 0) throw new Error(`observer sync: ${r.stdout}${r.stderr}`);
    return r;
  }
}

// Stops whatever the deployment started when the test process ends in any way (a failed
// assertion, a signal, its own deadline), so that no syncd or loadgen outlives the test.
export function guardChildren(deployment) {
  const killAll = () => {
    for (const c of deployment.children) {
      try {
        c.kill('SIGKILL');
      } catch {
        // Already gone.
      }
    }
  };
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  }
  const deadlineMs = Number(process.env.VIGIL_TEST_DEADLINE_S || 240) * 1000;
  setTimeout(() => {
    console.error(`test deadline of ${deadlineMs} ms passed: stopping syncd and the devices`);
    killAll();
    process.exit(1);
  }, deadlineMs).unref();
}
