/* The reports page (/console/reports, leads and admins): first response and resolution times,
 * SLA breaches, created and resolved tickets, CSAT and the open backlog, by day or by agent,
 * department or channel, drawn as inline SVG charts written here (no library), each with a
 * table of the same numbers (for screen readers and small screens), and a CSV download.
 *
 * API calls (docs/reports.md; the report's schema is "Report" in /api/openapi.json):
 *   GET /console/api/reports?from=&to=&department=&by=                 the figures (JSON)
 *   GET /console/api/reports?from=&to=&department=&by=&format=csv      the CSV (on the link's
 *       first click, then a Blob download named setu-report-<from>-<to>.csv)
 * The department filter is the API's: only with by=day, so choosing one switches to by day
 * and choosing another grouping clears it.
 *
 * Contract: root section.reports-page; inputs input[name=from], input[name=to],
 * select[name=department] (and select[name=by]); each chart an svg.chart with a <title>,
 * role="img", aria-label and data-series (the figure: first_response, resolution, breaches,
 * created, resolved, csat, csat_scores, backlog, replies_out); the CSV link a.csv.
 */
(function () {
  'use strict';
  var S = window.Setu, h = S.h, t = S.t;
  var SVG = 'http://www.w3.org/2000/svg';
  var MAX_DAYS = 92;
  var GROUPINGS = ['day', 'agent', 'department', 'channel'];
  var AGES = ['0-1d', '1-3d', '3-7d', '7-30d', '>30d'];

  // ---- dates (YYYY-MM-DD business days; arithmetic in UTC so no zone shifts a day) -----------
  function parseDay(ymd) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd || '');
    if (!m) return null;
    var d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
    return isNaN(d) ? null : d;
  }
  function addDays(ymd, n) {
    var d = parseDay(ymd);
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
  }
  function daysBetween(a, b) { return Math.round((parseDay(b) - parseDay(a)) / 86400000) + 1; }
  /* "7 Dec" / "৭ ডিসে" for an axis; the full date (Setu.when) for tables and titles. */
  function shortDay(ymd) {
    return new Intl.DateTimeFormat(S.locale(), { day: 'numeric', month: 'short', timeZone: 'UTC' })
      .format(parseDay(ymd));
  }
  function longDay(ymd) { return S.when(ymd + 'T12:00:00Z', 'date'); }

  // ---- values ------------------------------------------------------------------------------
  /* unit: 'count' | 'duration' (business seconds) | 'score' (CSAT 1-5) */
  function fmt(unit, v) {
    if (v === null || v === undefined) return '–';
    if (unit === 'duration') return v > 0 && v < 60 ? t('reports.under_minute') : S.duration(v * 1000);
    if (unit === 'score') return S.num(v, { maximumFractionDigits: 2 });
    return S.num(v);
  }
  function median(f) { return f && f.count ? f.median_seconds : null; }
  function p90(f) { return f && f.count ? f.p90_seconds : null; }
  function csatAverage(f) { return f.csat && f.csat.count ? f.csat.average : null; }

  /* The figures charted per day (days[]) and per group (groups[]); `extra` adds table columns. */
  var FIGURES = {
    first_response: { unit: 'duration', kind: 'line', value: function (f) { return median(f.first_response); },
      extra: [{ head: 'reports.p90', unit: 'duration', value: function (f) { return p90(f.first_response); } },
              { head: 'reports.tickets', unit: 'count', value: function (f) { return f.first_response.count; } }] },
    resolution: { unit: 'duration', kind: 'line', value: function (f) { return median(f.resolution); },
      extra: [{ head: 'reports.p90', unit: 'duration', value: function (f) { return p90(f.resolution); } },
              { head: 'reports.tickets', unit: 'count', value: function (f) { return f.resolution.count; } }] },
    breaches: { unit: 'count', kind: 'bar', value: function (f) { return f.breaches.total; },
      extra: ['first_response', 'next_reply', 'resolution'].map(function (target) {
        return { head: 'reports.target.' + target, unit: 'count', value: function (f) { return f.breaches[target]; } };
      }) },
    created: { unit: 'count', kind: 'bar', value: function (f) { return f.created; } },
    resolved: { unit: 'count', kind: 'bar', value: function (f) { return f.resolved; },
      extra: [{ head: 'reports.reopened', unit: 'count', value: function (f) { return f.reopened; } }] },
    replies_out: { unit: 'count', kind: 'bar', value: function (f) { return f.replies_out; },
      extra: [{ head: 'reports.contacts_in', unit: 'count', value: function (f) { return f.contacts_in; } }] },
    csat: { unit: 'score', kind: 'line', value: csatAverage,
      extra: [{ head: 'reports.ratings', unit: 'count', value: function (f) { return f.csat.count; } }] }
  };
  var DAY_CHARTS = ['first_response', 'resolution', 'breaches', 'created', 'resolved', 'csat'];
  var GROUP_CHARTS = {
    agent: ['first_response', 'resolution', 'breaches', 'resolved', 'replies_out', 'csat'],
    department: ['first_response', 'resolution', 'breaches', 'created', 'resolved', 'csat'],
    channel: ['first_response', 'resolution', 'breaches', 'created', 'resolved', 'replies_out', 'csat']
  };

  function groupLabel(by, row) {
    if (by === 'agent') return row.name || row.key;
    if (by === 'department') {
      var known = (S.departments || []).some(function (d) { return d.name === row.key; });
      return known ? S.departmentLabel(row.key) : (row.labels && (row.labels[S.lang] || row.labels.en)) || row.key;
    }
    if (by === 'channel') return S.label('channel', row.key);
    return row.key;
  }

  // ---- SVG ---------------------------------------------------------------------------------
  function s(tag, attrs) {
    var el = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (attrs[k] !== null && attrs[k] !== undefined) el.setAttribute(k, String(attrs[k]));
    });
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      (Array.isArray(c) ? c : [c]).forEach(function (x) {
        if (x !== null && x !== undefined) el.appendChild(x instanceof Node ? x : document.createTextNode(String(x)));
      });
    }
    return el;
  }
  function r1(n) { return Math.round(n * 10) / 10; }

  /* Axis ticks from 0 up to at least max: counts in 1-2-5 steps, durations in clock steps,
   * scores 0..5. */
  var DURATION_STEPS = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
    172800, 345600, 604800, 1209600, 2592000];
  function ticks(unit, max) {
    if (unit === 'score') return [0, 1, 2, 3, 4, 5];
    var step;
    if (unit === 'duration') {
      step = DURATION_STEPS.filter(function (x) { return x * 4 >= max; })[0] || DURATION_STEPS[DURATION_STEPS.length - 1];
    } else {
      var raw = Math.max(max, 1) / 4, mag = Math.pow(10, Math.floor(Math.log10(raw)));
      step = [1, 2, 5, 10].map(function (m) { return m * mag; }).filter(function (x) { return x >= raw; })[0];
      step = Math.max(1, step);
    }
    var top = Math.max(step, Math.ceil(max / step) * step), out = [];
    for (var v = 0; v <= top + step / 2; v += step) out.push(v);
    return out;
  }

  /* A vertical chart: bars or a line over points [{label, long, value}]. */
  function columnChart(spec, points, width) {
    var H = 220, top = 14, bottom = 30, right = 10;
    var values = points.map(function (p) { return p.value; }).filter(function (v) { return v !== null && v !== undefined; });
    var max = values.length ? Math.max.apply(null, values) : 0;
    var marks = ticks(spec.unit, max);
    var yTop = marks[marks.length - 1];
    var longest = Math.max.apply(null, marks.map(function (m) { return fmt(spec.unit, m).length; }));
    var left = Math.min(90, 14 + longest * 7);
    var plotW = Math.max(40, width - left - right), plotH = H - top - bottom;
    var n = Math.max(points.length, 1), band = plotW / n;
    function y(v) { return top + plotH - (v / yTop) * plotH; }
    function x(i) { return left + band * i + band / 2; }
    var g = [];
    marks.forEach(function (m) {
      g.push(s('line', { class: 'grid', x1: left, x2: left + plotW, y1: r1(y(m)), y2: r1(y(m)) }));
      g.push(s('text', { class: 'axis y', x: left - 6, y: r1(y(m) + 4), 'text-anchor': 'end' }, fmt(spec.unit, m)));
    });
    var every = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(plotW / 58))));
    points.forEach(function (p, i) {
      if (i % every === 0) {
        g.push(s('text', { class: 'axis x', x: r1(x(i)), y: H - bottom + 18, 'text-anchor': 'middle' }, p.label));
      }
    });
    if (spec.kind === 'bar') {
      var barW = Math.max(2, Math.min(36, band * 0.7));
      points.forEach(function (p, i) {
        if (!p.value) return;
        g.push(s('rect', { class: 'bar', x: r1(x(i) - barW / 2), y: r1(y(p.value)), width: r1(barW),
          height: r1(top + plotH - y(p.value)) }, s('title', null, p.long + ': ' + fmt(spec.unit, p.value))));
      });
    } else {
      var d = '', pen = false;
      points.forEach(function (p, i) {
        if (p.value === null || p.value === undefined) { pen = false; return; }
        d += (pen ? 'L' : 'M') + r1(x(i)) + ' ' + r1(y(p.value)) + ' ';
        pen = true;
      });
      if (d) g.push(s('path', { class: 'line', d: d.trim() }));
      points.forEach(function (p, i) {
        if (p.value === null || p.value === undefined) return;
        g.push(s('circle', { class: 'dot', cx: r1(x(i)), cy: r1(y(p.value)), r: band < 9 ? 2 : 3.5 },
          s('title', null, p.long + ': ' + fmt(spec.unit, p.value))));
      });
    }
    g.push(s('line', { class: 'axis-line', x1: left, x2: left + plotW, y1: top + plotH, y2: top + plotH }));
    return { height: H, nodes: g, empty: !values.some(function (v) { return v; }) };
  }

  /* A horizontal bar per group (label above its bar, the value after it): names of any length
   * fit a phone. */
  function barList(spec, points, width) {
    var rowH = 42, top = 4;
    var values = points.map(function (p) { return p.value; }).filter(function (v) { return v !== null && v !== undefined; });
    var max = Math.max.apply(null, values.concat([spec.unit === 'score' ? 5 : 0])) || 1;
    var room = Math.max(40, width - 110);
    var g = [];
    points.forEach(function (p, i) {
      var y0 = top + i * rowH;
      var w = p.value ? Math.max(2, (p.value / max) * room) : 0;
      g.push(s('text', { class: 'axis name', x: 0, y: y0 + 14 }, p.label));
      if (w) {
        g.push(s('rect', { class: 'bar', x: 0, y: y0 + 20, width: r1(w), height: 14 },
          s('title', null, p.label + ': ' + fmt(spec.unit, p.value))));
      }
      g.push(s('text', { class: 'axis value', x: r1(w + 6), y: y0 + 32 }, fmt(spec.unit, p.value)));
    });
    var height = Math.max(points.length, 1) * rowH + top + 6;
    return { height: height, nodes: g, empty: !values.some(function (v) { return v; }) };
  }

  /* The svg.chart: <title>, role=img, aria-label (title and the overall figure), data-series. */
  function chartSvg(name, spec, points, width, overall, horizontal) {
    // overall: the sentence saying the figure for the whole period (or now, for the backlog)
    var drawn = horizontal ? barList(spec, points, width) : columnChart(spec, points, width);
    var title = t('reports.chart.' + name);
    var label = t('reports.aria', { title: title,
      what: drawn.empty ? t('reports.no_data_sentence') : overall });
    var svg = s('svg', { class: 'chart ' + (horizontal ? 'bars-h' : spec.kind), role: 'img', 'aria-label': label,
      'data-series': name, 'data-empty': drawn.empty ? 'true' : null, width: width, height: drawn.height,
      viewBox: '0 0 ' + width + ' ' + drawn.height, xmlns: SVG }, s('title', null, title), drawn.nodes);
    if (drawn.empty) {
      svg.appendChild(s('text', { class: 'no-data', x: r1(width / 2), y: r1(drawn.height / 2),
        'text-anchor': 'middle' }, t('reports.no_data')));
    }
    return svg;
  }

  /* The same numbers as a table: one row per point, the figure and its extra columns. */
  function numbersTable(name, spec, rows, head) {
    var extra = spec.extra || [];
    return h('table', { class: 'numbers', 'data-series': name },
      h('caption', { class: 'sr' }, t('reports.chart.' + name)),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, head),
        h('th', { scope: 'col', class: 'num' }, t('reports.col.' + name)),
        extra.map(function (e) { return h('th', { scope: 'col', class: 'num' }, t(e.head)); }))),
      h('tbody', null, rows.map(function (r) {
        return h('tr', null, h('th', { scope: 'row' }, r.long),
          h('td', { class: 'num' }, fmt(spec.unit, spec.value(r.figures))),
          extra.map(function (e) { return h('td', { class: 'num' }, fmt(e.unit, e.value(r.figures))); }));
      })));
  }

  /* A chart card: heading, svg, and the table in a disclosure. `draw(width)` makes the svg. */
  function card(name, draw, table) {
    var holder = h('div', { class: 'chart-box' });
    var fig = h('figure', { class: 'chart-card', 'data-series': name },
      h('h2', null, t('reports.chart.' + name)),
      h('p', { class: 'muted hint' }, t('reports.hint.' + name)),
      holder,
      h('details', { class: 'numbers' }, h('summary', null, t('reports.table')), h('div', { class: 'table-wrap' }, table)));
    var drawnAt = 0;
    fig.holder = holder;
    fig.redraw = function (onlyIfChanged) {
      var width = Math.max(260, Math.floor(holder.clientWidth || fallbackWidth()));
      if (onlyIfChanged && width === drawnAt) return;
      drawnAt = width;
      S.clear(holder).appendChild(draw(width));
    };
    return fig;
  }
  function fallbackWidth() {
    var main = document.getElementById('main');
    var w = main ? main.clientWidth - 64 : 360;
    return window.innerWidth >= 900 ? w / 2 - 16 : w;
  }

  // ---- the report's charts -------------------------------------------------------------------
  function dayCards(report) {
    var rows = report.days.map(function (d) { return { label: shortDay(d.date), long: longDay(d.date), figures: d }; });
    return DAY_CHARTS.map(function (name) {
      var spec = FIGURES[name];
      var points = rows.map(function (r) { return { label: r.label, long: r.long, value: spec.value(r.figures) }; });
      return card(name, function (w) {
        return chartSvg(name, spec, points, w, t('reports.overall', { v: fmt(spec.unit, overall(name, report.totals)) }), false);
      }, numbersTable(name, spec, rows.concat([{ long: t('reports.total'), figures: report.totals }]), t('reports.day')));
    });
  }
  function overall(name, totals) {
    var spec = FIGURES[name];
    return spec.value(totals);
  }
  function groupCards(report) {
    var by = report.by;
    var rows = (report.groups || []).map(function (g) { var l = groupLabel(by, g); return { label: l, long: l, figures: g }; });
    return GROUP_CHARTS[by].map(function (name) {
      var spec = FIGURES[name];
      var points = rows.map(function (r) { return { label: r.label, long: r.long, value: spec.value(r.figures) }; });
      return card(name, function (w) {
        return chartSvg(name, spec, points, w, t('reports.overall', { v: fmt(spec.unit, overall(name, report.totals)) }), true);
      }, numbersTable(name, spec, rows.concat([{ long: t('reports.total'), figures: report.totals }]), t('reports.head.' + by)));
    });
  }
  /* Categories that are not days: CSAT scores 1-5 (the range's totals), backlog by age (now). */
  function categoryCard(name, unit, items, head, sentence, horizontal) {
    var spec = { unit: unit, kind: 'bar', value: function (f) { return f.value; } };
    var total = items.reduce(function (a, i) { return a + (i.value || 0); }, 0);
    return card(name, function (w) {
      return chartSvg(name, spec, items, w, t(sentence, { n: total }), horizontal);
    }, numbersTable(name, spec, items.map(function (i) { return { long: i.long, figures: i }; }), head));
  }
  function csatCard(report) {
    var dist = (report.totals.csat || {}).distribution || {};
    return categoryCard('csat_scores', 'count', ['1', '2', '3', '4', '5'].map(function (k) {
      return { label: S.num(+k), long: t('reports.score', { n: +k }), value: dist[k] || 0 };
    }), t('reports.rating'), 'reports.overall_ratings');
  }
  function backlogCard(report) {
    var ages = (report.backlog || {}).by_age || {};
    return categoryCard('backlog', 'count', AGES.map(function (k) {
      return { label: t('reports.age.' + k), long: t('reports.age.' + k), value: ages[k] || 0 };
    }), t('reports.age'), 'reports.overall_open', true);
  }

  /* The headline numbers of the range. */
  function totalsList(report) {
    var f = report.totals;
    var items = [
      ['created', fmt('count', f.created)], ['resolved', fmt('count', f.resolved)],
      ['first_response', fmt('duration', median(f.first_response))],
      ['resolution', fmt('duration', median(f.resolution))],
      ['breaches', fmt('count', f.breaches.total)], ['csat', fmt('score', csatAverage(f))],
      ['backlog', fmt('count', (report.backlog || {}).open || 0)]
    ];
    return h('dl', { class: 'totals' }, items.map(function (it) {
      return h('div', { class: 'total', 'data-figure': it[0] }, h('dt', null, t('reports.total.' + it[0])), h('dd', null, it[1]));
    }));
  }
  function highlightsList(report) {
    var hl = report.highlights;
    if (!hl) return null;
    var items = [['fastest_responder', 'duration'], ['most_contacts', 'count'], ['most_handled', 'count']]
      .filter(function (k) { return hl[k[0]]; });
    if (!items.length) return null;
    return h('ul', { class: 'highlights' }, items.map(function (k) {
      var x = hl[k[0]];
      return h('li', null, h('span', { class: 'muted' }, t('reports.highlight.' + k[0])), ' ',
        h('strong', null, x.name || x.agent), ' ', h('span', null, fmt(k[1], x.value)));
    }));
  }
  function isEmpty(report) {
    var f = report.totals;
    return !(f.created || f.first_responses || f.resolved || f.reopened || f.contacts_in ||
      f.replies_out || f.breaches.total || f.csat.count);
  }

  // ---- the page ------------------------------------------------------------------------------
  function render(params, query) {
    var today = S.businessDay();
    var state = {
      to: parseDay(query.to) ? query.to : today,
      from: parseDay(query.from) ? query.from : null,
      department: query.department || '',
      by: GROUPINGS.indexOf(query.by) >= 0 ? query.by : 'day'
    };
    if (!state.from) state.from = addDays(state.to, -6);
    if (state.department && state.by !== 'day') state.by = 'day';

    var from = h('input', { type: 'date', id: 'report-from', name: 'from', value: state.from, max: today, required: true });
    var to = h('input', { type: 'date', id: 'report-to', name: 'to', value: state.to, max: today, required: true });
    var dept = h('select', { id: 'report-department', name: 'department' },
      h('option', { value: '' }, t('reports.all_departments')),
      (S.departments || []).filter(function (d) { return d.active !== false || d.name === state.department; })
        .map(function (d) { return h('option', { value: d.name, selected: d.name === state.department }, S.departmentLabel(d.name)); }));
    var by = h('select', { id: 'report-by', name: 'by' }, GROUPINGS.map(function (g) {
      return h('option', { value: g, selected: g === state.by }, t('reports.by.' + g));
    }));
    var csv = h('a', { class: 'csv', href: '#' }, t('reports.csv'));
    var problem = h('p', { class: 'error', role: 'alert', hidden: true });
    var controls = h('form', { class: 'report-controls', novalidate: true },
      h('div', { class: 'field' }, h('label', { for: 'report-from' }, t('reports.from')), from),
      h('div', { class: 'field' }, h('label', { for: 'report-to' }, t('reports.to')), to),
      h('div', { class: 'field' }, h('label', { for: 'report-department' }, t('reports.department')), dept),
      h('div', { class: 'field' }, h('label', { for: 'report-by' }, t('reports.group')), by),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, t('reports.show')), csv));
    var status = h('p', { class: 'muted status', role: 'status' });
    var results = h('div', { class: 'results' });
    var page = h('section', { class: 'reports-page' }, h('h1', null, t('nav.reports')), controls, problem, status, results);
    var cards = [];
    var csvUrl = null;
    var asked = 0; // the latest request: an older answer arriving later is dropped

    function check() {
      if (!parseDay(from.value) || !parseDay(to.value)) return t('reports.bad_date');
      if (to.value < from.value) return t('reports.bad_order');
      if (daysBetween(from.value, to.value) > MAX_DAYS) return t('reports.too_long', { n: MAX_DAYS });
      return null;
    }
    function forgetCsv() {
      if (csvUrl) URL.revokeObjectURL(csvUrl);
      csvUrl = null;
      csv.setAttribute('href', '#');
      csv.setAttribute('download', 'setu-report-' + state.from + '-' + state.to + '.csv');
    }
    function load() {
      if (!page.isConnected) return Promise.resolve();
      var wrong = check();
      problem.hidden = !wrong;
      problem.textContent = wrong || '';
      if (wrong) return Promise.resolve();
      state.from = from.value; state.to = to.value; state.department = dept.value; state.by = by.value;
      forgetCsv();
      history.replaceState(null, '', S.conf.root + 'reports' + S.query({ from: state.from, to: state.to,
        department: state.department, by: state.by === 'day' ? '' : state.by }));
      status.textContent = t('loading');
      results.setAttribute('aria-busy', 'true');
      var mine = ++asked;
      return S.api('GET', '/reports' + S.query(apiQuery())).then(function (report) {
        if (mine === asked && page.isConnected) show(report);
      }, function (err) {
        if ((err && err.status === 401) || mine !== asked) return;
        results.removeAttribute('aria-busy');
        status.textContent = '';
        S.clear(results).appendChild(S.errorBox(err));
      });
    }
    function apiQuery(format) {
      return { from: state.from, to: state.to, department: state.department,
        by: state.by === 'day' ? '' : state.by, format: format };
    }
    function show(report) {
      results.removeAttribute('aria-busy');
      var span = daysBetween(report.from, report.to);
      status.textContent = t('reports.range', { from: longDay(report.from), to: longDay(report.to), n: span }) +
        (report.department ? ' · ' + S.departmentLabel(report.department) : '');
      var empty = isEmpty(report);
      cards = (report.by === 'day' ? dayCards(report) : groupCards(report)).concat([csatCard(report), backlogCard(report)]);
      S.clear(results);
      S.append(results, [
        empty ? h('p', { class: 'notice no-data' }, t('reports.no_data_period')) : null,
        totalsList(report),
        report.by !== 'day' && !(report.groups || []).length && !empty ? h('p', { class: 'notice' }, t('reports.no_groups')) : null,
        highlightsList(report),
        h('div', { class: 'charts' }, cards)
      ]);
      cards.forEach(function (c) { c.redraw(); });
      if (watcher) {
        watcher.disconnect();
        cards.forEach(function (c) { watcher.observe(c.holder); });
      }
    }

    controls.addEventListener('submit', function (e) { e.preventDefault(); load(); });
    dept.addEventListener('change', function () { if (dept.value && by.value !== 'day') by.value = 'day'; load(); });
    by.addEventListener('change', function () { if (by.value !== 'day' && dept.value) dept.value = ''; load(); });
    from.addEventListener('change', load);
    to.addEventListener('change', load);
    csv.addEventListener('click', function (e) {
      if (csvUrl) return; // the Blob is ready: the link downloads it
      e.preventDefault();
      if (check()) return;
      csv.setAttribute('aria-busy', 'true');
      S.api('GET', '/reports' + S.query(apiQuery('csv')), undefined, { raw: true }).then(function (text) {
        csv.removeAttribute('aria-busy');
        csvUrl = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
        csv.setAttribute('href', csvUrl);
        csv.click();
      }, function (err) {
        csv.removeAttribute('aria-busy');
        if (err && err.status !== 401) S.toast(S.errorText(err), 'error');
      });
    });

    // a chart is drawn for the width its box has: redrawn when that changes (the window is
    // resized, the page grows a scroll bar), until the page is left
    var timer = null;
    function resized() {
      if (!page.isConnected) {
        if (watcher) watcher.disconnect(); else window.removeEventListener('resize', resized);
        forgetCsv();
        return;
      }
      clearTimeout(timer);
      timer = setTimeout(function () { cards.forEach(function (c) { c.redraw(true); }); }, 100);
    }
    var watcher = window.ResizeObserver ? new ResizeObserver(resized) : null;
    if (!watcher) window.addEventListener('resize', resized);

    // the page goes in first, so the charts can measure the room they have
    setTimeout(load, 0);
    return page;
  }

  S.page('reports', { nav: 30, title: 'nav.reports', roles: ['lead', 'admin'], render: render });

  S.strings({
    en: {
      'nav.reports': 'Reports',
      'reports.from': 'From', 'reports.to': 'To', 'reports.department': 'Department',
      'reports.all_departments': 'All departments', 'reports.group': 'Group by',
      'reports.by.day': 'Day', 'reports.by.agent': 'Agent', 'reports.by.department': 'Department',
      'reports.by.channel': 'Channel', 'reports.show': 'Show',
      'reports.head.agent': 'Agent', 'reports.head.department': 'Department', 'reports.head.channel': 'Channel', 'reports.csv': 'Download CSV',
      'reports.bad_date': 'Choose both dates.', 'reports.bad_order': '"To" must be on or after "From".',
      'reports.too_long': 'A report covers at most {n} days.',
      'reports.range': '{from} – {to} ({n} days)',
      'reports.no_data': 'No data in this period',
      'reports.no_data_period': 'No data in this period. The charts fill in as tickets come and get answered.',
      'reports.no_groups': 'Nothing to group in this period.',
      'reports.overall': 'For the whole period: {v}.', 'reports.no_data_sentence': 'No data in this period.',
      'reports.aria': '{title}. {what} The numbers are in the table under the chart.',
      'reports.overall_ratings': '{n} ratings in the period.', 'reports.overall_open': '{n} tickets open now.',
      'reports.table': 'Show the numbers', 'reports.day': 'Day', 'reports.total': 'Whole period',
      'reports.p90': '90% within', 'reports.tickets': 'Tickets', 'reports.reopened': 'Reopened',
      'reports.contacts_in': 'Customer messages', 'reports.ratings': 'Ratings', 'reports.rating': 'Rating',
      'reports.score': '{n} of 5', 'reports.age': 'Age',
      'reports.under_minute': 'under 1 min',
      'reports.target.first_response': 'First response', 'reports.target.next_reply': 'Next reply',
      'reports.target.resolution': 'Resolution',
      'reports.chart.first_response': 'First response time', 'reports.chart.resolution': 'Resolution time',
      'reports.chart.breaches': 'SLA breaches', 'reports.chart.created': 'New tickets',
      'reports.chart.resolved': 'Resolved tickets', 'reports.chart.replies_out': 'Replies sent',
      'reports.chart.csat': 'Customer satisfaction (CSAT)', 'reports.chart.csat_scores': 'CSAT ratings',
      'reports.chart.backlog': 'Open tickets now, by age',
      'reports.col.first_response': 'Median', 'reports.col.resolution': 'Median', 'reports.col.breaches': 'Breaches',
      'reports.col.created': 'New', 'reports.col.resolved': 'Resolved', 'reports.col.replies_out': 'Replies',
      'reports.col.csat': 'Average', 'reports.col.csat_scores': 'Ratings', 'reports.col.backlog': 'Open tickets',
      'reports.hint.first_response': 'Median business time from a new ticket to the first agent reply.',
      'reports.hint.resolution': 'Median business time from a new ticket to its resolution.',
      'reports.hint.breaches': 'SLA targets missed (first response, next reply, resolution).',
      'reports.hint.created': 'Tickets that came in.', 'reports.hint.resolved': 'Tickets resolved or closed.',
      'reports.hint.replies_out': 'Agent replies sent, on any channel.',
      'reports.hint.csat': 'Average rating (1–5) from customers.',
      'reports.hint.csat_scores': 'How many customers gave each rating in this period.',
      'reports.hint.backlog': 'Tickets still open now, by days since they came in (not limited to the period).',
      'reports.age.0-1d': 'Under 1 day', 'reports.age.1-3d': '1–3 days', 'reports.age.3-7d': '3–7 days',
      'reports.age.7-30d': '7–30 days', 'reports.age.>30d': 'Over 30 days',
      'reports.total.created': 'New tickets', 'reports.total.resolved': 'Resolved',
      'reports.total.first_response': 'First response (median)', 'reports.total.resolution': 'Resolution (median)',
      'reports.total.breaches': 'SLA breaches', 'reports.total.csat': 'CSAT (average)', 'reports.total.backlog': 'Open now',
      'reports.highlight.fastest_responder': 'Fastest first response:', 'reports.highlight.most_contacts': 'Most replies:',
      'reports.highlight.most_handled': 'Most resolved:'
    },
    bn: {
      'nav.reports': 'রিপোর্ট',
      'reports.from': 'শুরুর তারিখ', 'reports.to': 'শেষ তারিখ', 'reports.department': 'বিভাগ',
      'reports.all_departments': 'সব বিভাগ', 'reports.group': 'ভাগ করে দেখুন',
      'reports.by.day': 'দিন অনুযায়ী', 'reports.by.agent': 'এজেন্ট অনুযায়ী', 'reports.by.department': 'বিভাগ অনুযায়ী',
      'reports.by.channel': 'মাধ্যম অনুযায়ী', 'reports.show': 'দেখুন',
      'reports.head.agent': 'এজেন্ট', 'reports.head.department': 'বিভাগ', 'reports.head.channel': 'মাধ্যম', 'reports.csv': 'CSV ডাউনলোড',
      'reports.bad_date': 'দুটো তারিখই বেছে নিন।', 'reports.bad_order': 'শেষ তারিখ শুরুর তারিখের আগে হতে পারে না।',
      'reports.too_long': 'একটি রিপোর্টে সর্বোচ্চ {n} দিন দেখা যায়।',
      'reports.range': '{from} – {to} ({n} দিন)',
      'reports.no_data': 'এই সময়ে কোনো তথ্য নেই',
      'reports.no_data_period': 'এই সময়ে কোনো তথ্য নেই। টিকিট এলে ও উত্তর দিলে চার্টগুলো ভরে উঠবে।',
      'reports.no_groups': 'এই সময়ে ভাগ করে দেখানোর মতো কিছু নেই।',
      'reports.overall': 'পুরো সময়ে: {v}।', 'reports.no_data_sentence': 'এই সময়ে কোনো তথ্য নেই।',
      'reports.aria': '{title}। {what} সংখ্যাগুলো চার্টের নিচের টেবিলে আছে।',
      'reports.overall_ratings': 'এই সময়ে {n}টি রেটিং।', 'reports.overall_open': 'এখন {n}টি টিকিট খোলা।',
      'reports.table': 'সংখ্যাগুলো দেখুন', 'reports.day': 'দিন', 'reports.total': 'পুরো সময়',
      'reports.p90': '৯০% এর মধ্যে', 'reports.tickets': 'টিকিট', 'reports.reopened': 'আবার খোলা',
      'reports.contacts_in': 'গ্রাহকের বার্তা', 'reports.ratings': 'রেটিং', 'reports.rating': 'রেটিং',
      'reports.score': '৫-এ {n}', 'reports.age': 'বয়স',
      'reports.under_minute': '১ মিনিটের কম',
      'reports.target.first_response': 'প্রথম উত্তর', 'reports.target.next_reply': 'পরের উত্তর',
      'reports.target.resolution': 'সমাধান',
      'reports.chart.first_response': 'প্রথম উত্তরের সময়', 'reports.chart.resolution': 'সমাধানের সময়',
      'reports.chart.breaches': 'SLA লঙ্ঘন', 'reports.chart.created': 'নতুন টিকিট',
      'reports.chart.resolved': 'সমাধান হওয়া টিকিট', 'reports.chart.replies_out': 'পাঠানো উত্তর',
      'reports.chart.csat': 'গ্রাহক সন্তুষ্টি (CSAT)', 'reports.chart.csat_scores': 'CSAT রেটিং',
      'reports.chart.backlog': 'এখন খোলা টিকিট, বয়স অনুযায়ী',
      'reports.col.first_response': 'মধ্যমা', 'reports.col.resolution': 'মধ্যমা', 'reports.col.breaches': 'লঙ্ঘন',
      'reports.col.created': 'নতুন', 'reports.col.resolved': 'সমাধান', 'reports.col.replies_out': 'উত্তর',
      'reports.col.csat': 'গড়', 'reports.col.csat_scores': 'রেটিং', 'reports.col.backlog': 'খোলা টিকিট',
      'reports.hint.first_response': 'নতুন টিকিট আসা থেকে এজেন্টের প্রথম উত্তর পর্যন্ত কর্মঘণ্টার মধ্যমা।',
      'reports.hint.resolution': 'নতুন টিকিট আসা থেকে সমাধান পর্যন্ত কর্মঘণ্টার মধ্যমা।',
      'reports.hint.breaches': 'যে SLA সময়সীমাগুলো পেরিয়ে গেছে (প্রথম উত্তর, পরের উত্তর, সমাধান)।',
      'reports.hint.created': 'যত টিকিট এসেছে।', 'reports.hint.resolved': 'যত টিকিট সমাধান বা বন্ধ হয়েছে।',
      'reports.hint.replies_out': 'এজেন্টদের পাঠানো উত্তর, সব মাধ্যমে।',
      'reports.hint.csat': 'গ্রাহকদের দেওয়া গড় রেটিং (১–৫)।',
      'reports.hint.csat_scores': 'এই সময়ে কতজন গ্রাহক কোন রেটিং দিয়েছেন।',
      'reports.hint.backlog': 'এখনও খোলা টিকিট, আসার পর কত দিন হলো সে অনুযায়ী (বেছে নেওয়া সময়ে সীমাবদ্ধ নয়)।',
      'reports.age.0-1d': '১ দিনের কম', 'reports.age.1-3d': '১–৩ দিন', 'reports.age.3-7d': '৩–৭ দিন',
      'reports.age.7-30d': '৭–৩০ দিন', 'reports.age.>30d': '৩০ দিনের বেশি',
      'reports.total.created': 'নতুন টিকিট', 'reports.total.resolved': 'সমাধান হয়েছে',
      'reports.total.first_response': 'প্রথম উত্তর (মধ্যমা)', 'reports.total.resolution': 'সমাধান (মধ্যমা)',
      'reports.total.breaches': 'SLA লঙ্ঘন', 'reports.total.csat': 'CSAT (গড়)', 'reports.total.backlog': 'এখন খোলা',
      'reports.highlight.fastest_responder': 'সবচেয়ে দ্রুত প্রথম উত্তর:', 'reports.highlight.most_contacts': 'সবচেয়ে বেশি উত্তর:',
      'reports.highlight.most_handled': 'সবচেয়ে বেশি সমাধান:'
    }
  });
})();
