/* Setu console: the core every page uses (docs/console.md, "How the console is built").
 *
 * window.Setu holds: the configuration the shell gives (Setu.conf), strings in bn and en
 * (Setu.strings, Setu.t), numbers and dates in the business time zone with Bengali digits in bn
 * (Setu.num, Setu.when, Setu.dueBadge), a DOM builder that never parses HTML (Setu.h), the
 * session (Cognito tokens; Setu.cognito, Setu.idToken, Setu.signOut), the API client
 * (Setu.api: /console/api/... with the ID token; 401 -> one refresh, then the sign-in page) and
 * the router (Setu.page registers a page, Setu.go navigates). A session Setu refuses (403 on
 * /me: a deactivated agent, a user never linked to one) gets a page saying so, with Sign out.
 *
 * No data is shown without a session: with no tokens, or tokens that can no longer be
 * refreshed, every path renders the sign-in page (and remembers where the person was going).
 */
(function () {
  'use strict';
  var conf = JSON.parse(document.getElementById('setu-config').textContent);
  var STR = { en: {}, bn: {} };
  var PAGES = {};
  var timers = [];
  var SESSION_KEY = 'setu.session';
  var Setu = window.Setu = { conf: conf, me: null, PAGES: PAGES };
  /* The shortest password the user pool takes (infra/template.yaml, ConsoleUserPool's
   * PasswordPolicy: also upper and lower case letters and a digit; a unit test compares). */
  Setu.PASSWORD_MIN = 12;

  // ---- language -------------------------------------------------------------------------
  function pickLang() {
    var stored = localStorage.getItem('setu.lang');
    if (stored === 'bn' || stored === 'en') return stored;
    var langs = navigator.languages || [navigator.language || 'bn'];
    for (var i = 0; i < langs.length; i++) {
      var l = String(langs[i]).toLowerCase();
      if (l.indexOf('bn') === 0) return 'bn';
      if (l.indexOf('en') === 0) return 'en';
    }
    return 'bn';
  }
  Setu.lang = pickLang();
  Setu.strings = function (dict) {
    Object.keys(dict).forEach(function (l) { Object.assign(STR[l] = STR[l] || {}, dict[l]); });
  };
  /* t('queue.count', {n: 3}) -> the string in the current language, {n} filled in (numbers in
   * the language's digits). A key missing in bn falls back to en, then to the key itself. */
  Setu.t = function (key, vars) {
    var s = STR[Setu.lang][key];
    if (s === undefined) s = STR.en[key];
    if (s === undefined) s = key;
    if (vars) {
      s = s.replace(/\{(\w+)\}/g, function (m, name) {
        var v = vars[name];
        if (v === undefined || v === null) return '';
        return typeof v === 'number' ? Setu.num(v) : String(v);
      });
    }
    return s;
  };
  Setu.setLang = function (l) {
    localStorage.setItem('setu.lang', l);
    Setu.lang = l;
    Setu.render();
  };
  Setu.locale = function () { return Setu.lang === 'bn' ? 'bn-BD' : 'en-GB'; };

  // ---- numbers, dates, durations --------------------------------------------------------
  var BN_DIGITS = '০১২৩৪৫৬৭৮৯';
  Setu.digits = function (text) {
    text = String(text);
    return Setu.lang === 'bn' ? text.replace(/[0-9]/g, function (d) { return BN_DIGITS[+d]; }) : text;
  };
  Setu.num = function (n, opts) {
    if (n === null || n === undefined || n === '') return '–';
    return new Intl.NumberFormat(Setu.lang === 'bn' ? 'bn-BD' : 'en-US', opts || {}).format(n);
  };
  /* A time in the business time zone: 'full' (7 Dec 2026, 15:04), 'date', 'time', 'short'. */
  Setu.when = function (iso, style) {
    if (!iso) return '–';
    var d = new Date(iso);
    if (isNaN(d)) return String(iso);
    var o = { timeZone: conf.timezone };
    if (style === 'date') { o.day = 'numeric'; o.month = 'short'; o.year = 'numeric'; }
    else if (style === 'time') { o.hour = '2-digit'; o.minute = '2-digit'; o.hour12 = false; }
    else if (style === 'short') { o.day = 'numeric'; o.month = 'short'; o.hour = '2-digit'; o.minute = '2-digit'; o.hour12 = false; }
    else { o.day = 'numeric'; o.month = 'short'; o.year = 'numeric'; o.hour = '2-digit'; o.minute = '2-digit'; o.hour12 = false; }
    return new Intl.DateTimeFormat(Setu.locale(), o).format(d);
  };
  /* The business day (YYYY-MM-DD) of a Date in the business time zone. */
  Setu.businessDay = function (d) {
    var parts = new Intl.DateTimeFormat('en-CA', { timeZone: conf.timezone, year: 'numeric',
      month: '2-digit', day: '2-digit' }).format(d || new Date());
    return parts;
  };
  /* 2 h 5 min, 3 d 4 h, 12 min (in the language, its digits); ms may be negative (abs used). */
  Setu.duration = function (ms) {
    var m = Math.round(Math.abs(ms) / 60000);
    var d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60), min = m % 60;
    var parts = [];
    if (d) parts.push(Setu.t('dur.d', { n: d }));
    if (h) parts.push(Setu.t('dur.h', { n: h }));
    if (!d && (min || !h)) parts.push(Setu.t('dur.min', { n: min }));
    return parts.slice(0, 2).join(' ');
  };
  /* The SLA badge: time left, "due soon" within the hour, or how long overdue. */
  Setu.dueBadge = function (iso, breached) {
    if (!iso) return null;
    var left = new Date(iso) - Date.now();
    var cls = 'badge due', text;
    if (left < 0 || breached) { cls = 'badge breached'; text = Setu.t('sla.overdue', { d: Setu.duration(left) }); }
    else { if (left < 3600000) cls = 'badge soon'; text = Setu.t('sla.left', { d: Setu.duration(left) }); }
    return Setu.h('span', { class: cls, title: Setu.when(iso) }, text);
  };
  Setu.label = function (kind, value) {
    if (value === null || value === undefined || value === '') return '–';
    var key = kind + '.' + value;
    var s = Setu.t(key);
    return s === key ? String(value) : s;
  };
  Setu.departmentLabel = function (name) {
    var found = (Setu.departments || []).filter(function (d) { return d.name === name; })[0];
    return found && found.labels ? (found.labels[Setu.lang] || found.labels.en || name) : (name || '–');
  };

  // ---- DOM --------------------------------------------------------------------------------
  /* h('a', {href: 'x', class: 'y', onclick: fn}, 'text', child, [more]) -> an element; text is
   * always a text node (never parsed as HTML). An on* attribute is only ever a function (a
   * string would be inline script), and a link or source whose scheme runs script or carries
   * a document (javascript:, data:, vbscript:) is left out: the CSP blocks both too. */
  var URL_ATTRS = { href: 1, src: 1, action: 1, formaction: 1, 'xlink:href': 1 };
  var BAD_SCHEME = /^(javascript|data|vbscript):/i;
  Setu.h = function (tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        var on = k.slice(0, 2).toLowerCase() === 'on';
        if (on && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else if (on) return;
        else if (URL_ATTRS[k.toLowerCase()] && BAD_SCHEME.test(String(v).replace(/[\u0000-\u0020\u007f-\u009f]/g, ''))) return;
        else if (k === 'value') el.value = v;
        else if (k === 'checked' || k === 'selected' || k === 'disabled') el[k] = !!v;
        else el.setAttribute(k, v === true ? '' : String(v));
      });
    }
    for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  };
  function append(el, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(el, c); }); return; }
    el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  Setu.append = append;
  Setu.clear = function (el) { while (el.firstChild) el.removeChild(el.firstChild); return el; };
  /* A link inside the console: path relative to the console's root ('tickets/1042'). */
  Setu.link = function (path, text, attrs) {
    return Setu.h('a', Object.assign({ href: conf.root + path, 'data-nav': '' }, attrs || {}), text);
  };
  Setu.toast = function (text, kind) {
    var box = document.getElementById('toasts');
    if (!box) return;
    var item = Setu.h('div', { class: 'toast ' + (kind || 'ok'), role: kind === 'error' ? 'alert' : 'status' }, text);
    box.appendChild(item);
    setTimeout(function () { item.remove(); }, kind === 'error' ? 8000 : 4000);
  };
  /* The message of an API error, with its field problems. */
  Setu.errorText = function (err) {
    if (!err) return Setu.t('error.generic');
    var text = err.message || Setu.t('error.generic');
    if (err.fields) {
      text += ' ' + Object.keys(err.fields).map(function (f) { return f + ': ' + err.fields[f]; }).join('; ');
    }
    return text;
  };
  Setu.errorBox = function (err) {
    return Setu.h('p', { class: 'error', role: 'alert' }, Setu.errorText(err));
  };
  /* setInterval that stops when the page changes. */
  Setu.every = function (ms, fn) { timers.push(setInterval(fn, ms)); };
  /* A labelled control: <div class="field"><label for=…>label</label> control [hint]</div>;
   * the control gets an id when it has none. */
  var fields = 0;
  Setu.field = function (label, control, hint) {
    if (!control.id) control.id = 'field-' + (++fields);
    return Setu.h('div', { class: 'field' }, Setu.h('label', { for: control.id }, label), control,
      hint ? Setu.h('small', { class: 'muted hint' }, hint) : null);
  };
  /* A form's controls switched off while its request runs (aria-busy), then back as each was. */
  Setu.busy = function (form, on) {
    form.querySelectorAll('button, input, select, textarea').forEach(function (el) {
      if (on) { el.dataset.wasDisabled = el.disabled ? '1' : ''; el.disabled = true; }
      else { el.disabled = el.dataset.wasDisabled === '1'; delete el.dataset.wasDisabled; }
    });
    form.setAttribute('aria-busy', on ? 'true' : 'false');
  };

  // ---- session (Amazon Cognito) ------------------------------------------------------------
  function CognitoError(type, message) { this.code = type; this.message = message; }
  /* One call to Cognito's user pool API, as the AWS SDK makes it (unsigned: these operations
   * take the app client's id, or the user's access token). */
  Setu.cognito = function (target, body) {
    return fetch(conf.cognito + '/', {
      method: 'POST', mode: 'cors', credentials: 'omit',
      headers: { 'Content-Type': 'application/x-amz-json-1.1',
                 'X-Amz-Target': 'AWSCognitoIdentityProviderService.' + target },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.text().then(function (text) {
        var data = {};
        try { data = text ? JSON.parse(text) : {}; } catch (e) { data = {}; }
        if (!r.ok) {
          var type = String(data.__type || data.code || 'Error').split('#').pop();
          throw new CognitoError(type, data.message || data.Message || type);
        }
        return data;
      });
    }, function () { throw new CognitoError('NetworkError', Setu.t('error.network')); });
  };
  Setu.session = function () {
    try { return JSON.parse(localStorage.getItem(SESSION_KEY) || 'null'); } catch (e) { return null; }
  };
  function claims(jwt) {
    try {
      var part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      return JSON.parse(decodeURIComponent(escape(atob(part))));
    } catch (e) { return {}; }
  }
  /* Keep what InitiateAuth / RespondToAuthChallenge answered (AuthenticationResult). */
  Setu.saveTokens = function (result, username) {
    var old = Setu.session() || {};
    var c = claims(result.IdToken);
    var session = { id: result.IdToken, access: result.AccessToken,
      refresh: result.RefreshToken || old.refresh, exp: (c.exp || 0) * 1000,
      username: username || old.username || c.email };
    localStorage.setItem(SESSION_KEY, JSON.stringify(session));
    return session;
  };
  Setu.forget = function () { localStorage.removeItem(SESSION_KEY); Setu.me = null; };
  var refreshing = null;
  function refresh(session) {
    if (!session || !session.refresh) return Promise.resolve(null);
    if (!refreshing) {
      refreshing = Setu.cognito('InitiateAuth', { AuthFlow: 'REFRESH_TOKEN_AUTH', ClientId: conf.clientId,
        AuthParameters: { REFRESH_TOKEN: session.refresh } })
        .then(function (r) { return r.AuthenticationResult ? Setu.saveTokens(r.AuthenticationResult).id : null; },
              function () { return null; })
        .then(function (id) { refreshing = null; return id; });
    }
    return refreshing;
  }
  /* A valid ID token (refreshed when it expires within a minute), or null: sign in again. */
  Setu.idToken = function (force) {
    var s = Setu.session();
    if (!s || !s.id) return Promise.resolve(null);
    if (!force && s.exp - 60000 > Date.now()) return Promise.resolve(s.id);
    return refresh(s);
  };
  Setu.signOut = function () {
    var s = Setu.session();
    Setu.forget();
    // and this tab's drafts (sessionStorage): the next person at this computer starts clean
    sessionStorage.clear();
    var done = s && s.refresh ? Setu.cognito('RevokeToken', { Token: s.refresh, ClientId: conf.clientId })
      .catch(function () { return null; }) : Promise.resolve();
    return done.then(function () { Setu.go('signin'); });
  };

  // ---- API ----------------------------------------------------------------------------------
  function ApiError(status, error) {
    this.status = status; this.code = (error && error.code) || 'error';
    this.message = (error && error.message) || ''; this.fields = error && error.fields;
  }
  Setu.ApiError = ApiError;
  function needSignIn() {
    Setu.forget();
    Setu.go('signin', true);
    return new ApiError(401, { code: 'unauthenticated', message: Setu.t('signin.expired') });
  }
  /* api('GET', '/tickets?status=new') -> the answer's JSON (text with {raw: true});
   * errors reject with ApiError {status, code, message, fields}. */
  Setu.api = function (method, path, body, opts) {
    opts = opts || {};
    function call(token) {
      var headers = { Authorization: 'Bearer ' + token, Accept: opts.raw ? 'text/csv' : 'application/json' };
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      return fetch(conf.api + path, { method: method, headers: headers, credentials: 'omit',
        body: body === undefined ? undefined : JSON.stringify(body) });
    }
    return Setu.idToken().then(function (token) {
      if (!token) throw needSignIn();
      return call(token).then(function (r) {
        if (r.status !== 401) return r;
        return Setu.idToken(true).then(function (again) {
          if (!again) throw needSignIn();
          return call(again).then(function (r2) { if (r2.status === 401) throw needSignIn(); return r2; });
        });
      });
    }).then(function (r) {
      return r.text().then(function (text) {
        if (!r.ok) {
          var err = {};
          try { err = JSON.parse(text).error || {}; } catch (e) { err = { message: text }; }
          if (r.status === 403 && path !== '/me' && Setu.me) stillLetIn();
          throw new ApiError(r.status, err);
        }
        if (opts.raw) return text;
        return text ? JSON.parse(text) : null;
      });
    });
  };
  /* A 403 on an open page may mean the account was switched off since /me was read: ask /me
   * again (once at a time); refused there too, the page gives way to the refusal. */
  var asking = null;
  function stillLetIn() {
    if (asking) return asking;
    asking = Setu.api('GET', '/me').then(function (me) { Object.assign(Setu.me || {}, me); }, function (err) {
      if (err && err.status === 403) refuse();
    }).then(function () { asking = null; });
    return asking;
  }
  Setu.query = function (params) {
    var parts = [];
    Object.keys(params).forEach(function (k) {
      var v = params[k];
      if (v === null || v === undefined || v === '') return;
      parts.push(encodeURIComponent(k) + '=' + encodeURIComponent(v));
    });
    return parts.length ? '?' + parts.join('&') : '';
  };
  Setu.loadDepartments = function () {
    return Setu.api('GET', '/departments').then(function (r) { Setu.departments = r.items || []; return Setu.departments; });
  };
  Setu.isLead = function () { return Setu.me && (Setu.me.role === 'lead' || Setu.me.role === 'admin'); };
  Setu.isAdmin = function () { return Setu.me && Setu.me.role === 'admin'; };

  // ---- router -------------------------------------------------------------------------------
  /* page('queue', {render(params, query) -> Node | Promise<Node>, nav: 10, title: 'nav.queue',
   * roles: ['lead', 'admin'], public: false, match: /^tickets\/([^/]+)$/}) */
  Setu.page = function (name, def) { def.name = name; PAGES[name] = def; };
  function resolve(path) {
    var names = Object.keys(PAGES);
    for (var i = 0; i < names.length; i++) {
      var def = PAGES[names[i]];
      if (def.match) { var m = path.match(def.match); if (m) return { def: def, params: m.slice(1) }; }
    }
    return { def: PAGES[path || 'queue'] || null, params: [] };
  }
  function currentPath() {
    var p = location.pathname;
    var root = conf.root;
    if (p.indexOf(root) === 0) p = p.slice(root.length);
    else if (p + '/' === root) p = '';
    return decodeURIComponent(p.replace(/\/+$/, ''));
  }
  Setu.go = function (path, replace) {
    var url = conf.root + path;
    if (replace) history.replaceState(null, '', url); else history.pushState(null, '', url);
    Setu.render();
  };
  Setu.params = function () {
    var out = {};
    new URLSearchParams(location.search).forEach(function (v, k) { out[k] = v; });
    return out;
  };
  var renderCount = 0;
  Setu.render = function () {
    var mine = ++renderCount;
    timers.forEach(clearInterval); timers = [];
    document.documentElement.lang = Setu.lang;
    var path = currentPath();
    var found = resolve(path);
    var app = document.getElementById('app');
    if (!found.def || (!found.def.public && !Setu.session())) {
      if (found.def && found.def.name !== 'signin') sessionStorage.setItem('setu.next', path + location.search);
      found = { def: PAGES.signin, params: [] };
      if (path !== 'signin') history.replaceState(null, '', conf.root + 'signin');
    }
    var def = found.def;
    var ready = def.public ? Promise.resolve() : loadMe();
    return ready.then(function () {
      if (mine !== renderCount) return;
      if (def.roles && def.roles.indexOf(Setu.me.role) < 0) {
        layout(app, def, Setu.h('p', { class: 'error' }, Setu.t('error.role')));
        return;
      }
      var main = layout(app, def, Setu.h('p', { class: 'loading' }, Setu.t('loading')));
      return Promise.resolve(def.render(found.params, Setu.params())).then(function (node) {
        if (mine !== renderCount) return;
        Setu.clear(main); append(main, node);
        var focus = main.querySelector('[autofocus]');
        if (focus) focus.focus();
      });
    }).catch(function (err) {
      if (mine !== renderCount || (err && err.status === 401)) return;
      if (err && err.refused) { refuse(); return; }
      var main = document.getElementById('main') || app;
      Setu.clear(main).appendChild(Setu.errorBox(err));
    });
  };
  function loadMe() {
    if (Setu.me) return Promise.resolve(Setu.me);
    return Promise.all([Setu.api('GET', '/me'), Setu.loadDepartments()]).then(function (r) {
      Setu.me = r[0];
      return Setu.me;
    }, function (err) {
      // a valid session, but Setu serves no agent for it (deactivated, or never invited): both
      // calls are open to every agent, so a 403 here is the refusal, not a page's role check
      if (err && err.status === 403) err.refused = true;
      throw err;
    });
  }
  /* The page a signed-in person Setu refuses gets instead of any other: no navigation, no data,
   * what happened in their language, and a way out (signing out). Whatever page was drawing
   * stops (its timers, a render under way). */
  function refuse() {
    renderCount++;
    timers.forEach(clearInterval); timers = [];
    Setu.me = null;
    var main = layout(document.getElementById('app'), { bare: true, title: 'refused.title' }, null);
    append(main, Setu.h('section', { class: 'card refused-page', role: 'alert' },
      Setu.h('h1', null, Setu.t('refused.title')),
      Setu.h('p', null, Setu.t('refused.help')),
      Setu.h('p', null, Setu.h('button', { type: 'button', class: 'primary signout',
        onclick: function () { Setu.signOut(); } }, Setu.t('signout')))));
  }
  /* Header (navigation, language, sign out) and <main>; returns <main>. */
  function layout(app, def, content) {
    Setu.clear(app);
    var title = def.title ? Setu.t(def.title) : 'Setu';
    document.title = title + ' · ' + Setu.t('brand');
    if (def.bare) {
      var bare = Setu.h('main', { id: 'main', class: 'bare' }, content);
      app.appendChild(Setu.h('div', { class: 'langbar' }, langSwitch()));
      app.appendChild(bare);
      app.appendChild(Setu.h('div', { id: 'toasts', class: 'toasts' }));
      return bare;
    }
    var items = Object.keys(PAGES).map(function (k) { return PAGES[k]; })
      .filter(function (p) { return p.nav && (!p.roles || p.roles.indexOf(Setu.me.role) >= 0); })
      .sort(function (a, b) { return a.nav - b.nav; });
    var nav = Setu.h('nav', { class: 'nav', 'aria-label': Setu.t('nav.label') },
      items.map(function (p) {
        return Setu.link(p.name, Setu.t(p.title), { class: p === def ? 'active' : null,
          'aria-current': p === def ? 'page' : null });
      }));
    var header = Setu.h('header', { class: 'top' },
      Setu.link('queue', Setu.t('brand'), { class: 'brand' }),
      nav,
      Setu.h('div', { class: 'who' },
        langSwitch(),
        Setu.link('account', (Setu.me.display_name || Setu.me.short_name || ''), { class: 'me', title: Setu.t('nav.account') }),
        Setu.h('button', { type: 'button', class: 'link signout', onclick: function () { Setu.signOut(); } }, Setu.t('signout'))));
    var main = Setu.h('main', { id: 'main' }, content);
    app.appendChild(header);
    app.appendChild(main);
    app.appendChild(Setu.h('div', { id: 'toasts', class: 'toasts' }));
    return main;
  }
  function langSwitch() {
    var other = Setu.lang === 'bn' ? 'en' : 'bn';
    return Setu.h('button', { type: 'button', class: 'link lang', lang: other, 'data-lang': other,
      onclick: function () { Setu.setLang(other); } }, other === 'bn' ? 'বাংলা' : 'English');
  }

  document.addEventListener('click', function (e) {
    var a = e.target.closest && e.target.closest('a[data-nav]');
    if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    history.pushState(null, '', a.getAttribute('href'));
    Setu.render();
  });
  window.addEventListener('popstate', function () { Setu.render(); });
  // a page restored from the back/forward cache (Back after signing out) is drawn again, from
  // the session as it is now: no session, the sign-in page, never the data it showed before
  window.addEventListener('pageshow', function (e) { if (e.persisted) Setu.render(); });
  document.addEventListener('DOMContentLoaded', function () { Setu.render(); });

  Setu.strings({
    en: {
      brand: 'Setu', loading: 'Loading…', signout: 'Sign out', 'nav.label': 'Console',
      'nav.account': 'Your account', 'error.generic': 'Something went wrong. Try again.',
      'error.network': 'Cannot reach the server. Check the connection and try again.',
      'error.role': 'Your role cannot open this page. Ask an admin if you need it.', 'signin.expired': 'Your session has ended. Sign in again.',
      'refused.title': 'Your account is switched off',
      'refused.help': 'You are signed in, but Setu does not let this account in: an admin has switched it off, or has not finished inviting you. Ask an admin to switch it on, then open the console again.',
      'dur.d': '{n} d', 'dur.h': '{n} h', 'dur.min': '{n} min',
      'sla.left': '{d} left', 'sla.overdue': '{d} overdue',
      'status.new': 'New', 'status.open': 'Open', 'status.pending': 'Pending', 'status.on_hold': 'On hold',
      'status.solved': 'Solved', 'status.resolved': 'Resolved', 'status.closed': 'Closed', 'status.merged': 'Merged',
      'priority.low': 'Low', 'priority.normal': 'Normal', 'priority.high': 'High', 'priority.urgent': 'Urgent',
      'channel.web': 'Web form', 'channel.email': 'Email', 'channel.sms': 'SMS',
      'role.agent': 'Agent', 'role.lead': 'Lead', 'role.admin': 'Admin',
      save: 'Save', cancel: 'Cancel', none: 'None'
    },
    bn: {
      brand: 'সেতু', loading: 'লোড হচ্ছে…', signout: 'সাইন আউট', 'nav.label': 'কনসোল',
      'nav.account': 'আপনার অ্যাকাউন্ট', 'error.generic': 'কিছু একটা ভুল হয়েছে। আবার চেষ্টা করুন।',
      'error.network': 'সার্ভারে পৌঁছানো যাচ্ছে না। সংযোগ দেখে আবার চেষ্টা করুন।',
      'error.role': 'আপনার ভূমিকায় এই পাতা খোলা যায় না। দরকার হলে একজন অ্যাডমিনকে বলুন।', 'signin.expired': 'আপনার সেশন শেষ হয়েছে। আবার সাইন ইন করুন।',
      'refused.title': 'আপনার অ্যাকাউন্ট বন্ধ করা আছে',
      'refused.help': 'আপনি সাইন ইন করেছেন, কিন্তু সেতু এই অ্যাকাউন্টে ঢুকতে দিচ্ছে না: একজন অ্যাডমিন এটি বন্ধ করেছেন, অথবা আপনার আমন্ত্রণ এখনও সম্পূর্ণ হয়নি। অ্যাডমিনকে চালু করতে বলুন, তারপর কনসোলটি আবার খুলুন।',
      'dur.d': '{n} দিন', 'dur.h': '{n} ঘণ্টা', 'dur.min': '{n} মিনিট',
      'sla.left': '{d} বাকি', 'sla.overdue': '{d} পেরিয়ে গেছে',
      'status.new': 'নতুন', 'status.open': 'খোলা', 'status.pending': 'অপেক্ষমাণ', 'status.on_hold': 'স্থগিত',
      'status.solved': 'সমাধান হয়েছে', 'status.resolved': 'সমাধান হয়েছে', 'status.closed': 'বন্ধ', 'status.merged': 'একীভূত',
      'priority.low': 'কম', 'priority.normal': 'সাধারণ', 'priority.high': 'উচ্চ', 'priority.urgent': 'জরুরি',
      'channel.web': 'ওয়েব ফর্ম', 'channel.email': 'ইমেইল', 'channel.sms': 'এসএমএস',
      'role.agent': 'এজেন্ট', 'role.lead': 'লিড', 'role.admin': 'অ্যাডমিন',
      save: 'সংরক্ষণ', cancel: 'বাতিল', none: 'কেউ না'
    }
  });
})();
