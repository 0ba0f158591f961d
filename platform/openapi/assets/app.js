// API reference page: fetches the OpenAPI document named by the
// openapi-spec-url meta tag, lists its operations by tag and lets the
// reader send requests to this same origin. It loads nothing else.
(function () {
  'use strict';

  var TOKEN_KEY = 'openapi-docs.bearer-token';
  var METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
  var SHOWN_HEADERS = /^(x-request-id|x-ratelimit-.*|retry-after|content-type)$/i;
  var MAX_DEPTH = 12;
  var MAX_BODY_CHARS = 200000;

  var spec = null;
  var entries = []; // one per operation: {method, path, op, tag, el, text}
  var groups = []; // one per tag: {name, el, link, count, entries}

  function $(id) { return document.getElementById(id); }

  // h builds an element: h('p', {className: 'x'}, 'text', child, ...).
  function h(tag, props) {
    var node = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (k) {
        var v = props[k];
        if (v === undefined || v === null || v === false) return;
        if (k === 'className' || k === 'textContent' || k === 'value' || k === 'hidden' ||
            k === 'open' || k === 'required' || k === 'disabled' || k === 'htmlFor') {
          node[k] = v;
        } else {
          node.setAttribute(k, v === true ? '' : String(v));
        }
      });
    }
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  function append(node, child) {
    if (child === undefined || child === null || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(node, c); }); return; }
    node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }

  function setStatus(text, isError) {
    var s = $('status');
    s.textContent = text;
    s.className = isError ? 'error' : '';
    s.setAttribute('role', isError ? 'alert' : 'status');
    s.hidden = !text;
  }

  // --- Token -------------------------------------------------------------

  function storage() {
    try { return window.sessionStorage; } catch (e) { return null; }
  }

  function getToken() { return $('token').value.trim(); }

  function initToken() {
    var input = $('token');
    var store = storage();
    if (store) input.value = store.getItem(TOKEN_KEY) || '';
    input.addEventListener('input', function () {
      if (!store) return;
      var v = input.value.trim();
      if (v) store.setItem(TOKEN_KEY, v); else store.removeItem(TOKEN_KEY);
    });
    $('token-clear').addEventListener('click', function () {
      input.value = '';
      if (store) store.removeItem(TOKEN_KEY);
      input.focus();
    });
    var toggle = $('token-toggle');
    toggle.addEventListener('click', function () {
      var show = input.type === 'password';
      input.type = show ? 'text' : 'password';
      toggle.textContent = show ? 'Hide' : 'Show';
      toggle.setAttribute('aria-pressed', String(show));
    });
  }

  // --- Schemas -----------------------------------------------------------

  // resolve follows a local JSON reference such as "#/components/schemas/Error".
  function resolve(ref) {
    if (typeof ref !== 'string' || ref.indexOf('#/') !== 0) return null;
    var node = spec;
    var parts = ref.slice(2).split('/');
    for (var i = 0; i < parts.length; i++) {
      var key = parts[i].replace(/~1/g, '/').replace(/~0/g, '~');
      if (!node || typeof node !== 'object' || !(key in node)) return null;
      node = node[key];
    }
    return node;
  }

  function refName(ref) { return ref.slice(ref.lastIndexOf('/') + 1); }

  function typeLabel(s) {
    if (!s || typeof s !== 'object') return 'any';
    if (s.$ref) return refName(s.$ref);
    var t = s.type || (s.properties ? 'object' : (s.items ? 'array' : ''));
    if (t === 'array') t = 'array of ' + typeLabel(s.items || {});
    if (!t) t = s.allOf ? 'all of' : s.oneOf ? 'one of' : s.anyOf ? 'any of' : 'any';
    if (s.format) t += ' (' + s.format + ')';
    return t;
  }

  // schemaTree renders a schema as a nested list: one line per property,
  // with its type, required and nullable marks and description.
  function schemaTree(schema, depth, seen) {
    depth = depth || 0;
    seen = seen || [];
    var list = h('ul', { className: 'tree' });
    addSchemaChildren(list, schema, depth, seen);
    return list;
  }

  function addSchemaChildren(list, schema, depth, seen) {
    if (!schema || typeof schema !== 'object') return;
    if (depth > MAX_DEPTH) { list.appendChild(h('li', { className: 'muted' }, '…')); return; }
    if (schema.$ref) {
      if (seen.indexOf(schema.$ref) >= 0) {
        list.appendChild(h('li', { className: 'muted' }, 'Recursive: ' + refName(schema.$ref)));
        return;
      }
      addSchemaChildren(list, resolve(schema.$ref), depth + 1, seen.concat([schema.$ref]));
      return;
    }
    var props = schema.properties || {};
    var required = schema.required || [];
    Object.keys(props).forEach(function (name) {
      list.appendChild(schemaLine(name, props[name], required.indexOf(name) >= 0, depth, seen));
    });
    if (schema.type === 'array' || schema.items) {
      list.appendChild(schemaLine('[items]', schema.items || {}, false, depth, seen));
    }
    if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
      list.appendChild(schemaLine('[any key]', schema.additionalProperties, false, depth, seen));
    }
    ['allOf', 'oneOf', 'anyOf'].forEach(function (k) {
      (schema[k] || []).forEach(function (sub, i) {
        list.appendChild(schemaLine(k + ' #' + (i + 1), sub, false, depth, seen));
      });
    });
  }

  function schemaLine(name, s, required, depth, seen) {
    var target = s && s.$ref ? resolve(s.$ref) : s;
    var li = h('li', null,
      h('code', { className: 'prop' }, name), ' ',
      h('span', { className: 'type' }, typeLabel(s)),
      required ? h('span', { className: 'mark req' }, 'required') : null,
      target && target.nullable ? h('span', { className: 'mark' }, 'nullable') : null);
    if (target && target.enum) li.appendChild(h('span', { className: 'enum' }, ' ∈ ' + target.enum.map(function (v) { return JSON.stringify(v); }).join(', ')));
    var desc = (s && s.description) || (target && target.description);
    if (desc) li.appendChild(h('div', { className: 'desc' }, desc));
    var child = h('ul', { className: 'tree' });
    addSchemaChildren(child, s, depth + 1, seen);
    if (child.childNodes.length) li.appendChild(child);
    return li;
  }

  function schemaBlock(schema) {
    return h('div', { className: 'schema' },
      schemaTree(schema),
      h('details', { className: 'raw' },
        h('summary', null, 'JSON schema'),
        h('pre', null, JSON.stringify(schema, null, 2))));
  }

  // example builds a sample value for a schema, used to prefill bodies.
  function example(s, depth, seen) {
    depth = depth || 0;
    seen = seen || [];
    if (!s || typeof s !== 'object' || depth > MAX_DEPTH) return null;
    if (s.$ref) {
      if (seen.indexOf(s.$ref) >= 0) return null;
      return example(resolve(s.$ref), depth + 1, seen.concat([s.$ref]));
    }
    if (s.example !== undefined) return s.example;
    if (s['default'] !== undefined) return s['default'];
    if (s.enum && s.enum.length) return s.enum[0];
    if (s.allOf) {
      var merged = {};
      s.allOf.forEach(function (sub) {
        var v = example(sub, depth + 1, seen);
        if (v && typeof v === 'object' && !Array.isArray(v)) Object.assign(merged, v);
      });
      return merged;
    }
    if (s.oneOf || s.anyOf) return example((s.oneOf || s.anyOf)[0], depth + 1, seen);
    var type = s.type || (s.properties ? 'object' : (s.items ? 'array' : ''));
    switch (type) {
      case 'object':
        var obj = {};
        Object.keys(s.properties || {}).forEach(function (k) {
          if (s.properties[k] && s.properties[k].readOnly) return;
          obj[k] = example(s.properties[k], depth + 1, seen);
        });
        return obj;
      case 'array':
        var item = example(s.items, depth + 1, seen);
        return item === null ? [] : [item];
      case 'integer':
      case 'number':
        return typeof s.minimum === 'number' ? s.minimum : 0;
      case 'boolean':
        return false;
      case 'string':
        switch (s.format) {
          case 'date-time': return '2024-01-01T00:00:00Z';
          case 'date': return '2024-01-01';
          case 'uuid': return '00000000-0000-0000-0000-000000000000';
          case 'email': return 'user@example.com';
          case 'byte': return '';
          default: return 'string';
        }
    }
    return null;
  }

  // --- Operations ----------------------------------------------------------

  function isJSONType(ct) { return /^application\/([\w.+-]+\+)?json\b/i.test(ct || '') || ct === ''; }

  function opAnchor(method, path, op) {
    var id = op.operationId || (method + path);
    return 'op-' + String(id).replace(/[^A-Za-z0-9_-]+/g, '-');
  }

  function opParameters(item, op) {
    var byKey = {};
    (item.parameters || []).concat(op.parameters || []).forEach(function (p) {
      if (p && p.$ref) p = resolve(p.$ref);
      if (p && p.name) byKey[p['in'] + ':' + p.name] = p;
    });
    return Object.keys(byKey).map(function (k) { return byKey[k]; });
  }

  function isSecured(op) {
    var sec = op.security !== undefined ? op.security : spec.security;
    return Array.isArray(sec) && sec.some(function (req) { return req && Object.keys(req).length > 0; });
  }

  function collect() {
    var byTag = {};
    Object.keys(spec.paths || {}).sort().forEach(function (path) {
      var item = spec.paths[path] || {};
      METHODS.forEach(function (method) {
        var op = item[method];
        if (!op) return;
        var tag = (op.tags && op.tags[0]) || 'other';
        var e = { method: method, path: path, op: op, item: item, tag: tag };
        e.text = [method, path, op.summary, op.description, op.operationId, (op.tags || []).join(' ')]
          .join(' ').toLowerCase();
        entries.push(e);
        (byTag[tag] = byTag[tag] || []).push(e);
      });
    });
    var order = (spec.tags || []).map(function (t) { return t.name; });
    Object.keys(byTag).sort().forEach(function (t) { if (order.indexOf(t) < 0) order.push(t); });
    order.forEach(function (name) {
      if (byTag[name]) groups.push({ name: name, entries: byTag[name] });
    });
  }

  function renderGroups() {
    var container = $('groups');
    var toc = h('ul');
    var tagDescs = {};
    (spec.tags || []).forEach(function (t) { tagDescs[t.name] = t.description; });
    groups.forEach(function (g, gi) {
      var id = 'tag-' + gi;
      var list = h('div', { className: 'ops' });
      g.entries.forEach(function (e) { e.el = renderOperation(e); list.appendChild(e.el); });
      g.el = h('section', { className: 'group', 'aria-labelledby': id + '-h' },
        h('h2', { id: id + '-h' }, g.name),
        tagDescs[g.name] ? h('p', { className: 'muted' }, tagDescs[g.name]) : null,
        list);
      g.el.id = id;
      container.appendChild(g.el);
      g.count = h('span', { className: 'count' }, String(g.entries.length));
      g.link = h('li', null, h('a', { href: '#' + id }, g.name, ' ', g.count));
      toc.appendChild(g.link);
    });
    $('toc').appendChild(toc);
  }

  function renderOperation(e) {
    var op = e.op;
    var details = h('details', { className: 'op m-' + e.method + (op.deprecated ? ' deprecated' : '') });
    details.id = opAnchor(e.method, e.path, op);
    details.appendChild(h('summary', null,
      h('span', { className: 'badge m-' + e.method }, e.method.toUpperCase()),
      h('code', { className: 'path' }, e.path),
      h('span', { className: 'summary' }, op.summary || ''),
      isSecured(op) ? h('span', { className: 'mark lock', title: 'Needs a bearer token' }, 'auth') : null,
      op.deprecated ? h('span', { className: 'mark dep' }, 'deprecated') : null));
    var rendered = false;
    details.addEventListener('toggle', function () {
      if (details.open && !rendered) {
        rendered = true;
        details.appendChild(renderOperationBody(e));
      }
      if (details.open && window.history && history.replaceState) {
        history.replaceState(null, '', '#' + details.id);
      }
    });
    return details;
  }

  function renderOperationBody(e) {
    var op = e.op;
    var body = h('div', { className: 'op-body' });
    if (op.description) body.appendChild(h('div', { className: 'prose' }, op.description));
    if (op.operationId) body.appendChild(h('p', { className: 'muted small' }, 'operationId: ', h('code', null, op.operationId)));

    var params = opParameters(e.item, op);
    if (params.length) {
      var rows = params.map(function (p) {
        return h('tr', null,
          h('td', null, h('code', null, p.name), p.required ? h('span', { className: 'mark req' }, 'required') : null),
          h('td', null, p['in']),
          h('td', null, typeLabel(p.schema)),
          h('td', null, p.description || ''));
      });
      body.appendChild(h('h3', null, 'Parameters'));
      body.appendChild(h('div', { className: 'table-wrap' }, h('table', null,
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'In'),
          h('th', { scope: 'col' }, 'Type'), h('th', { scope: 'col' }, 'Description'))),
        h('tbody', null, rows))));
    }

    var rb = op.requestBody && op.requestBody.$ref ? resolve(op.requestBody.$ref) : op.requestBody;
    if (rb && rb.content) {
      body.appendChild(h('h3', null, 'Request body'));
      Object.keys(rb.content).forEach(function (ct) {
        body.appendChild(h('p', { className: 'ct' }, h('code', null, ct), rb.required ? h('span', { className: 'mark req' }, 'required') : null));
        body.appendChild(schemaBlock(rb.content[ct].schema || {}));
      });
    }

    var responses = op.responses || {};
    var codes = Object.keys(responses).sort();
    if (codes.length) {
      body.appendChild(h('h3', null, 'Responses'));
      var list = h('div', { className: 'responses' });
      codes.forEach(function (code) {
        var r = responses[code] && responses[code].$ref ? resolve(responses[code].$ref) : responses[code];
        r = r || {};
        var d = h('details', { className: 'response' },
          h('summary', null, h('span', { className: 'code c' + code.charAt(0) }, code), ' ', r.description || ''));
        Object.keys(r.content || {}).forEach(function (ct) {
          d.appendChild(h('p', { className: 'ct' }, h('code', null, ct)));
          if (r.content[ct].schema) d.appendChild(schemaBlock(r.content[ct].schema));
        });
        if (!r.content) d.appendChild(h('p', { className: 'muted' }, 'No body.'));
        list.appendChild(d);
      });
      body.appendChild(list);
    }

    body.appendChild(renderTryIt(e, params, rb));
    return body;
  }

  // --- Try it --------------------------------------------------------------

  function renderTryIt(e, params, rb) {
    var base = opAnchor(e.method, e.path, e.op);
    var form = h('form', { className: 'try', novalidate: true });
    var fields = [];
    form.appendChild(h('h3', null, 'Try it'));

    params.forEach(function (p, i) {
      if (p['in'] === 'cookie') return;
      var id = base + '-p' + i;
      var input = h('input', {
        id: id, type: 'text', required: !!p.required, autocomplete: 'off', spellcheck: 'false',
        placeholder: typeLabel(p.schema)
      });
      var ex = p.example !== undefined ? p.example : (p.schema && (p.schema.example !== undefined ? p.schema.example : p.schema['default']));
      if (ex !== undefined && ex !== null) input.value = String(ex);
      fields.push({ p: p, input: input });
      form.appendChild(h('div', { className: 'field' },
        h('label', { htmlFor: id }, p.name, ' ', h('span', { className: 'muted' }, '(' + p['in'] + (p.required ? ', required' : '') + ')')),
        input));
    });

    var bodyCT = null;
    var bodyInput = null;
    var formInputs = [];
    if (rb && rb.content) {
      var cts = Object.keys(rb.content);
      bodyCT = cts.filter(isJSONType)[0] || cts[0];
      var schema = rb.content[bodyCT].schema || {};
      if (/^multipart\/form-data|^application\/x-www-form-urlencoded/i.test(bodyCT)) {
        var target = schema.$ref ? resolve(schema.$ref) : schema;
        Object.keys((target && target.properties) || {}).forEach(function (name, i) {
          var ps = target.properties[name] || {};
          var id = base + '-f' + i;
          var isFile = ps.format === 'binary' || ps.format === 'byte';
          var input = h('input', { id: id, type: isFile ? 'file' : 'text', autocomplete: 'off' });
          formInputs.push({ name: name, input: input, file: isFile });
          form.appendChild(h('div', { className: 'field' }, h('label', { htmlFor: id }, name, ' ', h('span', { className: 'muted' }, '(form field)')), input));
        });
      } else {
        var id = base + '-body';
        var sample = isJSONType(bodyCT) ? JSON.stringify(example(schema), null, 2) : '';
        bodyInput = h('textarea', { id: id, rows: Math.min(18, Math.max(4, sample.split('\n').length + 1)), spellcheck: 'false' });
        bodyInput.value = sample;
        form.appendChild(h('div', { className: 'field' }, h('label', { htmlFor: id }, 'Body (' + bodyCT + ')'), bodyInput));
      }
    }

    if (isSecured(e.op)) {
      form.appendChild(h('p', { className: 'muted small' },
        'Sends the bearer token from the top of the page as the Authorization header.'));
    }
    var send = h('button', { type: 'submit', className: 'primary' }, 'Send ' + e.method.toUpperCase() + ' request');
    form.appendChild(send);
    var out = h('div', { className: 'result', 'aria-live': 'polite' });
    form.appendChild(out);

    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var req;
      try {
        req = buildRequest(e, fields, bodyCT, bodyInput, formInputs);
      } catch (err) {
        out.replaceChildren(h('p', { className: 'error', role: 'alert' }, err.message));
        return;
      }
      send.disabled = true;
      out.replaceChildren(h('p', { className: 'muted' }, 'Sending…'));
      var started = performance.now();
      fetch(req.url, req.init).then(function (res) {
        return readBody(res).then(function (text) {
          showResponse(out, req, res, text, Math.round(performance.now() - started));
        });
      }).catch(function (err) {
        out.replaceChildren(h('p', { className: 'error', role: 'alert' }, 'Request failed: ' + err.message));
      }).then(function () { send.disabled = false; });
    });
    return form;
  }

  function buildRequest(e, fields, bodyCT, bodyInput, formInputs) {
    var path = e.path;
    var query = new URLSearchParams();
    var headers = new Headers();
    var missing = [];
    fields.forEach(function (f) {
      var v = f.input.value;
      if (v === '') {
        if (f.p.required) missing.push(f.p.name);
        return;
      }
      switch (f.p['in']) {
        case 'path':
          var enc = /^(wildcard|plus)\d*$/.test(f.p.name)
            ? v.split('/').map(encodeURIComponent).join('/')
            : encodeURIComponent(v);
          path = path.split('{' + f.p.name + '}').join(enc);
          break;
        case 'query': query.append(f.p.name, v); break;
        case 'header': headers.set(f.p.name, v); break;
      }
    });
    if (missing.length) throw new Error('Fill in the required parameters: ' + missing.join(', ') + '.');
    var token = getToken();
    if (isSecured(e.op) && token && !headers.has('Authorization')) headers.set('Authorization', 'Bearer ' + token);
    headers.set('Accept', 'application/json, */*;q=0.5');

    var init = { method: e.method.toUpperCase(), headers: headers, credentials: 'same-origin', redirect: 'follow' };
    if (bodyInput && bodyInput.value.trim() !== '' && e.method !== 'get' && e.method !== 'head') {
      if (isJSONType(bodyCT)) {
        try { JSON.parse(bodyInput.value); } catch (err) { throw new Error('The body is not valid JSON: ' + err.message); }
      }
      headers.set('Content-Type', bodyCT);
      init.body = bodyInput.value;
    } else if (formInputs.length) {
      var fd = /^multipart/i.test(bodyCT) ? new FormData() : new URLSearchParams();
      formInputs.forEach(function (f) {
        if (f.file) {
          if (f.input.files && f.input.files[0] && fd instanceof FormData) fd.append(f.name, f.input.files[0]);
        } else if (f.input.value !== '') {
          fd.append(f.name, f.input.value);
        }
      });
      init.body = fd; // the browser sets the Content-Type with its boundary
    }
    var qs = query.toString();
    var url = new URL(path + (qs ? '?' + qs : ''), window.location.origin);
    return { url: url.toString(), init: init, display: init.method + ' ' + url.pathname + url.search };
  }

  function readBody(res) {
    var ct = res.headers.get('Content-Type') || '';
    if (res.status === 204 || res.status === 304) return Promise.resolve('');
    if (/json|^text\/|xml|javascript/i.test(ct) || ct === '') {
      return res.text().then(function (t) {
        if (/json/i.test(ct)) {
          try { t = JSON.stringify(JSON.parse(t), null, 2); } catch (err) { /* show as is */ }
        }
        return t.length > MAX_BODY_CHARS ? t.slice(0, MAX_BODY_CHARS) + '\n… (truncated)' : t;
      });
    }
    return res.blob().then(function (b) { return '(' + b.size + ' bytes of ' + ct + ')'; });
  }

  function showResponse(out, req, res, text, ms) {
    var rows = [];
    res.headers.forEach(function (value, name) {
      if (SHOWN_HEADERS.test(name)) rows.push([name, value]);
    });
    rows.sort(function (a, b) { return a[0] < b[0] ? -1 : 1; });
    out.replaceChildren();
    append(out, [
      h('p', { className: 'status-line' },
        h('code', null, req.display), ' → ',
        h('span', { className: 'code c' + String(res.status).charAt(0) }, String(res.status)), ' ',
        res.statusText || '', h('span', { className: 'muted' }, ' in ' + ms + ' ms')),
      rows.length ? h('dl', { className: 'headers' }, rows.map(function (r) {
        return [h('dt', null, r[0]), h('dd', null, h('code', null, r[1]))];
      })) : null,
      text ? h('pre', { className: 'body', tabindex: '0', 'aria-label': 'Response body' }, text) : h('p', { className: 'muted' }, 'Empty body.')]);
  }

  // --- Search --------------------------------------------------------------

  function applyFilter() {
    var words = $('search').value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    groups.forEach(function (g) {
      var n = 0;
      g.entries.forEach(function (e) {
        var match = words.every(function (w) { return e.text.indexOf(w) >= 0; });
        e.el.hidden = !match;
        if (match) n++;
      });
      g.el.hidden = n === 0;
      g.link.hidden = n === 0;
      g.count.textContent = String(n);
      shown += n;
    });
    if (!entries.length) setStatus('This API has no operations.');
    else if (!shown) setStatus('No operation matches “' + $('search').value + '”.');
    else setStatus(words.length ? shown + ' of ' + entries.length + ' operations match.' : '');
  }

  // --- Start ---------------------------------------------------------------

  function openFromHash() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    if (id.indexOf('op-') !== 0) return;
    var d = document.getElementById(id);
    if (d && d.tagName === 'DETAILS') {
      d.open = true;
      d.scrollIntoView();
    }
  }

  function start() {
    initToken();
    var meta = document.querySelector('meta[name="openapi-spec-url"]');
    var url = (meta && meta.getAttribute('content')) || '/openapi.json';
    fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
      .then(function (res) {
        if (!res.ok) throw new Error('the server answered ' + res.status + ' ' + res.statusText);
        return res.json();
      })
      .then(function (doc) {
        spec = doc || {};
        var info = spec.info || {};
        if (info.title) { $('api-title').textContent = info.title; document.title = info.title + ' · API reference'; }
        $('api-version').textContent = info.version ? 'v' + info.version : '';
        $('api-description').textContent = info.description || '';
        collect();
        renderGroups();
        var search = $('search');
        search.addEventListener('input', applyFilter);
        applyFilter();
        openFromHash();
        window.addEventListener('hashchange', openFromHash);
      })
      .catch(function (err) {
        setStatus('Could not load the API description from ' + url + ': ' + err.message, true);
      });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
}());
