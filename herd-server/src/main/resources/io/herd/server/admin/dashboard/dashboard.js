// The herd admin dashboard: one stream (GET /events, server-sent events read with fetch so that
// a bearer token can ride in the Authorization header, which EventSource cannot send), pool
// snapshots every second, pool events as they happen. No build step, no dependencies: plain DOM
// with textContent only (never innerHTML with data), under a strict Content-Security-Policy.
'use strict';

(function () {
  const TOKEN_KEY = 'herd.admin.token';
  const MAX_EVENTS = 200;
  const SPARK_POINTS = 60;

  const state = {
    token: sessionStorage.getItem(TOKEN_KEY),
    lastSeq: 0,
    pools: new Map(), // name -> {snapshot, section, rates: []}
    retryMs: 1000,
  };

  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c);
    return e;
  }

  function authHeaders(extra) {
    const h = Object.assign({}, extra);
    if (state.token) h.Authorization = 'Bearer ' + state.token;
    return h;
  }

  // ------------------------------------------------------------------ formatting

  function duration(ms) {
    if (ms === null || ms === undefined) return '—';
    let s = Math.floor(ms / 1000);
    if (s < 60) return s + 's';
    const d = Math.floor(s / 86400); s -= d * 86400;
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    if (d) return d + 'd ' + h + 'h';
    if (h) return h + 'h ' + m + 'm';
    return m + 'm ' + s + 's';
  }

  function bytes(n) {
    if (n === null || n === undefined) return '—';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : n) + ' ' + units[i];
  }

  function clock(ms) {
    return new Date(ms).toLocaleTimeString([], { hour12: false });
  }

  // ------------------------------------------------------------------ status and notices

  function setStatus(text, cls) {
    const s = $('status');
    s.textContent = text;
    s.className = 'status ' + (cls || '');
  }

  let noticeTimer;
  function notice(text, bad) {
    const n = $('notice');
    n.textContent = text;
    n.className = 'notice' + (bad ? ' bad' : '');
    n.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => { n.hidden = true; }, 6000);
  }

  // ------------------------------------------------------------------ the stream

  async function connect() {
    setStatus('connecting…');
    let resp;
    try {
      resp = await fetch('/events', {
        headers: authHeaders({ Accept: 'text/event-stream' }),
        cache: 'no-store',
      });
    } catch (e) {
      return retry();
    }
    if (resp.status === 401) {
      askToken(state.token ? 'That token was refused.' : '');
      return;
    }
    if (!resp.ok) {
      setStatus('error ' + resp.status, 'down');
      return retry();
    }
    $('token-form').hidden = true;
    setStatus('live', 'live');
    state.retryMs = 1000;
    const reader = resp.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          frame(block);
        }
      }
    } catch (e) {
      // the connection broke: reconnect below
    }
    retry();
  }

  function retry() {
    setStatus('reconnecting…', 'down');
    setTimeout(connect, state.retryMs);
    state.retryMs = Math.min(state.retryMs * 2, 15000);
  }

  function frame(block) {
    let event = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (!data.length) return;
    const body = JSON.parse(data.join('\n'));
    if (event === 'snapshot') snapshot(body);
    else if (event === 'pool') poolEvent(body);
  }

  function askToken(error) {
    setStatus('token needed', 'down');
    $('token-form').hidden = false;
    $('token-error').textContent = error || '';
    $('token-input').focus();
  }

  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    state.token = $('token-input').value.trim();
    sessionStorage.setItem(TOKEN_KEY, state.token);
    $('token-input').value = '';
    connect();
  });

  // ------------------------------------------------------------------ snapshots

  function snapshot(body) {
    const g = body.gateway;
    if (g) {
      $('gateway').textContent = [
        g.listen ? 'gateway ' + g.listen : null,
        g.node ? 'node ' + g.node : null,
        g.draining ? 'DRAINING' : null,
      ].filter(Boolean).join(' · ');
    }
    const seen = new Set();
    for (const p of body.pools) {
      seen.add(p.name);
      let view = state.pools.get(p.name);
      if (!view) {
        view = { section: poolSection(p.name), rates: [] };
        state.pools.set(p.name, view);
        $('pools').append(view.section.root);
      }
      view.snapshot = p;
      if (p.requests) {
        view.rates.push(p.requests.perSecond);
        if (view.rates.length > SPARK_POINTS) view.rates.shift();
      }
      renderPool(view);
    }
    for (const [name, view] of state.pools) {
      if (!seen.has(name)) {
        view.section.root.remove();
        state.pools.delete(name);
      }
    }
  }

  function poolSection(name) {
    const gauges = el('div', { class: 'gauges' });
    const sessions = el('tbody');
    const workers = el('tbody');
    const root = el('section', { class: 'card pool', dataset: { pool: name } },
      el('h2', { text: 'Pool ' + name }),
      gauges,
      el('h3', { text: 'Sessions' }),
      el('table', { class: 'sessions' },
        el('thead', {}, row('th', ['Key', 'State', 'Worker', 'PID', 'Age', 'Idle', 'Open leases', 'Owner', ''])),
        sessions),
      el('h3', { text: 'Workers' }),
      el('table', { class: 'workers' },
        el('thead', {}, row('th', ['Worker', 'PID', 'State', 'Session', 'Sessions served', 'Uptime', 'Memory', ''])),
        workers));
    return { root, gauges, sessions, workers };
  }

  function row(cell, texts) {
    const tr = el('tr');
    for (const t of texts) tr.append(el(cell, { text: t }));
    return tr;
  }

  function gauge(label, value, fraction) {
    const g = el('div', { class: 'gauge' },
      el('div', { class: 'label', text: label }),
      el('div', { class: 'value', text: String(value) }));
    if (fraction !== undefined) {
      const fill = el('span');
      fill.style.width = Math.max(0, Math.min(100, fraction * 100)).toFixed(1) + '%';
      g.append(el('div', { class: 'bar' }, fill));
    }
    return g;
  }

  function sparkline(values) {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('class', 'spark');
    svg.setAttribute('viewBox', '0 0 ' + SPARK_POINTS + ' 20');
    svg.setAttribute('preserveAspectRatio', 'none');
    const max = Math.max(1, ...values);
    const points = values.map((v, i) =>
      (SPARK_POINTS - values.length + i) + ',' + (19 - (v / max) * 18).toFixed(2));
    const line = document.createElementNS(ns, 'polyline');
    line.setAttribute('points', points.join(' '));
    svg.append(line);
    return svg;
  }

  function renderPool(view) {
    const p = view.snapshot;
    const s = view.section;
    const g = p.gauges;
    const max = p.limits.max || 1;
    const req = p.requests || {};
    const rate = gauge('requests/s', req.perSecond === undefined ? '—' : req.perSecond);
    if (view.rates.length > 1) rate.append(sparkline(view.rates));
    s.gauges.replaceChildren(
      gauge('workers (live)', g.workers + ' / ' + p.limits.max, g.workers / max),
      gauge('busy', g.busy, g.busy / max),
      gauge('idle', g.idle, g.idle / max),
      gauge('starting', g.starting),
      gauge('sessions', g.sessions),
      gauge('suspended', dash(g.suspended)),
      gauge('queued', g.queued + ' / ' + p.limits.maxQueue,
        p.limits.maxQueue ? g.queued / p.limits.maxQueue : 0),
      gauge('min / max / warm', p.limits.min + ' / ' + p.limits.max + ' / ' + p.limits.warm),
      rate,
      gauge('mean latency', req.meanMs === null || req.meanMs === undefined ? '—' : req.meanMs + ' ms'),
      gauge('crashes / spawn failures', p.counters.crashes + ' / ' + p.counters.spawnFailures));
    renderSessions(p.name, s.sessions, p.sessions);
    renderWorkers(p.name, s.workers, p.workers);
  }

  // Rows are kept and updated in place, keyed by session or worker id, so that a snapshot every
  // second never replaces the button under the pointer (or under a test driver's click).
  function syncRows(tbody, items, keyName, keyOf, columns, makeButton, update, emptyText) {
    const rows = new Map();
    for (const tr of Array.from(tbody.children)) {
      if (tr.dataset.key !== undefined) rows.set(tr.dataset.key, tr);
      else tr.remove();
    }
    let prev = null;
    for (const item of items) {
      const k = keyOf(item);
      let tr = rows.get(k);
      if (tr) {
        rows.delete(k);
      } else {
        tr = el('tr');
        tr.dataset.key = k;
        tr.dataset[keyName] = k;
        for (let i = 0; i < columns.length; i++) tr.append(el('td'));
        tr.append(el('td', {}, makeButton(item)));
      }
      columns.forEach((column, i) => {
        const td = tr.children[i];
        const v = column(item);
        if (typeof v === 'string') {
          if (td.textContent !== v || td.children.length) td.textContent = v;
        } else if (td.dataset.sig !== v.sig) {
          td.dataset.sig = v.sig;
          td.replaceChildren(v.node());
        }
      });
      if (update) update(tr, item);
      const wanted = prev ? prev.nextSibling : tbody.firstChild;
      if (wanted !== tr) tbody.insertBefore(tr, wanted);
      prev = tr;
    }
    rows.forEach((tr) => tr.remove());
    if (!items.length) {
      tbody.append(el('tr', {}, el('td', { class: 'empty', colspan: String(columns.length + 1),
        text: emptyText })));
    }
  }

  const dash = (v) => (v === null || v === undefined ? '—' : String(v));

  function renderSessions(pool, tbody, sessions) {
    syncRows(tbody, sessions, 'session', (x) => x.key, [
      (x) => x.key,
      (x) => (x.state === 'suspended' ? 'suspended ' + duration(x.suspendedMs) : 'active'),
      (x) => x.workerId,
      (x) => dash(x.pid),
      (x) => duration(x.ageMs),
      (x) => (x.openLeases > 0 ? 'in use' : duration(x.idleMs)),
      (x) => String(x.openLeases),
      (x) => x.owner || '—',
    ], (x) => {
      const end = el('button', { class: 'danger end', type: 'button', text: 'End',
        'aria-label': 'End session ' + x.key });
      end.addEventListener('click', () => endSession(pool, x.key, end));
      return end;
    }, null, 'no sessions');
  }

  function renderWorkers(pool, tbody, workers) {
    syncRows(tbody, workers, 'worker', (w) => w.id, [
      (w) => w.id,
      (w) => dash(w.pid),
      (w) => ({
        sig: w.state + (w.draining ? ' draining' : ''),
        node: () => {
          const f = document.createDocumentFragment();
          f.append(el('span', { class: 'state ' + w.state, text: w.state }));
          if (w.draining) f.append(' ', el('span', { class: 'state draining', text: 'draining' }));
          return f;
        },
      }),
      (w) => w.session || '—',
      (w) => String(w.sessionsServed),
      (w) => duration(w.uptimeMs),
      (w) => bytes(w.memoryBytes),
    ], (w) => {
      const drain = el('button', { class: 'drain', type: 'button', text: 'Drain',
        'aria-label': 'Drain worker ' + w.id });
      drain.addEventListener('click', () => drainWorker(pool, w.id, drain));
      return drain;
    }, (tr, w) => {
      if (w.draining || w.state === 'STOPPING') tr.lastElementChild.firstElementChild.disabled = true;
    }, 'no workers');
  }

  // ------------------------------------------------------------------ events

  function poolEvent(e) {
    if (e.seq <= state.lastSeq) return; // seen before a reconnect
    state.lastSeq = e.seq;
    const view = state.pools.get(e.pool);
    if (view && view.snapshot) {
      // Show the change at once; the next snapshot (within a second) has the full figures.
      const sessions = view.snapshot.sessions;
      if (e.type === 'sessionStarted' && !sessions.some((x) => x.key === e.session)) {
        sessions.unshift({ pool: e.pool, key: e.session, workerId: e.worker, pid: e.pid,
          ageMs: 0, idleMs: 0, openLeases: 0, owner: null, state: 'active', suspendedMs: null });
        renderSessions(e.pool, view.section.sessions, sessions);
      } else if (e.type === 'sessionEnded') {
        view.snapshot.sessions = sessions.filter((x) => x.key !== e.session);
        renderSessions(e.pool, view.section.sessions, view.snapshot.sessions);
      }
    }
    addEvent(e);
  }

  function describe(e) {
    switch (e.type) {
      case 'sessionStarted': return 'session ' + e.session + ' on ' + e.worker;
      case 'sessionEnded': return 'session ' + e.session + ' on ' + e.worker + ': ' + e.reason;
      case 'sessionSuspended': return 'session ' + e.session + ' suspended from ' + e.worker;
      case 'sessionResumed': return 'session ' + e.session + ' resumed on ' + e.worker;
      case 'workerStarted': return e.worker + ' (pid ' + e.pid + ')';
      case 'workerStopped': return e.worker + ': ' + e.exit;
      case 'workerCrashed': return e.worker + ' (pid ' + e.pid + '): ' + e.exit;
      case 'spawnFailed': return e.worker + ' could not start';
      default: return '';
    }
  }

  function addEvent(e) {
    const bad = e.type === 'workerCrashed' || e.type === 'spawnFailed'
      || (e.type === 'sessionEnded' && e.reason === 'CRASHED');
    const li = el('li', { class: bad ? 'bad' : '', dataset: { type: e.type } },
      el('span', { class: 'time', text: clock(e.time) }),
      el('span', { class: 'type', text: e.type }),
      el('span', { text: describe(e) }),
      state.pools.size > 1 ? el('span', { class: 'muted', text: ' · pool ' + e.pool }) : '');
    const detail = e.type === 'workerCrashed'
      ? (e.stderr && e.stderr.length ? e.stderr.join('\n') : 'no stderr output')
      : e.type === 'spawnFailed' ? e.error : null;
    if (detail) {
      li.append(el('details', { open: '' },
        el('summary', { text: e.type === 'workerCrashed' ? 'last stderr lines' : 'error' }),
        el('pre', { text: detail })));
    }
    const list = $('events');
    list.prepend(li);
    while (list.children.length > MAX_EVENTS) list.lastElementChild.remove();
  }

  // ------------------------------------------------------------------ actions

  async function act(method, path, button, done) {
    button.disabled = true;
    let resp;
    try {
      resp = await fetch(path, {
        method,
        // X-Herd-Admin: the admin API refuses a page's state change without it (CSRF defence).
        headers: authHeaders({ 'X-Herd-Admin': '1' }),
        cache: 'no-store',
      });
    } catch (e) {
      button.disabled = false;
      notice('Request failed: ' + e.message, true);
      return;
    }
    let body = {};
    try { body = await resp.json(); } catch (e) { /* not JSON */ }
    if (resp.status === 401) {
      askToken('The token was refused.');
    } else if (!resp.ok) {
      button.disabled = false;
      notice(body.error || ('HTTP ' + resp.status), true);
    } else {
      done(body);
    }
  }

  function endSession(pool, key, button) {
    act('DELETE', '/sessions/' + encodeURIComponent(key) + '?pool=' + encodeURIComponent(pool), button, () => {
      notice('Session ' + key + ' ended.');
      const view = state.pools.get(pool);
      if (view) {
        view.snapshot.sessions = view.snapshot.sessions.filter((x) => x.key !== key);
        renderSessions(pool, view.section.sessions, view.snapshot.sessions);
      }
    });
  }

  function drainWorker(pool, id, button) {
    act('POST', '/workers/' + encodeURIComponent(id) + '/drain?pool=' + encodeURIComponent(pool),
        button, () => {
      notice('Worker ' + id + ' is draining: it takes no new session and stops when its session ends.');
    });
  }

  // The server marks the page when admin.token is set: ask for it before the first request
  // rather than after a 401.
  if (document.body.dataset.tokenRequired === 'true' && !state.token) {
    askToken('');
  } else {
    connect();
  }
})();
