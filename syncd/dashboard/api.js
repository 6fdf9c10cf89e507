// The JSON API of syncd under /api/ (docs/dashboard.md). Answers are protobuf's JSON mapping:
// lowerCamelCase fields, enums by name, 64-bit integers as strings, and fields holding their
// default value left out — so readers below treat a missing field as 0, "" or [].

let csrfToken = '';
let onUnauthenticated = () => {};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || '';
    this.retryAfter = 0;
  }
}

// The session's CSRF token (from login or GET /api/session), sent with every POST.
export function setCsrfToken(token) {
  csrfToken = token || '';
}

// Called on every 401 answer except the login's own.
export function setUnauthenticatedHandler(fn) {
  onUnauthenticated = fn;
}

async function request(method, path, body, { csrf = true, handle401 = true } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrf && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, 'NETWORK', e && e.message);
  }
  let data = null;
  const text = await response.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const err = new ApiError(
      response.status,
      data && data.code,
      (data && data.message) || response.statusText,
    );
    err.retryAfter = Number(response.headers.get('Retry-After')) || 0;
    if (response.status === 401 && handle401) onUnauthenticated(err);
    throw err;
  }
  return data || {};
}

// A query string from an object, leaving out empty values.
// Spaces travel as %20, not '+': area names have spaces ("Province 01").
export function query(params) {
  const parts = [];
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') {
      parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
    }
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

const enc = encodeURIComponent;

export const api = {
  login: (name, password) =>
    request('POST', '/api/login', { name, password }, { csrf: false, handle401: false }),
  logout: () => request('POST', '/api/logout', {}, { handle401: false }),
  session: () => request('GET', '/api/session', undefined, { handle401: false }),
  overview: () => request('GET', '/api/overview'),
  forms: () => request('GET', '/api/forms'),
  coverage: (params) => request('GET', `/api/coverage${query(params)}`),
  station: (code) => request('GET', `/api/stations/${enc(code)}`),
  override: (input) => request('POST', '/api/overrides', input),
  conflicts: () => request('GET', '/api/conflicts'),
  cases: (params) => request('GET', `/api/cases${query(params)}`),
  caseDetail: (id) => request('GET', `/api/cases/${enc(id)}`),
  caseStatus: (id, status, reason) =>
    request('POST', `/api/cases/${enc(id)}/status`, { status, reason }),
  devices: (params) => request('GET', `/api/devices${query(params)}`),
  revoke: (id, reason) => request('POST', `/api/devices/${enc(id)}/revoke`, { reason }),
  alerts: (params) => request('GET', `/api/alerts${query(params)}`),
  audit: () => request('GET', '/api/audit'),
  quarantine: (params) => request('GET', `/api/quarantine${query(params)}`),
  releaseQuarantine: (recordId, reason) =>
    request('POST', '/api/quarantine/release', { recordId, reason }),
};

// 64-bit integers arrive as strings, other numbers as numbers, defaults not at all.
export function num(v) {
  if (v === undefined || v === null || v === '') return 0;
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}
