// Tether's web UI: one page, no framework. Every value from the server goes in with
// textContent (never as HTML); state-changing calls carry the session's CSRF token.
const $ = (selector) => document.querySelector(selector);
let csrf = null;
let timer = null;
// `/#invite=TOKEN&user=NAME` (the link `tctl users add` prints): the form sets the password.
const hash = new URLSearchParams(location.hash.slice(1));
let invite = hash.get('invite');

async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
  if (!response.ok) throw new Error((data && data.error) || `HTTP ${response.status}`);
  return data;
}

// Shows one page. Keyboard and screen-reader users land on its heading (tabindex -1 in the
// page), except on the login form, whose first empty field takes the focus.
function show(id) {
  for (const section of document.querySelectorAll('main > section')) section.hidden = section.id !== id;
  if (id !== 'clusters') clearTimeout(timer);
  if (id === 'login') {
    ($('#user').value ? $('#password') : $('#user')).focus();
  } else if (id !== 'terminal') {
    const heading = document.querySelector(`#${id} h2`);
    if (heading) heading.focus();
  }
}

function cell(row, text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

let logins = [];

function loggedIn(session) {
  csrf = session.csrf_token;
  logins = session.logins || [];
  const select = $('#nodes-login');
  select.replaceChildren();
  for (const login of logins) {
    const option = document.createElement('option');
    option.value = login;
    option.textContent = login;
    select.appendChild(option);
  }
  $('#whoami').textContent = `${session.user} @ ${session.cluster}`;
  $('#nav').hidden = false;
  show('clusters');
  refreshClusters();
}

// A heartbeat as its UTC time and its age: `2026-12-06 16:59:48 UTC (3 s ago)`.
function heartbeat(at) {
  if (!at) return '—';
  const when = new Date(at);
  if (Number.isNaN(when.getTime())) return at;
  const age = Math.max(0, Math.round((Date.now() - when.getTime()) / 1000));
  const ago = age < 120 ? `${age} s` : age < 7200 ? `${Math.round(age / 60)} min` : `${Math.round(age / 3600)} h`;
  return `${when.toISOString().replace('T', ' ').slice(0, 19)} UTC (${ago} ago)`;
}

async function refreshClusters() {
  clearTimeout(timer);
  try {
    const clusters = await api('GET', '/webapi/clusters');
    const body = $('#clusters-body');
    body.replaceChildren();
    for (const c of clusters) {
      const row = document.createElement('tr');
      row.dataset.cluster = c.name;
      cell(row, c.name);
      cell(row, c.cluster_type);
      cell(row, c.status, c.status === 'online' ? 'online' : 'offline').dataset.status = c.status;
      cell(row, heartbeat(c.last_heartbeat)).dataset.heartbeat = c.last_heartbeat || '';
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = 'Nodes';
      button.addEventListener('click', () => openNodes(c));
      cell(row, '').appendChild(button);
      body.appendChild(row);
    }
    $('#clusters-error').textContent = '';
    // When the landing page first shows its data (bench/webui.sh reads it).
    if (!performance.getEntriesByName('tether:clusters').length) performance.mark('tether:clusters');
  } catch (err) {
    $('#clusters-error').textContent = err.message;
  }
  // Live: the statuses follow without a reload.
  timer = setTimeout(refreshClusters, 2000);
}

let current = null;

async function openNodes(cluster) {
  current = cluster;
  $('#nodes-cluster').textContent = cluster.name;
  show('nodes');
  await refreshNodes();
}

async function refreshNodes() {
  const cluster = current;
  const filter = $('#nodes-filter').value.trim();
  const query = filter ? `?labels=${encodeURIComponent(filter)}` : '';
  const path = cluster.cluster_type === 'leaf'
    ? `/webapi/clusters/${encodeURIComponent(cluster.name)}/webapi/nodes${query}`
    : `/webapi/nodes${query}`;
  try {
    const nodes = await api('GET', path);
    const body = $('#nodes-body');
    body.replaceChildren();
    for (const n of nodes) {
      const row = document.createElement('tr');
      row.dataset.node = n.metadata.name;
      cell(row, n.metadata.name);
      cell(row, n.spec.addr);
      const labels = Object.entries(n.metadata.labels || {}).map(([k, v]) => `${k}=${v}`).join(', ');
      cell(row, labels);
      const flag = cluster.cluster_type === 'leaf' ? ` --cluster=${cluster.name}` : '';
      const code = document.createElement('code');
      code.textContent = `tsh ssh${flag} LOGIN@${n.metadata.name}`;
      cell(row, '').appendChild(code);
      cell(row, '').appendChild(button('Terminal', () => openTerminal(cluster, n.metadata.name)));
      body.appendChild(row);
    }
    $('#nodes-error').textContent = '';
  } catch (err) {
    $('#nodes-error').textContent = err.message;
  }
}

// The terminal: xterm.js over a WebSocket to the proxy, which runs the SSH session.
let term = null;
let socket = null;

function closeTerminal() {
  if (socket) socket.close();
  socket = null;
  if (term) term.dispose();
  term = null;
}

function openTerminal(cluster, node) {
  closeTerminal();
  const login = $('#nodes-login').value;
  $('#terminal-title').textContent = `${login}@${node} (${cluster.name})`;
  show('terminal');
  term = new window.Terminal({ cursorBlink: true, fontSize: 14 });
  const fit = new window.FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open($('#term'));
  fit.fit();
  const params = new URLSearchParams({ node, login, cols: String(term.cols), rows: String(term.rows) });
  if (cluster.cluster_type === 'leaf') params.set('cluster', cluster.name);
  socket = new WebSocket(`wss://${location.host}/web/terminal?${params}`);
  socket.binaryType = 'arraybuffer';
  const encoder = new TextEncoder();
  socket.onmessage = (event) => {
    if (term) term.write(typeof event.data === 'string' ? event.data : new Uint8Array(event.data));
  };
  socket.onclose = () => { if (term) term.write('\r\n[session closed]\r\n'); };
  term.onData((data) => { if (socket && socket.readyState === 1) socket.send(encoder.encode(data)); });
  term.onResize(({ cols, rows }) => {
    if (socket && socket.readyState === 1) socket.send(JSON.stringify({ resize: [cols, rows] }));
  });
  window.addEventListener('resize', () => { if (term) fit.fit(); });
  // The terminal takes every key, Tab included: Shift+F10 leaves it for the Close button.
  term.attachCustomKeyEventHandler((e) => {
    if (e.type === 'keydown' && e.key === 'F10' && e.shiftKey) {
      e.preventDefault();
      $('#terminal-close').focus();
      return false;
    }
    return true;
  });
  term.focus();
}

$('#terminal-close').addEventListener('click', () => { closeTerminal(); show('nodes'); });
window.addEventListener('beforeunload', () => closeTerminal());

$('#login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('#login-error').textContent = '';
  try {
    const otp = $('#otp').value.trim();
    const session = await api('POST', '/web/login', {
      user: $('#user').value,
      password: $('#password').value,
      otp: otp || undefined,
      invite: invite || undefined,
    });
    invite = null;
    history.replaceState(null, '', '/');
    $('#password').value = '';
    if (session.totp_enrollment) {
      // Shown once: the invite's login made the user's TOTP secret.
      const uri = new URL(session.totp_enrollment);
      $('#totp-secret').textContent = uri.searchParams.get('secret') || '';
      $('#totp-uri').textContent = session.totp_enrollment;
      $('#totp-done').onclick = () => { $('#totp-secret').textContent = ''; $('#totp-uri').textContent = ''; loggedIn(session); };
      show('enroll');
      return;
    }
    loggedIn(session);
  } catch (err) {
    $('#login-error').textContent = err.message;
  }
});

// The audit log of the root or of a leaf (through the root), newest first, paged by time.
let auditOldest = null;
let clustersSeen = [];

function details(e) {
  if (e.event === 'role.mapping') {
    const from = (e.remote_roles || []).join(', ');
    const to = (e.local_roles || []).join(', ');
    return e.error ? `${from} → refused: ${e.error}` : `${from} → ${to}`;
  }
  const parts = [];
  for (const key of ['reason', 'error', 'node', 'login', 'leaf_cluster', 'kind', 'name', 'addr', 'path']) {
    if (e[key] !== undefined && e[key] !== null) parts.push(`${key}: ${e[key]}`);
  }
  return parts.join('; ');
}

function toRfc3339(local) {
  return local ? new Date(`${local}:00Z`).toISOString() : '';
}

async function openAudit() {
  const select = $('#audit-cluster');
  select.replaceChildren();
  try { clustersSeen = await api('GET', '/webapi/clusters'); } catch (_) { clustersSeen = []; }
  for (const c of clustersSeen) {
    const option = document.createElement('option');
    option.value = c.name;
    option.textContent = `${c.name} (${c.cluster_type})`;
    select.appendChild(option);
  }
  show('audit');
  await searchAudit(false);
}

async function searchAudit(older) {
  const name = $('#audit-cluster').value;
  const cluster = clustersSeen.find((c) => c.name === name);
  const params = new URLSearchParams({ limit: '50' });
  const event = $('#audit-event').value.trim();
  const user = $('#audit-user').value.trim();
  const since = toRfc3339($('#audit-since').value);
  const until = older && auditOldest ? auditOldest : toRfc3339($('#audit-until').value);
  if (event) params.set('event', event);
  if (user) params.set('user', user);
  if (since) params.set('since', since);
  if (until) params.set('until', until);
  const base = cluster && cluster.cluster_type === 'leaf'
    ? `/webapi/clusters/${encodeURIComponent(cluster.name)}/webapi/events`
    : '/webapi/events';
  try {
    const events = (await api('GET', `${base}?${params}`)).reverse();
    const body = $('#audit-body');
    if (!older) body.replaceChildren();
    for (const e of events) {
      const row = document.createElement('tr');
      row.dataset.event = e.event;
      cell(row, e.time);
      cell(row, e.event);
      cell(row, e.user);
      cell(row, e.user_cluster || e.leaf_cluster || e.cluster || '');
      cell(row, details(e));
      body.appendChild(row);
    }
    if (events.length) auditOldest = events[events.length - 1].time;
    $('#audit-older').hidden = events.length < 50;
    $('#audit-error').textContent = '';
  } catch (err) {
    $('#audit-error').textContent = err.message;
  }
}

// Trust and tokens: the same API calls (and so the same checks and error lines) as tctl.
function parseRoleMap(text) {
  const rules = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const [remote, locals] = line.split('=>').map((part) => (part || '').trim());
    rules.push({ remote, local: (locals || '').split(',').map((l) => l.trim()).filter((l) => l) });
  }
  return rules;
}

function yamlString(value) {
  return JSON.stringify(String(value));
}

function button(label, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.addEventListener('click', onClick);
  return b;
}

let previewSeq = 0;

async function previewRoleMap() {
  // Answers may arrive out of order while the user types: only the latest is shown.
  const seq = ++previewSeq;
  const roles = $('#tc-preview-roles').value.split(',').map((r) => r.trim()).filter((r) => r);
  if (!roles.length) { $('#tc-preview').textContent = ''; return; }
  let text;
  try {
    const p = await api('POST', '/webapi/rolemap/preview', { role_map: parseRoleMap($('#tc-rolemap').value), roles });
    text = p.mapped ? `maps to: ${p.mapped.join(', ')}` : `maps to nothing: ${p.error}`;
  } catch (err) {
    text = err.message;
  }
  if (seq === previewSeq) $('#tc-preview').textContent = text;
}

async function openAdmin() {
  show('admin');
  $('#admin-error').textContent = '';
  try {
    const tcs = await api('GET', '/webapi/resources/trusted_cluster');
    const body = $('#tc-body');
    body.replaceChildren();
    for (const tc of tcs) {
      const row = document.createElement('tr');
      row.dataset.tc = tc.metadata.name;
      cell(row, tc.metadata.name);
      cell(row, tc.spec.enabled ? 'yes' : 'no').dataset.enabled = String(tc.spec.enabled);
      cell(row, tc.spec.web_proxy_addr);
      cell(row, tc.spec.tunnel_addr);
      const actions = cell(row, '');
      actions.appendChild(button(tc.spec.enabled ? 'Disable' : 'Enable', async () => {
        tc.spec.enabled = !tc.spec.enabled;
        delete tc.metadata.id;
        try { await api('POST', '/webapi/resources?force=true', tc); } catch (err) { $('#admin-error').textContent = err.message; }
        openAdmin();
      }));
      actions.appendChild(button('Remove', async () => {
        try { await api('DELETE', `/webapi/resources/trusted_cluster/${encodeURIComponent(tc.metadata.name)}`); } catch (err) { $('#admin-error').textContent = err.message; }
        openAdmin();
      }));
      body.appendChild(row);
    }
  } catch (err) { $('#admin-error').textContent = err.message; }
  try {
    const rcs = await api('GET', '/webapi/resources/remote_cluster');
    const body = $('#rc-body');
    body.replaceChildren();
    for (const rc of rcs) {
      const row = document.createElement('tr');
      row.dataset.rc = rc.metadata.name;
      cell(row, rc.metadata.name);
      cell(row, (rc.status && rc.status.connection) || 'offline');
      const input = document.createElement('input');
      input.value = Object.entries(rc.metadata.labels || {}).map(([k, v]) => `${k}=${v}`).join(',');
      input.setAttribute('aria-label', `labels of ${rc.metadata.name}`);
      cell(row, '').appendChild(input);
      const actions = cell(row, '');
      actions.appendChild(button('Save labels', async () => {
        const labels = {};
        for (const pair of input.value.split(',').map((p) => p.trim()).filter((p) => p)) {
          const [k, ...v] = pair.split('=');
          labels[k.trim()] = v.join('=').trim();
        }
        const doc = { kind: 'remote_cluster', version: rc.version, metadata: { name: rc.metadata.name, labels }, spec: {} };
        try { await api('POST', '/webapi/resources?force=true', doc); } catch (err) { $('#admin-error').textContent = err.message; }
        openAdmin();
      }));
      actions.appendChild(button('Remove', async () => {
        try { await api('DELETE', `/webapi/resources/remote_cluster/${encodeURIComponent(rc.metadata.name)}`); } catch (err) { $('#admin-error').textContent = err.message; }
        openAdmin();
      }));
      body.appendChild(row);
    }
  } catch (err) { $('#admin-error').textContent = err.message; }
  try {
    const tokens = await api('GET', '/webapi/tokens');
    const body = $('#token-body');
    body.replaceChildren();
    for (const t of tokens) {
      const row = document.createElement('tr');
      row.dataset.token = t.token;
      cell(row, t.token);
      cell(row, t.type || t.token_type || '');
      cell(row, t.expires || 'never');
      cell(row, '').appendChild(button('Remove', async () => {
        try { await api('DELETE', `/webapi/tokens/${encodeURIComponent(t.token)}`); } catch (err) { $('#admin-error').textContent = err.message; }
        openAdmin();
      }));
      body.appendChild(row);
    }
  } catch (err) { $('#admin-error').textContent = err.message; }
}

$('#tc-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('#tc-error').textContent = '';
  $('#tc-result').textContent = '';
  const rules = parseRoleMap($('#tc-rolemap').value);
  const lines = [
    'kind: trusted_cluster', 'version: v2', 'metadata:', `  name: ${yamlString($('#tc-name').value.trim())}`,
    'spec:', '  enabled: true', `  token: ${yamlString($('#tc-token').value.trim())}`,
    `  web_proxy_addr: ${yamlString($('#tc-web').value.trim())}`, `  tunnel_addr: ${yamlString($('#tc-tunnel').value.trim())}`,
    '  role_map:',
  ];
  for (const r of rules) lines.push(`  - remote: ${yamlString(r.remote)}`, `    local: [${r.local.map(yamlString).join(', ')}]`);
  try {
    const response = await fetch('/webapi/resources', {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'text/yaml', 'X-CSRF-Token': csrf || '' },
      body: `${lines.join('\n')}\n`,
    });
    const data = await response.json().catch(() => null);
    if (!response.ok) throw new Error((data && data.error) || `HTTP ${response.status}`);
    $('#tc-result').textContent = (data || []).join('\n');
    openAdmin();
  } catch (err) {
    $('#tc-error').textContent = err.message;
  }
});

$('#token-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    const minutes = Number($('#token-ttl').value) || 30;
    const t = await api('POST', '/webapi/tokens', { type: $('#token-type').value, ttl_secs: minutes * 60 });
    $('#token-new').textContent = `New token (shown once): ${t.token}`;
    openAdmin();
  } catch (err) { $('#admin-error').textContent = err.message; }
});

$('#tc-preview-roles').addEventListener('input', () => previewRoleMap());
$('#tc-rolemap').addEventListener('input', () => previewRoleMap());
$('#to-admin').addEventListener('click', () => openAdmin());
$('#audit-form').addEventListener('submit', (event) => { event.preventDefault(); searchAudit(false); });
$('#audit-older').addEventListener('click', () => searchAudit(true));
$('#to-audit').addEventListener('click', () => openAudit());
$('#nodes-filter').addEventListener('change', () => refreshNodes());
$('#to-clusters').addEventListener('click', () => { show('clusters'); refreshClusters(); });
$('#logout').addEventListener('click', async () => {
  try { await api('POST', '/web/logout'); } catch (_) { /* the session may have ended already */ }
  csrf = null;
  $('#nav').hidden = true;
  show('login');
});

(async () => {
  if (invite) {
    $('#login-title').textContent = 'Set your password';
    $('#user').value = hash.get('user') || '';
    $('#login-button').textContent = 'Set password and log in';
    show('login');
    return;
  }
  try {
    loggedIn(await api('GET', '/web/session'));
  } catch (_) {
    show('login');
  }
})();
