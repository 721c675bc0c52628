// Flint live dashboard (dashboard/routes.ts serves this file). Polls the management API once a second with the
// operator's token and fills the page; plain DOM, no framework, charts with uPlot (served from this origin).
// Every text that comes from the server (URLs, vhost names, origin errors, config lines) is set with textContent,
// never parsed as HTML; the page's Content-Security-Policy forbids inline script as a second line of defence.
'use strict';

(() => {
  const REFRESH_MS = 1000;
  const HISTORY_EVERY = 10;
  const CHART_POINTS = 180;
  const RESULTS = ['TCP_HIT', 'TCP_MISS', 'TCP_RT_HIT', 'TCP_IMS_HIT', 'TCP_REFRESH_HIT', 'TCP_REF_FAIL_HIT', 'TCP_NEGATIVE_HIT', 'TCP_REF_MISS', 'TCP_CLIENT_REFRESH_MISS', 'TCP_ERROR', 'TCP_DENIED', 'PASS'];
  const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

  const byId = (id) => document.getElementById(id);
  let token = sessionStorage.getItem('flint-token') ?? '';
  // `/dashboard#token=...` hands the token over without sending it anywhere; the fragment is then cleared.
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.has('token')) {
    token = fragment.get('token') ?? '';
    sessionStorage.setItem('flint-token', token);
    history.replaceState(null, '', location.pathname);
  }

  /** Calls the management API with the token; resolves to { status, body } (body parsed JSON, or { error }). */
  async function api(path, init = {}) {
    const headers = new Headers(init.headers ?? {});
    if (token !== '') headers.set('authorization', `Bearer ${token}`);
    const res = await fetch(path, { ...init, headers, cache: 'no-store', credentials: 'same-origin' });
    const text = await res.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      body = { error: text };
    }
    return { status: res.status, body };
  }

  const number = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
  const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  function bytes(n) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (Math.abs(n) >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }
    return `${number.format(n)} ${units[i]}`;
  }
  const percent = (ratio) => `${number.format(ratio * 100)}%`;
  const ms = (n) => `${number.format(n)} ms`;

  /** Sets an element's text and its raw value (data-value, which the browser test compares with /stats). */
  function show(id, text, raw) {
    const el = byId(id);
    if (el === null) return;
    el.textContent = text;
    if (raw !== undefined) el.dataset.value = String(raw);
  }

  /** Replaces a table body with rows of cells: strings, or { text, className }. */
  function fillTable(id, rows) {
    const body = byId(id).tBodies[0];
    const fresh = document.createElement('tbody');
    for (const row of rows) {
      const tr = document.createElement('tr');
      for (const cell of row) {
        const td = document.createElement('td');
        if (typeof cell === 'object' && cell !== null) {
          td.textContent = cell.text;
          if (cell.className) td.className = cell.className;
          if (cell.value !== undefined) td.dataset.value = String(cell.value);
        } else td.textContent = String(cell);
        tr.appendChild(td);
      }
      fresh.appendChild(tr);
    }
    body.replaceWith(fresh);
  }

  // ---- charts (uPlot)
  const series = { t: [], rps: [], hits: [], out: [], inb: [], p50: [], p99: [] };
  const charts = {};
  function makeChart(id, title, lines, valueFormat) {
    const el = byId(id);
    const width = Math.max(300, el.clientWidth || 400);
    return new uPlot(
      {
        width,
        height: 180,
        legend: { show: true },
        scales: { x: { time: true } },
        axes: [{}, { values: (_u, ticks) => ticks.map(valueFormat), size: 70 }],
        series: [{}, ...lines.map(([label, stroke]) => ({ label, stroke, width: 1.5, value: (_u, v) => (v === null ? '–' : valueFormat(v)) }))],
      },
      [[], ...lines.map(() => [])],
      el,
    );
  }
  function initCharts() {
    charts.requests = makeChart('chart-requests', 'Requests/s', [['requests/s', '#1c7ed6'], ['hits/s', '#2b8a3e']], (v) => number.format(v));
    charts.bandwidth = makeChart('chart-bandwidth', 'Bandwidth', [['out/s', '#d9480f'], ['in/s', '#5f3dc4']], (v) => `${bytes(v)}/s`);
    charts.ttfb = makeChart('chart-ttfb', 'TTFB', [['p50', '#1098ad'], ['p99', '#e67700']], (v) => ms(v));
  }
  function pushPoint(at, rt) {
    const host = rt.host;
    let hits = 0;
    for (const [result, n] of Object.entries(host.cacheResults)) if (result.endsWith('_HIT')) hits += n;
    const point = {
      t: at / 1000,
      rps: host.perSecond.requests,
      hits: rt.seconds > 0 ? hits / rt.seconds : 0,
      out: host.perSecond.clientOutBytes,
      inb: host.perSecond.clientInBytes + host.perSecond.originInBytes,
      p50: host.ttfbP50Ms,
      p99: host.ttfbP99Ms,
    };
    for (const key of Object.keys(series)) {
      series[key].push(point[key]);
      if (series[key].length > CHART_POINTS) series[key].shift();
    }
    charts.requests?.setData([series.t, series.rps, series.hits]);
    charts.bandwidth?.setData([series.t, series.out, series.inb]);
    charts.ttfb?.setData([series.t, series.p50, series.p99]);
  }

  // ---- rendering /stats
  function renderStats(stats) {
    const rt = stats.realtime;
    const host = rt.host;
    show('uptime', `up ${integer.format(stats.uptimeSec)} s · config ${String(stats.configHash).slice(0, 12)}`);
    show('rps', number.format(host.perSecond.requests), host.perSecond.requests);
    show('total-requests', integer.format(stats.totals.requests), stats.totals.requests);
    show('bw-out', `${bytes(host.perSecond.clientOutBytes)}/s`, host.perSecond.clientOutBytes);
    show('total-out', bytes(stats.totals.clientOutBytes), stats.totals.clientOutBytes);
    const inPerSec = host.perSecond.clientInBytes + host.perSecond.originInBytes;
    show('bw-in', `${bytes(inPerSec)}/s`, inPerSec);
    show('total-origin-in', bytes(stats.totals.originInBytes), stats.totals.originInBytes);
    show('hit-ratio', percent(host.requestHitRatio), host.requestHitRatio);
    show('hit-ratio-total', percent(stats.cache.requestHitRatio), stats.cache.requestHitRatio);
    show('byte-hit-ratio', percent(host.byteHitRatio), host.byteHitRatio);
    show('byte-hit-ratio-total', percent(stats.cache.byteHitRatio), stats.cache.byteHitRatio);
    show('ttfb-p50', ms(host.ttfbP50Ms), host.ttfbP50Ms);
    show('ttfb-p99', ms(host.ttfbP99Ms), host.ttfbP99Ms);
    show('ttfb-1m', `${ms(stats.average1.host.ttfbP50Ms)} / ${ms(stats.average1.host.ttfbP99Ms)}`);
    show('connections', integer.format(stats.activeConnections), stats.activeConnections);
    show('active-requests', integer.format(stats.totals.activeRequests), stats.totals.activeRequests);
    const objects = stats.cache.disks.reduce((n, d) => n + (d.objects ?? 0), 0);
    const used = stats.cache.disks.reduce((n, d) => n + (d.usedBytes ?? 0), 0);
    show('objects', integer.format(objects), objects);
    show('used-bytes', bytes(used), used);

    fillTable(
      'cache-results',
      RESULTS.map((r) => [r, { text: integer.format(host.cacheResults[r] ?? 0), className: 'num' }, { text: integer.format(stats.totals.cacheResults[r] ?? 0), className: 'num', value: stats.totals.cacheResults[r] ?? 0 }]),
    );
    fillTable(
      'status-classes',
      CLASSES.map((c) => [c, { text: integer.format(host.counts[`responses${c}`] ?? 0), className: 'num' }, { text: integer.format(stats.totals[`responses${c}`] ?? 0), className: 'num', value: stats.totals[`responses${c}`] ?? 0 }]),
    );
    const originRows = [];
    for (const [vhost, report] of Object.entries(stats.origins ?? {})) {
      for (const [member, m] of Object.entries(report.members ?? {})) {
        originRows.push([vhost, member, { text: m.state, className: `state-${m.state}` }, { text: String(m.consecutiveFailures ?? 0), className: 'num' }, m.lastError ?? '']);
      }
    }
    fillTable('origins', originRows);
    fillTable(
      'top-urls',
      (stats.topUrls ?? []).map((row) => [row.vhost, { text: row.path, className: 'path' }, { text: integer.format(row.count), className: 'num', value: row.count }]),
    );
    fillTable(
      'vhosts',
      rt.vhosts.map((v) => [
        v.name,
        { text: number.format(v.perSecond.requests), className: 'num' },
        { text: `${bytes(v.perSecond.clientOutBytes)}/s`, className: 'num' },
        { text: percent(v.requestHitRatio), className: 'num' },
        { text: percent(v.byteHitRatio), className: 'num' },
        { text: ms(v.ttfbP50Ms), className: 'num' },
        { text: ms(v.ttfbP99Ms), className: 'num' },
        ...CLASSES.slice(1).map((c) => ({ text: integer.format(v.counts[`responses${c}`] ?? 0), className: 'num' })),
        { text: integer.format(stats.vhosts[v.name]?.requests ?? 0), className: 'num', value: stats.vhosts[v.name]?.requests ?? 0 },
      ]),
    );
    pushPoint(Date.parse(rt.to), rt);
  }

  // ---- config history and diff
  let historyLength = -1;
  async function loadHistory() {
    const { status, body } = await api('/conf/history');
    if (status !== 200) {
      fillTable('history', [[{ text: body.error ?? `HTTP ${status}`, className: 'error' }]]);
      return;
    }
    const list = [...(body.history ?? [])].reverse();
    fillTable(
      'history',
      list.map((s) => [String(s.id), s.time, s.type, { text: s.hash === body.current ? `${s.hash.slice(0, 12)} (running)` : s.hash.slice(0, 12), className: 'path' }, { text: integer.format(s.size), className: 'num' }]),
    );
    // A new version resets the choice to the last two; otherwise the operator's choice stays.
    const grown = list.length !== historyLength;
    historyLength = list.length;
    for (const [id, pick] of [['diff-from', 1], ['diff-to', 0]]) {
      const select = byId(id);
      const chosen = grown ? '' : select.value;
      select.replaceChildren(
        ...list.map((s) => {
          const option = document.createElement('option');
          option.value = s.hash;
          option.textContent = `#${s.id} ${s.time.slice(0, 19)} ${s.hash.slice(0, 8)}`;
          return option;
        }),
      );
      if (chosen !== '' && list.some((s) => s.hash === chosen)) select.value = chosen;
      else if (list[pick] !== undefined) select.value = list[pick].hash;
    }
  }

  async function showDiff(event) {
    event.preventDefault();
    const out = byId('diff');
    const from = byId('diff-from').value;
    const to = byId('diff-to').value;
    const { status, body } = await api(`/dashboard/config-diff?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
    out.replaceChildren();
    if (status !== 200) {
      const p = document.createElement('p');
      p.className = 'error';
      p.textContent = body.error ?? `HTTP ${status}`;
      out.appendChild(p);
      return;
    }
    if (body.files.length === 0) {
      const p = document.createElement('p');
      p.textContent = 'identical';
      out.appendChild(p);
    }
    for (const file of body.files) {
      const block = document.createElement('div');
      block.className = 'diff-file';
      const title = document.createElement('h3');
      title.textContent = `${file.file} (${file.status})`;
      const pre = document.createElement('pre');
      for (const line of file.lines) {
        const span = document.createElement('span');
        span.className = line.op === '+' ? 'op-add' : line.op === '-' ? 'op-del' : line.op === '~' ? 'op-skip' : 'op-ctx';
        span.textContent = line.op === '~' ? `… ${line.text}` : `${line.op} ${line.text}`;
        pre.appendChild(span);
      }
      block.append(title, pre);
      out.appendChild(block);
    }
  }

  // ---- purge form: POST /command/<command> with the token, url= (STON's rule: the rest of the body) or tag=.
  async function purge(event) {
    event.preventDefault();
    const command = byId('purge-command').value;
    const target = byId('purge-target').value.trim();
    const vhost = byId('purge-vhost').value.trim();
    const body = byId('purge-kind').value === 'tag' ? new URLSearchParams(vhost === '' ? { tag: target } : { tag: target, vhost }).toString() : `url=${encodeURIComponent(target)}`;
    const result = byId('purge-result');
    result.textContent = '…';
    const { status, body: answer } = await api(`/command/${encodeURIComponent(command)}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    result.textContent = `${status} ${JSON.stringify(answer)}`;
    result.dataset.status = String(status);
    historyTick = HISTORY_EVERY;
  }

  // FLEET: when /stats carries `cluster` ({node, group}: the node runs under <Cluster>), the fleet's nodes come from
  // /fleet/stats (each node's /stats by name, and the members that did not answer). A standalone node never asks.
  async function renderFleet(stats) {
    if (!stats.cluster) return;
    const { status, body } = await api('/fleet/stats');
    const note = byId('fleet-status');
    if (status !== 200) {
      note.textContent = `${stats.cluster.node}: clustered, but /fleet/stats answered ${status}: ${body.error ?? ''}`;
      return;
    }
    const nodes = Object.entries(body.nodes ?? {}).sort(([a], [b]) => a.localeCompare(b));
    const missing = Array.isArray(body.missing) ? body.missing : [];
    note.textContent = `this node: ${stats.cluster.node}${stats.cluster.group ? ` (group ${stats.cluster.group})` : ''}; ${nodes.length} node(s) answered${missing.length > 0 ? `, ${missing.length} did not` : ''}`;
    const head = document.createElement('tr');
    for (const name of ['node', 'group', 'uptime s', 'requests', 'req/s', 'hit ratio (1 s)', 'state']) {
      const th = document.createElement('th');
      th.textContent = name;
      head.appendChild(th);
    }
    byId('fleet-nodes').tHead.replaceChildren(head);
    const num = (value) => ({ text: number.format(value ?? 0), value: value ?? 0 });
    const rows = nodes.map(([name, n]) => {
      const host = n.realtime?.host ?? {};
      const ratio = host.requestHitRatio ?? 0;
      return [name, n.cluster?.group ?? '-', num(n.uptimeSec), num(n.totals?.requests), num(host.perSecond?.requests), { text: percent(ratio), value: ratio }, 'answered'];
    });
    for (const name of missing) rows.push([name, '-', '-', '-', '-', '-', { text: 'no answer', className: 'error' }]);
    fillTable('fleet-nodes', rows);
  }

  // ---- the loop
  let refreshes = 0;
  let historyTick = HISTORY_EVERY;
  async function refresh() {
    const status = byId('status');
    try {
      const { status: code, body } = await api('/stats');
      if (code === 401) {
        status.textContent = 'the manager needs a token: enter it above';
        status.className = 'error';
        return;
      }
      if (code !== 200) throw new Error(body.error ?? `HTTP ${code}`);
      renderStats(body);
      await renderFleet(body);
      if (historyTick++ >= HISTORY_EVERY) {
        historyTick = 0;
        await loadHistory();
      }
      refreshes++;
      document.body.dataset.refreshes = String(refreshes);
      status.textContent = `updated ${new Date().toLocaleTimeString()}`;
      status.className = 'muted';
    } catch (error) {
      status.textContent = `cannot reach the manager: ${error.message}`;
      status.className = 'error';
    }
  }

  async function loop() {
    const started = performance.now();
    await refresh();
    setTimeout(loop, Math.max(0, REFRESH_MS - (performance.now() - started)));
  }

  byId('token').value = token;
  byId('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    token = byId('token').value;
    sessionStorage.setItem('flint-token', token);
    historyTick = HISTORY_EVERY;
    void refresh();
  });
  byId('purge-form').addEventListener('submit', (event) => void purge(event));
  byId('diff-form').addEventListener('submit', (event) => void showDiff(event));
  initCharts();
  void loop();
})();
