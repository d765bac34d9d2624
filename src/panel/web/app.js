// OptimalDial developer panel (SPEC §12): a single-page app on the public REST API, with the key the person pastes.
import { html, render, useCallback, useEffect, useRef, useState } from '/panel/vendor/preact-htm.js';
import { api, keyStore } from '/panel/assets/api.js';
import { DeliveryChart } from '/panel/assets/chart.js';

const EVENT_TYPES = ['upload.created', 'upload.completed', 'upload.failed', 'contact.completed', 'contact.failed'];
const DEFAULT_EVENTS = ['upload.completed', 'upload.failed'];
const DELIVERY_STATUSES = ['pending', 'in_flight', 'delivered', 'exhausted'];
const DOWNLOADS = [
  ['original', 'Original file'],
  ['processed', 'Processed'],
  ['processed-filtered', 'Processed (Likely Answer only)'],
];

/** 2026-04-24 12:34:56 UTC — one unambiguous format for every timestamp shown. */
const when = (iso) => (iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC` : '—');
const endpointState = (e) => (e.is_active ? 'Active' : e.disabled_at ? 'Auto-disabled' : 'Disabled manually');
const stateClass = (e) => (e.is_active ? 'badge ok' : e.disabled_at ? 'badge bad' : 'badge off');
/** A status badge's class: ok, bad, or neither. */
const badge = (status, ok, bad) => `badge ${ok.includes(status) ? 'ok' : bad.includes(status) ? 'bad' : 'off'}`;
const deliveryBadge = (status) => badge(status, ['delivered'], ['exhausted']);

/**
 * Runs one request at a time for a control: `busy` disables it, `error` is the API's detail, `notice` what
 * succeeded. Nothing the API refused is reported as done.
 */
function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [notice, setNotice] = useState(null);
  const run = useCallback(async (fn, success) => {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      const result = await fn();
      if (success) setNotice(typeof success === 'function' ? success(result) : success);
      return result;
    } catch (e) {
      setError(e.message || String(e));
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, notice, run, setError, setNotice };
}

function ErrorText({ error }) {
  return error ? html`<p class="error" role="alert">${error}</p>` : null;
}

function Notice({ text }) {
  return text ? html`<p class="notice" role="status">${text}</p>` : null;
}

/** Moves keyboard focus to a screen's heading when the screen changes, so a screen reader announces it. */
function Heading({ children }) {
  const ref = useRef(null);
  useEffect(() => ref.current?.focus(), []);
  return html`<h1 tabindex="-1" ref=${ref}>${children}</h1>`;
}


function SecretOnce({ secret, title, onDone }) {
  const [copied, setCopied] = useState(null);
  const ref = useRef(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied('Copied to the clipboard.');
    } catch {
      // no clipboard permission (plain http, some browsers): select it so Ctrl+C works
      ref.current.focus();
      ref.current.select();
      setCopied('Selected: press Ctrl+C (⌘C) to copy.');
    }
  };
  return html`
    <section class="card secret" aria-labelledby="secret-title">
      <h2 id="secret-title">${title}</h2>
      <p class="warning" role="alert"><strong>This secret will not be shown again.</strong> Store it now: your receiver needs it to verify signatures.</p>
      <label for="secret-value">Secret value</label>
      <input id="secret-value" class="secret-value" type="text" readonly value=${secret} ref=${ref} spellcheck="false" onFocus=${(e) => e.currentTarget.select()} />
      <div class="actions">
        <button type="button" onClick=${copy}>Copy secret</button>
        ${onDone && html`<button type="button" class="secondary" onClick=${onDone}>I have stored it</button>`}
      </div>
      <${Notice} text=${copied} />
    </section>
  `;
}

// ---------------------------------------------------------------------------------------------------------------
// Key entry

/** `error`: why the key held before stopped working (a 401 on reload: revoked, expired), shown until a key works. */
function KeyEntry({ onKey, notice, error }) {
  const [value, setValue] = useState('');
  const a = useAction();
  const submit = (ev) => {
    ev.preventDefault();
    const key = value.trim();
    if (!key) return a.setError('Paste an API key first.');
    return a.run(async () => {
      const { data } = await api(key, 'GET', '/api/v1/me');
      onKey(key, data);
    });
  };
  return html`
    <main id="main" class="narrow">
      <${Heading}>OptimalDial developer panel</${Heading}>
      <p>See your webhook endpoints and deliveries, retry what failed, and download your upload results.</p>
      <form class="card" onSubmit=${submit} aria-labelledby="key-title">
        <h2 id="key-title">Enter your API key</h2>
        <label for="api-key">API key</label>
        <input id="api-key" type="password" autocomplete="off" spellcheck="false" placeholder="od_live_…"
          value=${value} onInput=${(e) => setValue(e.currentTarget.value)} aria-describedby="key-help" />
        <p id="key-help" class="muted">Kept in this browser tab only (session storage) and sent only to this service. Close the tab or press “Forget key” to remove it.</p>
        <button type="submit" disabled=${a.busy}>${a.busy ? 'Checking…' : 'Open panel'}</button>
        <${ErrorText} error=${a.error || error} />
        <${Notice} text=${notice} />
      </form>
    </main>
  `;
}

// ---------------------------------------------------------------------------------------------------------------
// Endpoints

function EndpointFacts({ e }) {
  return html`
    <dl class="facts">
      <div><dt>State</dt><dd><span class=${stateClass(e)}>${endpointState(e)}</span></dd></div>
      <div><dt>Consecutive failures</dt><dd>${e.consecutive_failures}</dd></div>
      <div><dt>Last success</dt><dd>${when(e.last_success_at)}</dd></div>
      <div><dt>Last failure</dt><dd>${when(e.last_failure_at)}</dd></div>
    </dl>
  `;
}

function EndpointCard({ k, e, onOpen }) {
  const [stats, setStats] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    api(k, 'GET', `/api/v1/webhooks/${e.id}/stats?hours=24`).then((r) => setStats(r.data), (err) => setError(err.message));
  }, [e.id, e.updated_at]);
  const label = e.description || e.url;
  return html`
    <li class="card endpoint">
      <h3 class="url">${e.url}</h3>
      ${e.description && html`<p class="muted">${e.description}</p>`}
      <${EndpointFacts} e=${e} />
      ${error ? html`<${ErrorText} error=${error} />` : html`<${DeliveryChart} stats=${stats} label=${label} idPrefix=${`ep-${e.id}`} />`}
      <button type="button" onClick=${() => onOpen(e.id)} aria-label=${`Open endpoint ${e.url}`}>Open</button>
    </li>
  `;
}

function EndpointsScreen({ k, go }) {
  const [list, setList] = useState(null);
  const a = useAction();
  const load = () => a.run(async () => setList((await api(k, 'GET', '/api/v1/webhooks')).data));
  useEffect(() => {
    load();
  }, []);
  return html`
    <main id="main">
      <div class="title-row">
        <${Heading}>Webhook endpoints</${Heading}>
        <div class="actions">
          <button type="button" onClick=${() => go({ name: 'create' })}>Add endpoint</button>
          <button type="button" class="secondary" onClick=${load} disabled=${a.busy}>Refresh</button>
        </div>
      </div>
      <${ErrorText} error=${a.error} />
      ${list === null && !a.error && html`<p class="muted">Loading…</p>`}
      ${list && list.length === 0 && html`<p>No endpoints yet. Add one to receive signed webhooks.</p>`}
      ${list && list.length > 0 && html`<ul class="cards" aria-label="Endpoints">${list.map((e) => html`<${EndpointCard} key=${e.id} k=${k} e=${e} onOpen=${(id) => go({ name: 'endpoint', id })} />`)}</ul>`}
    </main>
  `;
}

function EventsField({ legend, value, onChange, idPrefix }) {
  const toggle = (type) => onChange(value.includes(type) ? value.filter((t) => t !== type) : [...value, type]);
  return html`
    <fieldset>
      <legend>${legend}</legend>
      ${EVENT_TYPES.map(
        (type) => html`<label class="check" for=${`${idPrefix}-${type}`}>
          <input type="checkbox" id=${`${idPrefix}-${type}`} checked=${value.includes(type)} onChange=${() => toggle(type)} />
          ${type}
        </label>`,
      )}
    </fieldset>
  `;
}

function CreateScreen({ k, go }) {
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [events, setEvents] = useState(DEFAULT_EVENTS);
  const [created, setCreated] = useState(null);
  const a = useAction();
  const submit = (ev) => {
    ev.preventDefault();
    a.run(async () => {
      const body = { url: url.trim(), events };
      if (description.trim()) body.description = description.trim();
      setCreated((await api(k, 'POST', '/api/v1/webhooks', body)).data);
    });
  };
  if (created) {
    return html`
      <main id="main" class="narrow">
        <${Heading}>Endpoint created</${Heading}>
        <p>The ping to <span class="url">${created.webhook.url}</span> was answered: the endpoint is active.</p>
        <${SecretOnce} secret=${created.secret} title="Signing secret" onDone=${() => go({ name: 'endpoint', id: created.webhook.id })} />
      </main>
    `;
  }
  return html`
    <main id="main" class="narrow">
      <${Heading}>Add an endpoint</${Heading}>
      <form class="card" onSubmit=${submit}>
        <label for="new-url">Endpoint URL</label>
        <input id="new-url" type="url" required value=${url} onInput=${(e) => setUrl(e.currentTarget.value)} placeholder="https://example.com/webhooks/optimaldial" aria-describedby="new-url-help" />
        <p id="new-url-help" class="muted">The service sends a signed <code>webhook.ping</code> to it first; it must answer 2xx.</p>
        <label for="new-description">Description (optional)</label>
        <input id="new-description" type="text" maxlength="500" value=${description} onInput=${(e) => setDescription(e.currentTarget.value)} />
        <${EventsField} legend="Events to receive" value=${events} onChange=${setEvents} idPrefix="new-event" />
        <div class="actions">
          <button type="submit" disabled=${a.busy}>${a.busy ? 'Pinging…' : 'Create endpoint'}</button>
          <button type="button" class="secondary" onClick=${() => go({ name: 'endpoints' })}>Cancel</button>
        </div>
        <${ErrorText} error=${a.error} />
      </form>
    </main>
  `;
}

function EditForm({ k, e, onSaved }) {
  const [url, setUrl] = useState(e.url);
  const [description, setDescription] = useState(e.description ?? '');
  const [events, setEvents] = useState(e.events);
  const a = useAction();
  const submit = (ev) => {
    ev.preventDefault();
    const body = {};
    if (url.trim() !== e.url) body.url = url.trim();
    if (description !== (e.description ?? '')) body.description = description;
    if (events.join() !== e.events.join()) body.events = events;
    if (!Object.keys(body).length) return a.setNotice('Nothing changed.');
    return a.run(async () => onSaved((await api(k, 'PATCH', `/api/v1/webhooks/${e.id}`, body)).data), 'Saved.');
  };
  return html`
    <form class="card" onSubmit=${submit} aria-labelledby="edit-title">
      <h2 id="edit-title">Edit</h2>
      <label for="edit-url">Endpoint URL</label>
      <input id="edit-url" type="url" required value=${url} onInput=${(ev) => setUrl(ev.currentTarget.value)} aria-describedby="edit-url-help" />
      <p id="edit-url-help" class="muted">A new URL is pinged with the current secret before anything is saved.</p>
      <label for="edit-description">Description</label>
      <input id="edit-description" type="text" maxlength="500" value=${description} onInput=${(ev) => setDescription(ev.currentTarget.value)} />
      <${EventsField} legend="Events to receive" value=${events} onChange=${setEvents} idPrefix="edit-event" />
      <button type="submit" disabled=${a.busy}>${a.busy ? 'Saving…' : 'Save changes'}</button>
      <${ErrorText} error=${a.error} />
      <${Notice} text=${a.notice} />
    </form>
  `;
}

function EndpointActions({ k, e, onChanged, onDeleted }) {
  const toggle = useAction();
  const rotate = useAction();
  const test = useAction();
  const recover = useAction();
  const del = useAction();
  const [secret, setSecret] = useState(null);
  const [eventType, setEventType] = useState(e.events[0] ?? 'upload.completed');
  const [since, setSince] = useState(() => new Date(Date.now() - 24 * 3600_000).toISOString().slice(0, 16));
  const [confirming, setConfirming] = useState(false);

  const setActive = (is_active) =>
    toggle.run(async () => onChanged((await api(k, 'PATCH', `/api/v1/webhooks/${e.id}`, { is_active })).data), is_active ? 'Endpoint enabled.' : 'Endpoint disabled.');
  const doRotate = () =>
    rotate.run(async () => {
      const { data } = await api(k, 'POST', `/api/v1/webhooks/${e.id}/rotate-secret`);
      setSecret(data);
    });
  const doTest = (ev) => {
    ev.preventDefault();
    test.run(async () => (await api(k, 'POST', `/api/v1/webhooks/${e.id}/test`, { event_type: eventType })).data, (r) => `Test event ${r.event_id} queued as delivery ${r.delivery_id}.`).then((r) => r && onChanged());
  };
  const doRecover = (ev) => {
    ev.preventDefault();
    const at = new Date(`${since}:00Z`);
    if (Number.isNaN(at.getTime())) return recover.setError('Enter a valid date and time.');
    return recover
      .run(async () => (await api(k, 'POST', `/api/v1/webhooks/${e.id}/recover`, { since: at.toISOString() })).data, (r) => `Re-queued ${r.requeued} exhausted ${r.requeued === 1 ? 'delivery' : 'deliveries'}.`)
      .then((r) => r && onChanged());
  };
  const doDelete = () => del.run(async () => {
    await api(k, 'DELETE', `/api/v1/webhooks/${e.id}`);
    onDeleted();
  });

  return html`
    <section class="card" aria-labelledby="actions-title">
      <h2 id="actions-title">Actions</h2>
      <div class="action-block">
        ${e.is_active
          ? html`<button type="button" onClick=${() => setActive(false)} disabled=${toggle.busy}>Disable endpoint</button>`
          : html`<button type="button" onClick=${() => setActive(true)} disabled=${toggle.busy}>Enable endpoint</button>`}
        <p class="muted">${e.is_active ? 'While disabled, deliveries are held, not attempted.' : 'Enabling resets the failure count and releases held deliveries at once.'}</p>
        <${ErrorText} error=${toggle.error} /><${Notice} text=${toggle.notice} />
      </div>
      <form class="action-block" onSubmit=${doTest}>
        <label for="test-type">Test event type</label>
        <div class="inline">
          <select id="test-type" value=${eventType} onChange=${(ev) => setEventType(ev.currentTarget.value)}>
            ${EVENT_TYPES.map((t) => html`<option value=${t}>${t}</option>`)}
          </select>
          <button type="submit" disabled=${test.busy}>Send test event</button>
        </div>
        <${ErrorText} error=${test.error} /><${Notice} text=${test.notice} />
      </form>
      <form class="action-block" onSubmit=${doRecover}>
        <label for="recover-since">Re-queue exhausted deliveries created since (UTC)</label>
        <div class="inline">
          <input id="recover-since" type="datetime-local" required value=${since} onInput=${(ev) => setSince(ev.currentTarget.value)} />
          <button type="submit" disabled=${recover.busy}>Recover</button>
        </div>
        <${ErrorText} error=${recover.error} /><${Notice} text=${recover.notice} />
      </form>
      <div class="action-block">
        <button type="button" onClick=${doRotate} disabled=${rotate.busy}>Rotate secret</button>
        <p class="muted">For 24 hours every delivery is signed with both the old and the new secret.</p>
        <${ErrorText} error=${rotate.error} />
        ${secret && html`<${SecretOnce} secret=${secret.secret} title="New signing secret" />
          <p class="muted">The previous secret stays valid until ${when(secret.previous_secret_expires_at)}.</p>`}
      </div>
      <div class="action-block">
        ${confirming
          ? html`<div role="group" aria-labelledby="delete-question">
              <p id="delete-question" class="warning">Delete this endpoint? Its pending deliveries end as exhausted. This cannot be undone.</p>
              <div class="actions">
                <button type="button" class="danger" onClick=${doDelete} disabled=${del.busy}>Yes, delete endpoint</button>
                <button type="button" class="secondary" onClick=${() => setConfirming(false)} disabled=${del.busy}>Keep it</button>
              </div>
            </div>`
          : html`<button type="button" class="danger" onClick=${() => setConfirming(true)}>Delete endpoint…</button>`}
        <${ErrorText} error=${del.error} />
      </div>
    </section>
  `;
}

function DeliveriesList({ k, endpointId, refreshKey, go }) {
  const [status, setStatus] = useState('');
  const [items, setItems] = useState(null);
  const [cursor, setCursor] = useState(null);
  const a = useAction();
  const fetchPage = async (after) => {
    const q = new URLSearchParams({ limit: '20' });
    if (status) q.set('status', status);
    if (after) q.set('cursor', after);
    const { data, headers } = await api(k, 'GET', `/api/v1/webhooks/${endpointId}/deliveries?${q}`);
    return { data, next: headers.get('X-Next-Cursor') };
  };
  const reload = () => a.run(async () => {
    const page = await fetchPage(null);
    setItems(page.data);
    setCursor(page.next);
  });
  const more = () => a.run(async () => {
    const page = await fetchPage(cursor);
    setItems((old) => [...(old ?? []), ...page.data]);
    setCursor(page.next);
  });
  useEffect(() => {
    reload();
  }, [status, refreshKey]);
  return html`
    <section class="card" aria-labelledby="deliveries-title">
      <div class="title-row">
        <h2 id="deliveries-title">Deliveries</h2>
        <div class="inline">
          <label for="delivery-status">Status</label>
          <select id="delivery-status" value=${status} onChange=${(ev) => setStatus(ev.currentTarget.value)}>
            <option value="">All</option>
            ${DELIVERY_STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
          </select>
          <button type="button" class="secondary" onClick=${reload} disabled=${a.busy}>Refresh deliveries</button>
        </div>
      </div>
      <${ErrorText} error=${a.error} />
      ${items && items.length === 0 && html`<p>No deliveries${status ? ` with status ${status}` : ''} yet.</p>`}
      ${items && items.length > 0 && html`
        <ul class="rows" aria-label="Deliveries, newest first">
          ${items.map((d) => html`
            <li class="row">
              <div>
                <strong>${d.event_type}</strong> <span class=${deliveryBadge(d.status)}>${d.status}</span>
                <div class="muted">${when(d.created_at)} · ${d.attempt_count} ${d.attempt_count === 1 ? 'attempt' : 'attempts'}${d.last_response_status ? ` · last HTTP ${d.last_response_status}` : ''}${d.last_error && d.last_error !== `HTTP ${d.last_response_status}` ? ` · ${d.last_error}` : ''}</div>
              </div>
              <button type="button" class="secondary" onClick=${() => go({ name: 'delivery', endpointId, id: d.id })} aria-label=${`View delivery of ${d.event_type} created ${when(d.created_at)}`}>View</button>
            </li>`)}
        </ul>`}
      ${cursor && html`<button type="button" onClick=${more} disabled=${a.busy}>${a.busy ? 'Loading…' : 'Load more'}</button>`}
    </section>
  `;
}

function EndpointScreen({ k, id, go }) {
  const [e, setE] = useState(null);
  const [stats, setStats] = useState(null);
  const [version, setVersion] = useState(0);
  const a = useAction();
  const load = () => a.run(async () => {
    const [ep, st] = await Promise.all([api(k, 'GET', `/api/v1/webhooks/${id}`), api(k, 'GET', `/api/v1/webhooks/${id}/stats?hours=24`)]);
    setE(ep.data);
    setStats(st.data);
  });
  useEffect(() => {
    load();
  }, [id, version]);
  const changed = (updated) => {
    if (updated) setE(updated);
    setVersion((v) => v + 1);
  };
  const back = html`<button type="button" class="link" onClick=${() => go({ name: 'endpoints' })}>← All endpoints</button>`;
  if (!e) return html`<main id="main">${back}<${Heading}>Endpoint</${Heading}><${ErrorText} error=${a.error} />${!a.error && html`<p class="muted">Loading…</p>`}</main>`;
  return html`
    <main id="main">
      ${back}
      <div class="title-row">
        <${Heading}><span class="url">${e.url}</span></${Heading}>
        <button type="button" class="secondary" onClick=${() => setVersion((v) => v + 1)} disabled=${a.busy}>Refresh</button>
      </div>
      ${e.description && html`<p>${e.description}</p>`}
      <${ErrorText} error=${a.error} />
      <section class="card" aria-labelledby="health-title">
        <h2 id="health-title">Health</h2>
        <${EndpointFacts} e=${e} />
        ${stats && html`<dl class="facts">
          <div><dt>Attempts (24 h)</dt><dd>${stats.attempts}</dd></div>
          <div><dt>Success rate</dt><dd>${stats.success_rate === null ? '—' : `${Math.round(stats.success_rate * 1000) / 10} %`}</dd></div>
          <div><dt>Latency p50 / p95</dt><dd>${stats.p50_ms === null ? '—' : `${stats.p50_ms} / ${stats.p95_ms} ms`}</dd></div>
          <div><dt>Pending</dt><dd>${stats.pending}</dd></div>
          <div><dt>Held</dt><dd>${stats.held}</dd></div>
        </dl>`}
        <${DeliveryChart} stats=${stats} label=${e.description || e.url} idPrefix="detail" />
        <dl class="facts">
          <div><dt>Events</dt><dd>${e.events.join(', ')}</dd></div>
          <div><dt>Verified</dt><dd>${when(e.verified_at)}</dd></div>
          <div><dt>Created</dt><dd>${when(e.created_at)}</dd></div>
          <div><dt>Id</dt><dd><code>${e.id}</code></dd></div>
        </dl>
      </section>
      <${DeliveriesList} k=${k} endpointId=${e.id} refreshKey=${version} go=${go} />
      <${EndpointActions} k=${k} e=${e} onChanged=${changed} onDeleted=${() => go({ name: 'endpoints', notice: 'Endpoint deleted.' })} />
      <${EditForm} k=${k} e=${e} onSaved=${changed} />
    </main>
  `;
}

// ---------------------------------------------------------------------------------------------------------------
// One delivery

function DeliveryScreen({ k, endpointId, id, go }) {
  const [d, setD] = useState(null);
  const load = useAction();
  const retry = useAction();
  const refresh = () => load.run(async () => setD((await api(k, 'GET', `/api/v1/deliveries/${id}`)).data));
  useEffect(() => {
    refresh();
  }, [id]);
  const doRetry = () => retry.run(async () => {
    await api(k, 'POST', `/api/v1/webhooks/${endpointId}/deliveries/${id}/retry`);
    setD((await api(k, 'GET', `/api/v1/deliveries/${id}`)).data);
  }, 'Re-queued: a new attempt is on its way.');
  const back = html`<button type="button" class="link" onClick=${() => go({ name: 'endpoint', id: endpointId })}>← Endpoint</button>`;
  if (!d) return html`<main id="main">${back}<${Heading}>Delivery</${Heading}><${ErrorText} error=${load.error} /></main>`;
  return html`
    <main id="main">
      ${back}
      <div class="title-row">
        <${Heading}>Delivery of ${d.event_type}</${Heading}>
        <div class="actions">
          <button type="button" onClick=${doRetry} disabled=${retry.busy || d.status === 'in_flight'}>${retry.busy ? 'Retrying…' : 'Retry'}</button>
          <button type="button" class="secondary" onClick=${refresh} disabled=${load.busy}>Refresh</button>
        </div>
      </div>
      <${ErrorText} error=${retry.error || load.error} />
      <${Notice} text=${retry.notice} />
      <section class="card" aria-labelledby="summary-title">
        <h2 id="summary-title">Summary</h2>
        <dl class="facts">
          <div><dt>Status</dt><dd><span class=${deliveryBadge(d.status)}>${d.status}</span></dd></div>
          <div><dt>Attempts</dt><dd>${d.attempt_count}</dd></div>
          <div><dt>Created</dt><dd>${when(d.created_at)}</dd></div>
          <div><dt>Delivered</dt><dd>${when(d.delivered_at)}</dd></div>
          <div><dt>Next attempt</dt><dd>${when(d.next_retry_at)}</dd></div>
          <div><dt>Event id</dt><dd><code>${d.event_id}</code></dd></div>
          <div><dt>Delivery id</dt><dd><code>${d.id}</code></dd></div>
          <div><dt>Target</dt><dd class="url">${d.target_url}</dd></div>
        </dl>
      </section>
      <section class="card" aria-labelledby="attempts-title">
        <h2 id="attempts-title">Attempts</h2>
        ${d.attempts.length === 0 && html`<p>No attempt yet.</p>`}
        <ol class="rows" aria-label="Attempts, oldest first">
          ${d.attempts.map((at) => html`
            <li class="row attempt">
              <h3>Attempt ${at.attempt_number}</h3>
              <dl class="facts">
                <div><dt>Time</dt><dd>${when(at.started_at)}</dd></div>
                <div><dt>Duration</dt><dd>${at.duration_ms} ms</dd></div>
                <div><dt>Status</dt><dd>${at.response_status === null ? 'no response' : `HTTP ${at.response_status}`}</dd></div>
                <div><dt>Error class</dt><dd>${at.error_class ?? 'none (delivered)'}</dd></div>
              </dl>
              ${at.error_message && html`<p class="muted">${at.error_message}</p>`}
              ${at.response_body && html`<div><span class="muted">Response body (first 1 KB)</span><pre class="excerpt">${at.response_body}</pre></div>`}
            </li>`)}
        </ol>
      </section>
      <section class="card" aria-labelledby="payload-title">
        <h2 id="payload-title">Payload</h2>
        <pre class="payload" role="region" tabindex="0" aria-label="Payload JSON">${JSON.stringify(d.payload, null, 2)}</pre>
      </section>
    </main>
  `;
}

// ---------------------------------------------------------------------------------------------------------------
// Uploads and contacts

function DownloadButton({ k, upload, kind, label }) {
  const a = useAction();
  const download = () => a.run(async () => {
    const { data } = await api(k, 'GET', `/api/v1/uploads/${upload.id}/download/${kind}`);
    // A signed URL of this service (no key in it): the file arrives as an attachment, the page stays.
    const link = document.createElement('a');
    link.href = data.download_url;
    link.rel = 'noreferrer';
    link.download = '';
    document.body.appendChild(link);
    link.click();
    link.remove();
  }, 'Download started.');
  return html`<span class="download">
    <button type="button" class="secondary" onClick=${download} disabled=${a.busy} aria-label=${`Download ${label} of ${upload.original_filename}`}>${a.busy ? 'Preparing…' : label}</button>
    <${ErrorText} error=${a.error} />
  </span>`;
}

function usePagedList(k, path) {
  const [items, setItems] = useState(null);
  const [cursor, setCursor] = useState(null);
  const a = useAction();
  const page = async (after) => {
    const q = new URLSearchParams({ limit: '20' });
    if (after) q.set('cursor', after);
    return (await api(k, 'GET', `${path}?${q}`)).data;
  };
  const reload = () => a.run(async () => {
    const p = await page(null);
    setItems(p.data);
    setCursor(p.next_cursor);
  });
  const more = () => a.run(async () => {
    const p = await page(cursor);
    setItems((old) => [...(old ?? []), ...p.data]);
    setCursor(p.next_cursor);
  });
  useEffect(() => {
    reload();
  }, [path]);
  return { items, cursor, reload, more, a };
}

/** A cursor-paged list screen (uploads, contacts): title with Refresh, the error, the cards, Load more. */
function PagedScreen({ k, path, title, noun, card }) {
  const { items, cursor, reload, more, a } = usePagedList(k, path);
  return html`
    <main id="main">
      <div class="title-row">
        <${Heading}>${title}</${Heading}>
        <button type="button" class="secondary" onClick=${reload} disabled=${a.busy}>Refresh</button>
      </div>
      <${ErrorText} error=${a.error} />
      ${items && items.length === 0 && html`<p>No ${noun} yet.</p>`}
      ${items && items.length > 0 && html`
        <ul class="cards" aria-label=${`${title}, newest first`}>
          ${items.map(card)}
        </ul>`}
      ${cursor && html`<button type="button" onClick=${more} disabled=${a.busy}>Load more</button>`}
    </main>
  `;
}

function UploadsScreen({ k }) {
  const card = (u) => html`
    <li class="card">
      <h2 class="url">${u.original_filename}</h2>
      <dl class="facts">
        <div><dt>Status</dt><dd><span class=${badge(u.status, ['completed'], ['failed', 'validation_failed'])}>${u.status}</span></dd></div>
        <div><dt>Rows</dt><dd>${u.total_rows ?? '—'}</dd></div>
        <div><dt>Valid</dt><dd>${u.valid_row_count ?? '—'}</dd></div>
        <div><dt>Invalid</dt><dd>${u.invalid_row_count ?? '—'}</dd></div>
        <div><dt>Duplicates</dt><dd>${u.duplicate_row_count ?? '—'}</dd></div>
        <div><dt>Credits</dt><dd>${u.credits_charged ?? 0}${u.credits_refunded ? ` (${u.credits_refunded} refunded)` : ''}</dd></div>
        <div><dt>Created</dt><dd>${when(u.created_at)}</dd></div>
        <div><dt>Completed</dt><dd>${when(u.completed_at)}</dd></div>
      </dl>
      ${u.error_message && html`<p class="error">${u.error_message}</p>`}
      <div class="actions" role="group" aria-label=${`Downloads of ${u.original_filename}`}>
        ${DOWNLOADS.filter(([kind]) => kind === 'original' || u.status === 'completed').map(([kind, label]) => html`<${DownloadButton} k=${k} upload=${u} kind=${kind} label=${label} />`)}
      </div>
    </li>`;
  return html`<${PagedScreen} k=${k} path="/api/v1/uploads" title="Uploads" noun="uploads" card=${card} />`;
}

function ContactsScreen({ k }) {
  const card = (c) => html`
    <li class="card">
      <h2>${c.phone}</h2>
      <dl class="facts">
        <div><dt>Status</dt><dd><span class=${badge(c.status, ['completed'], ['failed'])}>${c.status}</span></dd></div>
        <div><dt>OptimalDial status</dt><dd>${c.optimaldial_status ?? '—'}</dd></div>
        <div><dt>Line type</dt><dd>${c.line_type ?? '—'}</dd></div>
        <div><dt>Created</dt><dd>${when(c.created_at)}</dd></div>
        <div><dt>Completed</dt><dd>${when(c.completed_at)}</dd></div>
      </dl>
      ${(c.error_message || c.message) && html`<p class=${c.error_message ? 'error' : 'muted'}>${c.error_message || c.message}</p>`}
    </li>`;
  return html`<${PagedScreen} k=${k} path="/api/v1/contacts" title="Contacts" noun="contacts" card=${card} />`;
}

// ---------------------------------------------------------------------------------------------------------------
// Shell

function App() {
  const [key, setKey] = useState(() => keyStore.get());
  const [me, setMe] = useState(null);
  const [view, setView] = useState({ name: 'endpoints' });
  const [notice, setNotice] = useState(null);
  const [meError, setMeError] = useState(null);

  useEffect(() => {
    if (key && !me) {
      api(key, 'GET', '/api/v1/me').then(
        (r) => setMe(r.data),
        (e) => {
          // a key that stopped working (revoked, expired) goes back to key entry with the reason
          if (e.status === 401) {
            keyStore.clear();
            setKey(null);
            setNotice(null);
          }
          setMeError(e.message);
        },
      );
    }
  }, [key]);

  const forget = () => {
    keyStore.clear();
    setKey(null);
    setMe(null);
    setView({ name: 'endpoints' });
    setNotice('Key forgotten: it is no longer stored in this browser.');
  };

  if (!key) {
    return html`<${KeyEntry} notice=${notice} error=${meError} onKey=${(k, m) => {
      keyStore.set(k);
      setKey(k);
      setMe(m);
      setMeError(null);
      setNotice(null);
    }} />`;
  }
  const contactsOn = !!me?.organization?.features?.includes('single_contact_api');
  const go = (v) => {
    setNotice(v.notice ?? null);
    setView(v);
    window.scrollTo(0, 0);
  };
  const tab = (name, label) => html`<li><button type="button" class=${view.name === name || (name === 'endpoints' && ['endpoint', 'delivery', 'create'].includes(view.name)) ? 'tab current' : 'tab'}
    aria-current=${view.name === name ? 'page' : undefined} onClick=${() => go({ name })}>${label}</button></li>`;
  let screen;
  if (view.name === 'create') screen = html`<${CreateScreen} k=${key} go=${go} />`;
  else if (view.name === 'endpoint') screen = html`<${EndpointScreen} key=${view.id} k=${key} id=${view.id} go=${go} />`;
  else if (view.name === 'delivery') screen = html`<${DeliveryScreen} key=${view.id} k=${key} endpointId=${view.endpointId} id=${view.id} go=${go} />`;
  else if (view.name === 'uploads') screen = html`<${UploadsScreen} k=${key} />`;
  else if (view.name === 'contacts' && contactsOn) screen = html`<${ContactsScreen} k=${key} />`;
  else screen = html`<${EndpointsScreen} k=${key} go=${go} />`;
  return html`
    <header class="top">
      <a class="skip" href="#main">Skip to content</a>
      <span class="brand">OptimalDial</span>
      <nav aria-label="Panel sections">
        <ul>
          ${tab('endpoints', 'Endpoints')}
          ${tab('uploads', 'Uploads')}
          ${contactsOn && tab('contacts', 'Contacts')}
        </ul>
      </nav>
      <div class="who">
        ${me && html`<span class="muted">${me.organization.name} · key ${me.api_key.prefix}…</span>`}
        <button type="button" class="secondary" onClick=${forget}>Forget key</button>
      </div>
    </header>
    ${meError && html`<div class="wrap"><${ErrorText} error=${meError} /></div>`}
    ${notice && html`<div class="wrap"><${Notice} text=${notice} /></div>`}
    <div class="wrap">${screen}</div>
  `;
}

render(html`<${App} />`, document.getElementById('app'));

// Errors the page itself hits are shown, never swallowed (no API key is ever part of them).
window.addEventListener('unhandledrejection', (ev) => {
  const text = ev.reason?.message ?? String(ev.reason);
  const box = document.createElement('p');
  box.className = 'error';
  box.setAttribute('role', 'alert');
  box.textContent = `Unexpected error: ${text}`;
  document.body.prepend(box);
});
