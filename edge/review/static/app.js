// haad review pages: every piece of data comes from /api/v1 (the same API other clients use).
"use strict";
const CSRF = document.querySelector('meta[name="csrf-token"]')?.content || "";
// Set once the page leaves for the login: signed out, or "log out" pressed (the server ends the live
// stream at once, and a refused call made meanwhile must not send the browser to the login to come
// back here: wireLogout goes to /login). The live stream, cut as the page goes, says nothing.
let leaving = false;

async function api(path, options = {}) {
  const opts = { credentials: "same-origin", ...options, headers: { ...(options.headers || {}) } };
  if (opts.method && opts.method !== "GET") opts.headers["X-CSRF-Token"] = CSRF;
  if (opts.json !== undefined) { opts.body = JSON.stringify(opts.json); opts.headers["Content-Type"] = "application/json"; }
  // A call cut off as the page leaves goes unanswered too: its "Failed to fetch" was said ("Error:
  // Failed to fetch" on an alert's page whose windows were still coming) as the login came.
  const cutOff = (e) => { if (leaving) return new Promise(() => {}); throw e; };
  const r = await fetch("/api/v1" + path, opts).catch(cutOff);
  // Signed out: the page is left for the login, its call never answered. Failed with "401", each
  // caller said so ("Failed: 401", "No answer from the server … (401)") until the login came.
  if (r.status === 401) { toLogin(); return new Promise(() => {}); }
  const body = await (r.headers.get("content-type")?.includes("json") ? r.json() : r.text()).catch(cutOff);
  if (!r.ok) throw Object.assign(new Error(problem(body.detail) || r.statusText), { status: r.status });
  return body;
}
// A page's first reads, asked again every 5 s while the server or its alert log does not answer
// (no answer, a 502-504): opened as the log was down or slow, a page waited half a minute blank, then
// said "Error: alert log unreachable; try again shortly" and stayed so after the log came back, until
// reloaded by hand. Said over the page while it waits; any other failure (a 404) is the page's error.
async function firstRead(what, read) {
  const note = el("p", { class: "muted", id: "first-read", role: "status" });
  const slow = setTimeout(() => { note.textContent = `Loading ${what}…`; document.querySelector("main").prepend(note); }, 1000);
  try {
    for (;;) {
      try { return await read(); } catch (e) {
        if (e.status !== undefined && ![502, 503, 504].includes(e.status)) throw e;
        clearTimeout(slow);
        note.className = "error";
        note.textContent = `Could not load ${what} (${e.message}): trying again every 5 s.`;
        document.querySelector("main").prepend(note);
      }
      await new Promise((done) => setTimeout(done, 5000));
    }
  } finally { clearTimeout(slow); note.remove(); }
}
// The login, to come back here; once (none once "log out" is pressed).
function toLogin() {
  if (leaving) return;
  leaving = true;
  location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
}
// An API error's words: its detail, or a 422's list of (where, what) as "offset: Input should be …".
const problem = (detail) => (Array.isArray(detail) ? detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ") : detail);
const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  // A style through the CSSOM: the server's CSP refuses style attributes.
  for (const [k, v] of Object.entries(attrs)) k === "class" ? (e.className = v) : k === "style" ? (e.style.cssText = v) : e.setAttribute(k, v);
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(k ?? ""));
  return e;
};
// The browser's local time, its zone named: the host's log is UTC, and at a fall-back hour two
// alerts an hour apart read the same clock time (PDT / PST tells them apart).
const when = (iso) => (iso ? new Date(iso).toLocaleString([], { timeZoneName: "short" }) : "–");
const dur = (a) => (a.duration_s == null ? "open" : a.duration_s.toFixed(1) + " s");
const badge = (s) => el("span", { class: "status " + s }, s);
// Who was watched: the camera, and the person track in it when the camera tracks several people.
const who = (a) => (a.person ? `${a.stream_id} · person ${a.person}` : a.stream_id);
// The person's box over the episode, highlighted in an outline of the camera's frame among the
// other people in view at its peak.
const pct = (v) => `${(100 * v).toFixed(1)}%`;
const boxDiv = (cls, b, label) => el("div", { class: cls, title: label,
  style: `left:${pct(b[0])};top:${pct(b[1])};width:${pct(b[2] - b[0])};height:${pct(b[3] - b[1])}` });
const personBox = (a) => el("div", { class: "frame", title: "where the people were in the camera frame" },
  ...(a.others || []).map((o) => boxDiv("other-box", o.slice(1), `person ${o[0]}`)),
  boxDiv("person-box", a.box, `person ${a.person}`));
// A date as a datetime-local input holds it: the browser's local time, to the minute.
const localInput = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60e3).toISOString().slice(0, 16);
const MAX_OFFSET = 10_000_000; // the API's largest offset
// A page's filters from its address: a date that is none is said (in ignored), never quietly dropped.
// One without a zone is UTC, as for the API and `haad alerts list` (the browser would read it as its
// own local time, and a shared link would mean another moment in each reviewer's zone).
const ZONELESS = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;
const urlDate = (params, k, ignored) => {
  const v = params.get(k), t = v ? new Date(ZONELESS.test(v) ? v.replace(" ", "T") + "Z" : v) : null;
  if (v && isNaN(t)) ignored.push(`${k} "${v}" (not a date)`);
  return v && !isNaN(t) ? t : null;
};
const sayIgnored = (ignored) => { document.getElementById("url-notice").textContent = ignored.length ? `Ignored from the address: ${ignored.join(", ")}.` : ""; };
// Keys typed into a text field, a list or a date are text, not shortcuts.
const typing = (ev) => !!ev.target.closest?.("textarea, select, [contenteditable], input:not([type=checkbox]):not([type=radio])");
// A page's keyboard shortcuts (`keys`: key -> action) and their help, the "?" dialog of the page's
// template (_keys.html). The help takes the focus while open (keys go to its Close button, not to
// the page behind it) and gives it back; Esc or ? closes it. Enter on a link, button or checkbox and
// space on a button or checkbox do what they do there (open, press, tick); space on a link, which a
// browser does not press, is the page's key (select the current alert, play).
function shortcuts(keys) {
  const help = document.getElementById("help");
  let opener = null;
  const showHelp = (on) => {
    if (on === !help.hidden) return;
    help.hidden = !on;
    if (on) { opener = document.activeElement; document.getElementById("help-close").focus(); } else opener?.focus();
  };
  document.getElementById("help-open").onclick = () => showHelp(true);
  document.getElementById("help-close").onclick = () => showHelp(false);
  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev)) return;
    if ((ev.key === "Enter" && ev.target.closest("a, button, input")) || (ev.key === " " && ev.target.closest("button, input"))) return;
    if (ev.key === "Escape" || (ev.key === "?" && !help.hidden)) { ev.preventDefault(); showHelp(false); return; }
    if (!help.hidden) return;
    const act = ev.key === "?" ? () => showHelp(true) : keys[ev.key];
    if (act) { ev.preventDefault(); act(); }
  });
}
// The browser's zone, by name: what a date field (datetime-local) holds a time in.
const ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;
const LOG_DOWN = "paused: the alert log does not answer";
// Every alert change, from the events outbox: the browser resumes after a drop (Last-Event-ID).
// `state` hears "live", "reconnecting…" or LOG_DOWN; the stream closes with the page (or `close()`).
function liveAlerts(onChange, state = () => {}) {
  let source = null, lastId = "", closed = false;
  const open = () => {
    source = new EventSource("/api/v1/events/live" + (lastId ? "?after=" + lastId : ""));
    source.addEventListener("alert", (ev) => { lastId = ev.lastEventId || lastId; onChange(JSON.parse(ev.data)); });
    source.onopen = () => state("live");
    // The server ends the stream as the session ends (expired, logged out in another tab), saying
    // so: the page goes to the login at once, never saying "reconnecting…" (in red on an alert's
    // page) for the 2 s until a refused reconnect would have told it.
    source.addEventListener("signed-out", () => { live.close(); toLogin(); });
    // The server's alert log stopped answering: the stream stays open, but nothing comes until it
    // answers again (the page then catches up, as after a reconnect).
    source.addEventListener("log-down", () => state(LOG_DOWN));
    source.addEventListener("log-up", () => state("live"));
    source.onerror = () => {
      if (closed || leaving) return;
      if (source.readyState !== EventSource.CLOSED) { state("reconnecting…"); return; }  // the browser does
      // A refused stream the browser never asks for again (a 401: the session expired, logged out,
      // or forgotten by a restarted server; a 503): the page said "reconnecting…" for ever. A
      // signed-out page goes to the login (api does) saying nothing, else a new stream from the
      // last change seen.
      const again = (ms) => () => { state("reconnecting…"); setTimeout(() => closed || open(), ms); };
      api("/alerts?limit=1").then(again(2000), again(5000));
    };
  };
  open();
  const live = { close: () => { closed = true; source.close(); } };
  window.addEventListener("pagehide", live.close);
  return live;
}
// An alert's profile as scored: one of a camera scored against several ("calm+ward") has no one
// version (0), and said "calm+ward v0", a version no profile has.
const profileOf = (a) => (a.profile_version ? `${a.profile} v${a.profile_version}` : a.profile);
// One call for a burst (a bulk review writes an event per alert), after it.
const debounced = (fn, ms = 200) => { let t = null; return () => { clearTimeout(t); t = setTimeout(fn, ms); }; };
const SVG = "http://www.w3.org/2000/svg";
const svgEl = (tag, attrs) => { const e = document.createElementNS(SVG, tag); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); return e; };

// Failed, it says the count is unknown: the last number, kept, read as the current one. Only the
// latest count asked is shown (on a slow log an older answer came last, a count from before a review).
let badgesAsked = 0;
async function unreviewedBadge() {
  const b = document.getElementById("unreviewed"), n = ++badgesAsked;
  try {
    const page = await api("/alerts?status=new&limit=1");
    if (n !== badgesAsked) return;
    if (b) { b.textContent = page.total; b.hidden = !page.total; b.classList.remove("stale"); b.title = ""; }
  } catch (e) {
    if (b && n === badgesAsked) {
      b.textContent = "?"; b.hidden = false; b.classList.add("stale");
      b.title = `Unreviewed count unknown since ${when(new Date())}: ${e.message}`;
    }
  }
}

function wireLogout() {
  const f = document.getElementById("logout");
  if (!f) return;
  f.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    leaving = true;
    await fetch("/logout", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": CSRF } });
    location.href = "/login";
  });
}

// --- alert list: filters in the URL, multi-select and bulk review, keyboard, live updates -----------
async function alertsPage() {
  const size = Number(document.body.dataset.pageSize) || 50;
  const form = document.getElementById("filters");
  for (const z of form.querySelectorAll(".zone")) z.textContent = `(${ZONE})`;
  let offset = 0, items = [], focus = -1, fromUrl = {}, loads = 0;
  // The alert opened from here and its row, kept in this history entry: back from its page (reviewed
  // there, as triage goes), j started again from the top of the list. Read before a load replaces it.
  const left = history.state?.opened;
  const opening = (id) => history.replaceState({ opened: { id, row: items.findIndex((a) => a.id === id) } }, "");
  // Selected alert -> its status when selected: a bulk review changes it only if still so. Taken from
  // the row as redrawn, a colleague's review made after the selection (the row changing among fifty
  // selected) was gone over as if the reviewer had seen it.
  const selected = new Map(), reviewedHere = new Set();
  const select = (id) => selected.set(id, items.find((a) => a.id === id)?.status);
  const [streams, profiles, alertProfiles, hosts] = await firstRead("the alerts", () => Promise.all([api("/streams?last=0"), api("/profiles"), api("/alert-profiles"), api("/hosts")]));
  const fill = (sel, values) => { for (const v of values) sel.append(el("option", { value: v }, v)); };
  fill(form.stream, streams.map((s) => s.stream_id));
  fill(form.profile, [...new Set([...profiles.map((p) => p.name), ...alertProfiles])].sort());
  fill(form.host, hosts);
  // The filters and page the address holds: at the start, and at the browser's back and forward.
  // A filter in the URL that the form cannot hold is said, never quietly dropped (the list would
  // show every alert as if filtered).
  function fromAddress() {
    const params = new URLSearchParams(location.search);
    // A hand-edited or old URL: a page start within what the API takes (past the end: see load).
    offset = Math.min(Math.max(0, Math.floor(Number(params.get("offset"))) || 0), MAX_OFFSET);
    offset -= offset % size;
    const ignored = [];
    for (const k of ["stream", "profile", "host"]) {
      const v = params.get(k);
      if (v && ![...form[k].options].some((o) => o.value === v)) form[k].append(el("option", { value: v }, v));
      form[k].value = v || "";
    }
    // A person is a track id within its stream (0: a one-person camera's), as the list's "door · person 2".
    const person = params.get("person");
    form.person.value = person && /^\d{1,9}$/.test(person) ? String(Number(person)) : "";
    if (person && !form.person.value) ignored.push(`person "${person}" (a track number, 0 or more)`);
    const status = params.get("status");
    form.status.value = status && [...form.status.options].some((o) => o.value === status) ? status : "";
    if (status && !form.status.value) ignored.push(`status "${status}" (new, confirmed or dismissed)`);
    // A time from the address is asked for as it was given while its field shows it: the field holds
    // whole minutes of local time (a link's seconds were dropped, and an hour a clock goes back twice
    // read as its first), so a shared or reloaded link listed other alerts than it named.
    fromUrl = {};
    for (const k of ["since", "until"]) {
      const t = urlDate(params, k, ignored);
      form[k].value = t ? localInput(t) : "";
      if (t) fromUrl[k] = { shown: form[k].value, t };
    }
    sayIgnored(ignored);
  }
  fromAddress();
  const asked = (k) => (fromUrl[k]?.shown === form[k].value ? fromUrl[k].t : new Date(form[k].value));
  const rowsEl = document.getElementById("rows");

  // A row's checkbox and link, made once per alert shown (load fills in the rest).
  function newRow(a) {
    const pick = el("input", { type: "checkbox", class: "pick", "aria-label": `select alert ${a.id}` });
    pick.addEventListener("change", () => { pick.checked ? select(a.id) : selected.delete(a.id); showSelection(); });
    // The id's link is named as an alert to a screen reader (a link "4" said nothing, and a phone hides the headers).
    const tr = el("tr", { "data-id": a.id },
      el("td", { class: "pick" }, pick), el("td", { class: "id" }, el("a", { href: "/alerts/" + a.id, "aria-label": `alert ${a.id}` }, String(a.id))));
    tr.addEventListener("click", (ev) => {
      if (ev.target.closest("td.id a")) opening(a.id);  // its link (a click, Enter on it)
      else if (!ev.target.closest("td.pick, a")) { opening(a.id); location.href = "/alerts/" + a.id; }
    });
    return tr;
  }

  function showSelection() {
    for (const tr of rowsEl.children) {
      const id = Number(tr.dataset.id);
      tr.querySelector("input.pick").checked = selected.has(id);
      tr.classList.toggle("focus", items[focus]?.id === id);
    }
    document.getElementById("selected-count").textContent = `${selected.size} selected`;
    for (const b of ["bulk-confirm", "bulk-dismiss"]) document.getElementById(b).disabled = !selected.size;
    document.getElementById("select-all").checked = items.length > 0 && items.every((a) => selected.has(a.id));
  }

  // push: a reviewer's own step (a filter, a page), which back undoes; a live update or a fix of the
  // address replaces it.
  async function load(push = false) {
    const q = new URLSearchParams();
    for (const k of ["stream", "person", "profile", "host", "status"]) if (form[k].value) q.set(k, form[k].value);
    for (const k of ["since", "until"]) if (form[k].value) q.set(k, asked(k).toISOString());
    const shown = new URLSearchParams(q);
    if (offset) shown.set("offset", offset);
    const address = "/" + (shown.toString() ? "?" + shown : "");  // no bare "/?" unfiltered
    if (push && address !== location.pathname + location.search) history.pushState(null, "", address);
    else history.replaceState(null, "", address);
    q.set("offset", offset); q.set("limit", size);
    // Only the latest load is shown: on a slow log a live update's load, begun before a filter was
    // changed, answered after it and put the old filter's rows (or its failure) under the new filter.
    const n = ++loads;
    let page;
    try { page = await api("/alerts?" + q.toString()); } catch (e) { if (n === loads) throw e; return; }
    if (n !== loads) return;
    if (offset > 0 && offset >= page.total) {  // past the last page (an old link, alerts deleted): go to it
      offset = Math.max(0, Math.ceil(page.total / size) - 1) * size;
      return load();
    }
    const focusedId = items[focus]?.id;
    items = page.items;
    // The current alert stays current wherever it moved (rows above it gone: a colleague reviewed
    // one); reviewed here and gone, the one that took its place is (triage goes on down the list);
    // gone otherwise (a new alert pushed it to the next page, a colleague reviewed it), none is, so
    // that a key never acts on an alert the reviewer did not move to.
    const still = items.findIndex((a) => a.id === focusedId);
    focus = still >= 0 ? still : reviewedHere.has(focusedId) ? Math.min(focus, items.length - 1) : -1;
    const ids = new Set(items.map((a) => a.id));
    for (const id of [...selected.keys()]) if (!ids.has(id)) selected.delete(id);
    // A live update comes any time (twice a second while an alert is open): only rows whose alert
    // changed are redrawn, and a row's checkbox and link never are, so a click, the focus or a
    // picture being loaded is not lost under the reviewer's pointer.
    const had = rowsEl.contains(document.activeElement) ? document.activeElement : null;
    const place = had && { id: had.closest("tr").dataset.id, row: [...rowsEl.children].indexOf(had.closest("tr")), what: had.matches("input.pick") ? "input.pick" : "a" };
    const before = new Map([...rowsEl.children].map((tr) => [Number(tr.dataset.id), tr]));
    items.forEach((a, i) => {
      const tr = before.get(a.id) || newRow(a), shown = JSON.stringify(a);
      if (tr.dataset.shown !== shown) {
        tr.dataset.shown = shown;
        tr.className = a.status;
        while (tr.children.length > 2) tr.lastChild.remove();
        const thumb = a.snapshots ? el("img", { class: "thumb", src: `/api/v1/alerts/${a.id}/thumbnail.jpg`, alt: `alert ${a.id}`, loading: "lazy" }) : "";
        tr.append(el("td", { class: "thumb" }, thumb), el("td", {}, when(a.started_at)), el("td", {}, dur(a)),
          el("td", {}, a.host || "–"), el("td", {}, el("a", { href: onlyThem(a), title: "this person's alerts only (the filters kept)" }, who(a))), el("td", {}, profileOf(a)),
          el("td", {}, `${a.peak_score.toFixed(3)} / ${a.threshold.toFixed(3)}`), el("td", {}, badge(a.status)));
      }
      if (rowsEl.children[i] !== tr) rowsEl.insertBefore(tr, rowsEl.children[i] || null);
    });
    while (rowsEl.children.length > items.length) rowsEl.lastChild.remove();
    if (place && !rowsEl.contains(document.activeElement)) {
      const row = rowsEl.querySelector(`tr[data-id="${place.id}"]`) || rowsEl.children[Math.min(place.row, rowsEl.children.length - 1)];
      row?.querySelector(place.what).focus();
    }
    summary.className = "muted";
    summary.replaceChildren(page.total ? `${page.total} alert(s) match, ${page.unreviewed} unreviewed · showing ${offset + 1}–${offset + page.items.length}` : empty(q));
    document.getElementById("prev").disabled = offset === 0;
    document.getElementById("next").disabled = offset + page.items.length >= page.total;
    document.getElementById("page").textContent = page.total ? `page ${Math.floor(offset / size) + 1} of ${Math.ceil(page.total / size)}` : "";
    showSelection();
  }

  // The list of one camera's person, the other filters kept: a person's number was to be found and
  // typed into the Person box (a track id within its camera, which the list shows but does not offer).
  const onlyThem = (a) => {
    const q = new URLSearchParams(location.search);
    q.delete("offset"); q.set("stream", a.stream_id); q.set("person", a.person);
    return "/?" + q;
  };
  // An empty list says why: nothing raised yet, or filters that leave nothing (and undoes them).
  const empty = (q) => {
    if (["stream", "person", "profile", "host", "status", "since", "until"].every((k) => !q.has(k))) return "No alert yet: each appears here as it is raised (the list updates live).";
    const clear = el("button", { type: "button", class: "link" }, "Clear the filters");
    clear.onclick = () => form.reset();
    return el("span", {}, "No alert matches these filters. ", clear);
  };
  // A reload that fails (the server or its database down) says so over the rows it leaves: they
  // are from before, not what the filters now ask.
  const summary = document.getElementById("summary");
  const reload = (push = false) => load(push).catch((e) => {
    summary.className = "error";
    summary.textContent = `Could not load the alerts (${e.message}): the list below is from before.`;
  });
  // Apart from the live state, so that a reconnect does not replace a result before it is read.
  const msg = document.getElementById("review-result");
  // Each alert is changed only if still in the status the list showed (one request per status
  // shown): with live updates late or down, a colleague's review of it is not overwritten unseen.
  async function review(ids, status, pageNew = false) {
    if (!ids.length) { msg.textContent = pageNew ? "No new alert on this page." : "Nothing to review: select alerts (x) or move to one (j / k)."; return; }
    const shown = new Map(items.map((a) => [a.id, a.status]));
    const groups = new Map();
    for (const id of ids) {
      const seen = selected.has(id) ? selected.get(id) : shown.get(id);
      groups.set(seen, [...(groups.get(seen) || []), id]);
    }
    let updated = 0, changed = 0;
    const done = [];  // [the status each had, its ids]: what an undo puts back
    undo.hidden = true;
    try {
      for (const [seen, group] of groups) {
        const r = await api("/alerts/review", { method: "POST", json: { ids: group, status, if_status: seen } });
        // those reviewed meanwhile are unselected too: left to that review, picked again to change it
        for (const id of [...r.updated, ...r.changed]) selected.delete(id);
        for (const id of r.updated) reviewedHere.add(id);
        updated += r.updated.length; changed += r.changed.length;
        if (seen !== status && r.updated.length) done.push([seen, r.updated]);
      }
      msg.textContent = `${updated} alert(s) ${status}` + (changed ? `; ${changed} reviewed meanwhile by someone else, left as they are` : "");
    } catch (e) { msg.textContent = "Failed: " + e.message; }
    undone = [done, status];
    undo.hidden = !done.length;
    await reload();
    unreviewedBadge();
  }
  // A bulk review or "Mark page reviewed" pressed by mistake (a page of 50 at a stroke) is taken back
  // as it was made: each alert goes back to the status the list showed, if still in the one set here.
  // Before, each had to be reopened on its own page, and what it had been was said nowhere.
  const undo = document.getElementById("review-undo");
  let undone = [[], ""];
  undo.onclick = async () => {
    const [done, status] = undone;
    undo.hidden = true;
    let back = 0, changed = 0;
    try {
      for (const [was, ids] of done) {
        const r = await api("/alerts/review", { method: "POST", json: { ids, status: was, if_status: status } });
        back += r.updated.length; changed += r.changed.length;
      }
      msg.textContent = `Undone: ${back} alert(s) back as they were` + (changed ? `; ${changed} reviewed meanwhile by someone else, left as they are` : "");
    } catch (e) { msg.textContent = `Undo failed: ${e.message}`; undo.hidden = false; }
    await reload();
    unreviewedBadge();
  };
  const targets = () => (selected.size ? [...selected.keys()] : items[focus] ? [items[focus].id] : []);
  document.getElementById("bulk-confirm").onclick = () => review(targets(), "confirmed");
  document.getElementById("bulk-dismiss").onclick = () => review(targets(), "dismissed");
  document.getElementById("bulk-reviewed").onclick = () => review(items.filter((a) => a.status === "new").map((a) => a.id), "dismissed", true);
  const selectAll = () => {
    const all = items.every((a) => selected.has(a.id));
    for (const a of items) all ? selected.delete(a.id) : selected.has(a.id) || select(a.id);
    showSelection();
  };
  document.getElementById("select-all").onchange = selectAll;

  // The keyboard's focus goes with the current alert (to its link): left on a button pressed before
  // (older ›), Enter or space pressed it again, paging on instead of opening or selecting the alert
  // the reviewer had moved to.
  const move = (d) => {
    focus = Math.max(0, Math.min(items.length - 1, focus + d));
    showSelection();
    const row = rowsEl.children[focus];
    row?.scrollIntoView({ block: "nearest" });
    row?.querySelector("a").focus({ preventScroll: true });
  };
  shortcuts({
    j: () => move(1), ArrowDown: () => move(1), k: () => move(-1), ArrowUp: () => move(-1),
    Enter: () => { if (items[focus]) { opening(items[focus].id); location.href = "/alerts/" + items[focus].id; } },
    x: () => toggle(), " ": () => toggle(), a: selectAll,
    c: () => review(targets(), "confirmed"), r: () => review(targets(), "dismissed"), d: () => review(targets(), "dismissed"),
    n: () => document.getElementById("next").click(), p: () => document.getElementById("prev").click(),
  });
  const toggle = () => { const a = items[focus]; if (a) { selected.has(a.id) ? selected.delete(a.id) : select(a.id); showSelection(); } };

  // A filter set by hand replaces what the address asked: the word on what it ignored goes.
  const refilter = () => { offset = 0; document.getElementById("url-notice").textContent = ""; reload(true); };
  form.addEventListener("change", refilter);
  form.addEventListener("reset", () => setTimeout(refilter, 0));
  document.getElementById("prev").onclick = () => { offset = Math.max(0, offset - size); reload(true); };
  document.getElementById("next").onclick = () => { offset += size; reload(true); };
  window.addEventListener("popstate", () => { fromAddress(); reload(); });
  await firstRead("the alerts", () => load());
  // Back from an alert's page: it is current again, or, gone from the list (reviewed there), the one
  // that took its place.
  if (left && items.length) {
    const i = items.findIndex((a) => a.id === left.id);
    focus = i >= 0 ? i : Math.min(Math.max(left.row, 0), items.length - 1);
    move(0);
  }

  const state = document.getElementById("live-state");
  const refresh = debounced(() => { reload(); unreviewedBadge(); });
  // Back after a drop, it reloads: a stream begun anew (refused before any change came) carries no
  // changes from the gap.
  let lost = false;
  liveAlerts(refresh, (s) => { state.textContent = s; if (s === "live" && lost) refresh(); lost = s !== "live"; });
}

// --- alert detail: playback, timeline, review ---------------------------------------------------
async function alertPage() {
  const id = document.getElementById("alert").dataset.alertId;
  const [first, skel] = await firstRead("the alert", () => Promise.all([api("/alerts/" + id), api("/skeleton")]));
  let alert = first, player = null;
  renderAlert(alert);
  // Its note, to keep or edit: a review sends what the box holds, and an empty box would erase it.
  document.getElementById("note").value = alert.note;
  document.getElementById("plot-link").href = `/api/v1/alerts/${id}/timeline.png`;
  document.getElementById("npz-link").href = `/api/v1/alerts/${id}/windows?format=npz`;
  // Reads of the alert, each shown unless a read begun later was shown first: a live update's read
  // answered after a review made here (begun before it) put back the state from before the review,
  // said it was "reviewed meanwhile" and made the next review here over the older one (refused).
  let begun = 0, newest = 0;
  const read = async () => {
    const n = ++begun, a = await api("/alerts/" + id);
    if (n < newest) return null;
    newest = n;
    return a;
  };
  const show = wireReview(id, alert, read);
  // The list's keys for the same acts (c, r or d), each pressing its button: one action at a time,
  // none while it is off. Marking normal changes a profile: m only goes to its choices.
  const press = (name) => () => document.getElementById(name).click();
  shortcuts({
    c: press("confirm"), r: press("dismiss"), d: press("dismiss"), " ": press("play"),
    m: () => {
      const box = document.getElementById("normal-box");
      if (!box.hidden) { box.querySelector("input[name=scope]:checked").focus(); box.scrollIntoView({ block: "nearest" }); }
    },
  });
  showScene(id, alert);
  let win = null;
  follow(alert, read, async (a) => {
    const going = !alert.ended_at;
    alert = a; show(a);
    // An open episode's kept windows change as it goes on (its peak, its last hot one): the playback
    // went on with those of its first moments, after it had ended too. A review changes none.
    if (!going) return;
    if (!player) { drawTimeline(a, null, null); return; }
    try { win = await api(`/alerts/${id}/windows`); player.holes = a.timeline_holes; player.setWindows(win); } catch (e) { /* the next change tries again */ }
  });
  if (!alert.windows_available) {  // retention dropped them: no playback, nothing to download
    document.getElementById("no-windows").hidden = false;
    document.getElementById("npz-link").hidden = true;
    drawTimeline(alert, null, null);
    return;
  }
  win = await api(`/alerts/${id}/windows`);
  player = new Player(document.getElementById("playback"), skel, win, (t) => drawTimeline(alert, win, t), alert.timeline_holes);
  player.start();
}

// An alert's page follows it from the events outbox, as the list does: an open one's end, peak and
// score moment by moment (it stayed "ended: open" as first loaded), and whatever its state a review
// made elsewhere (a colleague confirmed it: the page said "new" until its own review was refused),
// with the nav's unreviewed count. With the live updates lost (the server gone) it says so: what it
// shows is then only what was known.
function follow(first, read, onChange) {
  const box = document.getElementById("alert"), state = document.getElementById("live-state");
  let lostAt = null, open = !first.ended_at, caughtUp = false, why = "";
  const say = () => {
    if (lostAt) {
      state.className = "error";
      state.textContent = `No live updates since ${when(lostAt)} (${why}): it may have ${open ? "ended" : "been reviewed"} since.`;
    } else { state.className = "muted"; state.textContent = open ? "Open: followed live." : ""; }
  };
  const update = async () => {
    let a;
    try { a = await read(); } catch (e) { return; }  // the next change tries again
    if (!a) return;  // older than what is shown
    open = !a.ended_at;
    onChange(a);
    say();
  };
  const counted = debounced(unreviewedBadge);
  liveAlerts((change) => { counted(); if (change.alert.id === first.id) update(); }, (s) => {
    if (s === "live") {
      box.dataset.live = "on";
      // What changed meanwhile: while the stream was down, or between the page's first read and
      // the stream's start (it begins with the changes from then on).
      if (lostAt || !caughtUp) { lostAt = null; caughtUp = true; update(); unreviewedBadge(); }
    } else { lostAt = lostAt || new Date(); why = s; box.dataset.live = "lost"; }
    say();
  });
}

// The pictures the alert kept: keyframes to pick from, or a low-resolution clip that plays.
function showScene(id, a) {
  if (!a.snapshot_frames.length) return;
  document.getElementById("scene").hidden = false;
  const img = document.getElementById("scene-img"), caption = document.getElementById("scene-caption");
  const t0 = a.snapshot_frames[0].t;
  const thumbs = a.snapshot_frames.map((f, i) => el("img", { src: `/api/v1/alerts/${id}/snapshots/${f.name}`, alt: `picture ${i + 1}`, class: "snap" }));
  // Buttons, so a keyboard picks a picture as a mouse does.
  const picks = thumbs.map((t, i) => {
    const b = el("button", { type: "button", class: "snap-pick", "aria-pressed": "false" }, t);
    b.onclick = () => { stop(); show(i); };
    return b;
  });
  const show = (i) => {
    img.src = thumbs[i].src;
    thumbs.forEach((t, k) => { t.classList.toggle("on", k === i); picks[k].setAttribute("aria-pressed", String(k === i)); });
    caption.textContent = `${a.snapshot_mode === "clip" ? "clip" : "keyframe"} ${i + 1}/${thumbs.length} · t = +${(a.snapshot_frames[i].t - t0).toFixed(2)} s`;
  };
  let timer = null, i = 0;
  const stop = () => { clearInterval(timer); timer = null; };
  document.getElementById("scene-strip").replaceChildren(...(a.snapshot_mode === "clip" ? [] : picks));
  show(0);
  if (a.snapshot_mode === "clip") timer = setInterval(() => { i = (i + 1) % thumbs.length; show(i); }, 250);
}

function renderAlert(a) {
  document.getElementById("status-badge").replaceChildren(badge(a.status));
  const rows = [["host", a.host || "–"], ["stream", a.stream_id], ["person", a.person ? String(a.person) : "– (one person per camera)"],
    ...(a.box ? [["where", personBox(a)]] : []), ["profile", profileOf(a)], ["model", a.model_version],
    ["started", when(a.started_at)], ["ended", a.ended_at ? when(a.ended_at) : "open"], ["duration", dur(a)],
    ["peak / mean", `${a.peak_score.toFixed(3)} / ${a.mean_score.toFixed(3)}`], ["threshold", a.threshold.toFixed(3)],
    // which of its profile's normal behaviours the peak was closest to (unknown for older alerts: no row)
    ...(a.nearest ? [["nearest normal", a.nearest]] : []),
    ["windows", `${a.n_windows} scored, ${a.n_kept} stored`],
    ["reviewed", a.reviewed_at ? `${when(a.reviewed_at)} by ${a.reviewed_by || "?"}` : "not yet"], ["note", a.note || "–"]];
  document.getElementById("meta").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  document.getElementById("undo").hidden = !a.in_profile;
  // Reopening a new alert would only record a review of it that changed nothing.
  document.getElementById("reopen").hidden = a.status === "new";
  const box = document.getElementById("normal-box"), wasHidden = box.hidden;
  box.hidden = !!a.in_profile || !a.windows_available;
  const parts = a.profile.split("+");
  const sel = document.getElementById("normal-profile");
  if (parts.length > 1 && !a.in_profile) {
    const chosen = sel.value;  // kept across a re-render (a live update, a review): the scopes shown are its
    sel.replaceChildren(...parts.map((p) => el("option", { value: p }, p)));
    if (parts.includes(chosen)) sel.value = chosen;
    sel.hidden = false;
  }
  // Each time the box is shown, not only at load: hidden then (the alert was in a profile), it came
  // back after an undo (here or elsewhere) with "only this camera" and a button pressable on a
  // host that lacks the profile.
  if (wasHidden && !box.hidden) showScopes(a.id);
  document.getElementById("history").replaceChildren(...a.feedback.map((f) =>
    el("li", {}, `${when(f.at)}: ${f.action === "normal" ? "added to" : "removed from"} ${target(f.profile)} (v${f.base_version} → v${f.version}) by ${f.reviewer}${f.note ? " — " + f.note : ""}`)));
}

// Feedback names a profile, or a camera's overlay of it as profile@camera.
const target = (t) => (t.includes("@") ? `${t.split("@")[0]} (camera ${t.split("@")[1]} only)` : `${t} (every camera)`);

// Before anything is applied, the page says which cameras each scope changes. Only the latest
// check's answer is shown (a profile picked, then another, or the box shown again meanwhile).
let scopesAsked = 0;
async function showScopes(id) {
  const sel = document.getElementById("normal-profile");
  const q = sel.hidden ? "" : "?profile=" + encodeURIComponent(sel.value);
  const button = document.getElementById("normal"), why = document.getElementById("normal-why");
  const asked = ++scopesAsked;
  // Off until the answer: pressed before it, the change applied to cameras the reviewer had not seen.
  button.dataset.off = "1";
  button.disabled = true;
  why.textContent = "";
  let p;
  try { p = await api(`/alerts/${id}/normal${q}`); } catch (e) {
    if (asked === scopesAsked) why.textContent = `Which cameras each scope changes is unknown (${e.message}): reload the page.`;
    return;
  }
  if (asked !== scopesAsked) return;
  document.getElementById("scope-camera-text").textContent = `only camera ${p.scopes.camera.join(", ")}`;
  document.getElementById("scope-all-text").textContent = `every camera using ${p.profile}: ${p.scopes.all.join(", ")}`;
  // Said before a reviewer picks a scope and names a behaviour, not after pressing (a review-only host).
  button.dataset.off = p.enrolled ? "" : "1";
  // Left off while an action is under way (Confirm off: act's sign of one): its end turns it on.
  button.disabled = !p.enrolled || document.getElementById("confirm").disabled;
  why.textContent = p.enrolled ? "" : `Profile ${p.profile} is not enrolled on this host: mark it normal where it is.`;
}

function wireReview(id, alert, read) {
  const msg = document.getElementById("review-msg");
  const note = () => document.getElementById("note").value;
  // The review this page last showed: the server refuses a change if another reviewer's came since.
  let seen = alert.reviewed_at, shownNote = alert.note;
  // The message comes last, once the page shows the alert's state, new or (refused) another's.
  // One action at a time: a second press would carry the review the first replaces (a 409).
  const buttons = document.querySelectorAll(".review button");
  let busy = false;  // an action under way: it shows its own outcome
  // A note being written, kept in the tab until a review sends it: a session that ended sent the
  // browser to the login, and back here after it with the note gone (a reload too).
  const box = document.getElementById("note"), draft = "haad-note:" + id;
  if (sessionStorage.getItem(draft) !== null) box.value = sessionStorage.getItem(draft);
  box.addEventListener("input", () => { if (box.value === shownNote) sessionStorage.removeItem(draft); else sessionStorage.setItem(draft, box.value); });
  const act = async (fn) => {
    if (buttons[0].disabled) return;
    busy = true;
    buttons.forEach((b) => { b.disabled = true; });
    msg.textContent = "…";
    let done;
    let ok = true;
    try { done = await fn(); sessionStorage.removeItem(draft); } catch (e) { done = "Failed: " + e.message; ok = false; }
    // Failed, the page still shows the alert as it was; the reason is said once. (With the log down
    // it read "Failed: alert log unreachable; try again shortly (reload the page: alert log
    // unreachable; try again shortly)", and a reload then lost the page to an error page.)
    try { const a = await read(); if (a) show(a); } catch (e) { if (ok) done += " (the page could not show it: " + e.message + "; reload the page)"; }
    msg.textContent = done;
    buttons.forEach((b) => { b.disabled = !!b.dataset.off; });
    unreviewedBadge();
    busy = false;
  };
  const review = (status) => act(async () => { await api(`/alerts/${id}/review`, { method: "POST", json: { status, note: note(), if_reviewed_at: seen } }); return `Marked ${status}.`; });
  document.getElementById("confirm").onclick = () => review("confirmed");
  document.getElementById("dismiss").onclick = () => review("dismissed");
  document.getElementById("reopen").onclick = () => review("new");
  document.getElementById("normal-profile").onchange = () => showScopes(id);
  document.getElementById("normal").onclick = () => act(async () => {
    const sel = document.getElementById("normal-profile");
    const scope = document.getElementById("scope-all").checked ? "all" : "camera";
    const behaviour = document.getElementById("normal-behaviour").value.trim() || null;
    const r = await api(`/alerts/${id}/normal`, { method: "POST", json: { note: note(), profile: sel.hidden ? null : sel.value, scope, behaviour, if_reviewed_at: seen } });
    const where = r.scope === "camera" ? `profile ${r.profile} for camera ${r.stream} only` : `profile ${r.profile}`;
    return `Normal for ${r.cameras.join(", ")}: behaviour ${r.behaviour} added to ${where}, v${r.version} (${r.windows} windows; threshold ${r.threshold.toFixed(3)} unchanged). Running workers pick it up within seconds.`;
  });
  document.getElementById("undo").onclick = () => act(async () => {
    // Over the review shown, as the others: it undid a colleague's later review unseen.
    const r = await api(`/alerts/${id}/normal` + (seen ? `?if_reviewed_at=${encodeURIComponent(seen)}` : ""), { method: "DELETE" });
    return `Removed from ${r.scope === "camera" ? `profile ${r.profile} for camera ${r.stream}` : `profile ${r.profile}`}: v${r.version}; it alerts again on ${r.cameras.join(", ")}.`;
  });
  // The alert as read (after an action here, or live): the next review is made over the review
  // shown. One made elsewhere is said (an action here says its own outcome), and its note replaces
  // the one in the box unless edited here (a review sends what the box holds; the box keeps what
  // was sent here, not a note an undo wrote, which the next "normal" would record as its own).
  const show = (a) => {
    renderAlert(a);
    if (a.reviewed_at === seen) return;
    if (!busy && box.value === shownNote) box.value = a.note;
    // Put back to new (reopened, or its "normal" undone) is said so: "…by bob: new." read as if bob
    // had found it new.
    if (!busy) msg.textContent = `Reviewed meanwhile by ${a.reviewed_by || "?"} (${when(a.reviewed_at)}): ${a.status === "new" ? "reopened" : a.status}.`;
    shownNote = a.note; seen = a.reviewed_at;
  };
  return show;
}

// A score timeline's [t, score] points in pieces, one between each two holes in its stream (each
// [the last moment before, the first after], on the points' clock): a line is drawn per piece.
function atHoles(pts, holes) {
  const pieces = [[]];
  pts.forEach((p, i) => {
    if (i && holes.some(([a, b]) => pts[i - 1][0] <= a && p[0] >= b)) pieces.push([]);
    pieces[pieces.length - 1].push(p);
  });
  return pieces;
}

// The alert's score moment by moment (a line, a dot per moment, hot ones red), the threshold.
function drawTimeline(alert, win, tNow) {
  const svg = document.getElementById("timeline");
  const W = 480, H = 170, L = 42, R = 10, T = 10, B = 26;
  // the score moment by moment (each window's at the moment it is about, edge/episodes.py; kept
  // after retention drops the windows), else the kept windows' at their ends
  const pts = alert.timeline && alert.timeline.length ? alert.timeline
    : win && win.window_scores ? win.window_times.map((t, i) => [t[1], win.window_scores[i]]) : [];
  svg.replaceChildren();
  if (!pts.length) { svg.append(Object.assign(svgEl("text", { x: 20, y: 80 }), { textContent: "no window scores stored" })); return; }
  const t0 = win ? win.window_times[0][0] : pts[0][0];
  const xs = pts.map((p) => p[0] - t0), ys = pts.map((p) => p[1]).concat([alert.threshold]);
  const x0 = Math.min(0, ...xs), x1 = Math.max(...xs, x0 + 1), y0 = Math.min(...ys) * 0.9, y1 = Math.max(...ys) * 1.08;
  const X = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R), Y = (y) => H - B - ((y - y0) / (y1 - y0)) * (H - T - B);
  svg.append(svgEl("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#999" }), svgEl("line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "#999" }));
  for (const y of [y0, (y0 + y1) / 2, y1]) svg.append(Object.assign(svgEl("text", { x: 2, y: Y(y) + 4, "font-size": 10, fill: "#667" }), { textContent: y.toFixed(2) }));
  svg.append(Object.assign(svgEl("text", { x: W - R, y: H - 6, "font-size": 10, fill: "#667", "text-anchor": "end" }), { textContent: `${(x1 - x0).toFixed(1)} s` }));
  svg.append(svgEl("line", { x1: L, x2: W - R, y1: Y(alert.threshold), y2: Y(alert.threshold), stroke: "#555", "stroke-dasharray": "5 4", class: "threshold" }));
  // A hole in the stream (no frames, the episode waited across it): shaded, the line broken there,
  // never drawn straight across as if scores were known.
  const holes = alert.timeline_holes || [];
  for (const [a, b] of holes) {
    const band = svgEl("rect", { x: X(a - t0), y: T, width: Math.max(X(b - t0) - X(a - t0), 1), height: H - T - B, fill: "#e4e4e4", class: "hole" });
    band.append(Object.assign(svgEl("title", {}), { textContent: `no frames from +${(a - t0).toFixed(1)} to +${(b - t0).toFixed(1)} s: a hole in the stream, no score known` }));
    svg.append(band, Object.assign(svgEl("text", { x: (X(a - t0) + X(b - t0)) / 2, y: T + 12, "font-size": 10, fill: "#667", "text-anchor": "middle", class: "hole-label" }), { textContent: "no frames" }));
  }
  for (const piece of atHoles(pts, holes)) svg.append(svgEl("polyline", { points: piece.map(([t, sc]) => `${X(t - t0)},${Y(sc)}`).join(" "), fill: "none", stroke: "#1f77b4", class: "trace", "data-n": piece.length }));
  xs.forEach((x, i) => svg.append(svgEl("circle", { cx: X(x), cy: Y(pts[i][1]), r: pts.length > 40 ? 2 : 4, fill: pts[i][1] > alert.threshold ? "#d62728" : "#1f77b4", class: "score" })));
  if (tNow != null) svg.append(svgEl("line", { x1: X(tNow - t0), x2: X(tNow - t0), y1: T, y2: H - B, stroke: "#2a7a3b", class: "cursor" }));
}

// --- timeline: every camera over a period, alerts as bars with their score traces, drag to zoom ---
async function timelinePage() {
  const params = new URLSearchParams(location.search);
  const svg = document.getElementById("tl");
  // A period from the URL that is no date, or ends before it starts, is said and replaced.
  const ignored = [];
  const end = urlDate(params, "until", ignored), start = urlDate(params, "since", ignored);
  // A period without an end in the address runs until now, and goes on with it as alerts come in
  // (the address leaves the end out); a zoom fixes its end.
  let following = !end;
  let until = end || new Date();
  // "Last N hours" (the default, or last=N in the address) slides with now, its length kept: it
  // grew, and on a screen left open "Last 1 hour" drew the whole shift.
  const lastSel = document.getElementById("t-last");
  let span = null;
  if (!end && !start) {
    const v = params.get("last"), hours = Number(v);
    if (v && !(hours > 0 && hours <= 24 * 3660)) ignored.push(`last "${v}" (not a number of hours up to ten years)`);
    span = (v && hours > 0 && hours <= 24 * 3660 ? hours : Number(lastSel.value)) * 3600e3;
  }
  let since = start || new Date(until.getTime() - (span || 24 * 3600e3));
  if (since >= until) { ignored.push(`since "${params.get("since")}" (not before until)`); since = new Date(until.getTime() - 24 * 3600e3); }
  sayIgnored(ignored);
  const L = 90, R = 10, ROW = 56, T = 22, LANE = 11;
  let W = 800;
  const X = (t) => L + ((t - since.getTime()) / (until.getTime() - since.getTime())) * (W - L - R);
  const timeAt = (x) => since.getTime() + ((x - L) / (W - L - R)) * (until.getTime() - since.getTime());
  // An axis time names its zone as every other time on the pages (at a fall-back hour the axis read
  // 1:00, 1:30, 1:00, 1:30); the date over days, the seconds within an hour or between marks less
  // than a minute apart, their tenths (hundredths…) between marks less than a second apart.
  const short = (t, step) => {
    const span = until - since, opts = { hour: "numeric", minute: "2-digit", timeZoneName: "short" };
    if (span <= 3600e3 || step < 60e3) opts.second = "2-digit";
    if (step < 1e3) opts.fractionalSecondDigits = step >= 100 ? 1 : step >= 10 ? 2 : 3;
    if (span > 2 * 86400e3) Object.assign(opts, { year: "numeric", month: "numeric", day: "numeric" });
    return new Date(t).toLocaleString([], opts);
  };
  // The axis marks: the period split in n, its ends marked, where each part is a whole number of the
  // unit its labels show (a chosen "Last 6 hours", a day); else (a drag's zoom) round times of the
  // browser's clock as far apart as labels of `room` need. Split in four, 10 s from 10:00:03.4 read
  // 10:00:03, :05, :08, :10, :13 (uneven), and 2 s read :03, :03, :04, :04, :05.
  const ROUND = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 10e3, 15e3, 30e3, 60e3, 120e3, 300e3, 600e3,
    900e3, 1800e3, 3600e3, 7200e3, 10800e3, 21600e3, 43200e3, 86400e3, 172800e3, 604800e3];
  const axisMarks = (n, room) => {
    const span = until - since, even = span / n;
    const step = ROUND.find((s) => ((W - L - R) * s) / span >= room);
    if (even % (span <= 3600e3 ? 1e3 : 60e3) === 0 || !step) {
      return [...Array(n + 1).keys()].map((i) => ({ t: since.getTime() + i * even, step: even, anchor: i === 0 ? "start" : i === n ? "end" : "middle" }));
    }
    const zone = -since.getTimezoneOffset() * 60e3;  // round on the local clock (a zone +5:30 too)
    const marks = [];
    for (let t = Math.ceil((since.getTime() + zone) / step) * step - zone; t <= until.getTime(); t += step) marks.push({ t, step, anchor: "middle" });
    return marks;
  };

  let shown = null, loads = 0;  // the answer drawn, redrawn as the clock moves; loads begun
  const tip = chartTip(svg, document.getElementById("tl-tip"));
  const zoomIn = document.getElementById("t-in"), ZOOM_MIN = 10e3;  // the button's closest period (a drag goes on)
  // When the live updates stopped (the server gone), null while they come: an open alert is known
  // to be going on up to then, not to now (it may have ended since).
  let lostAt = null;
  async function load() {
    if (following) until = new Date();
    if (span) since = new Date(until.getTime() - span);
    const q = new URLSearchParams(span ? { last: span / 3600e3 } : { since: since.toISOString() });
    if (!following) q.set("until", until.toISOString());
    history.replaceState(null, "", "/timeline?" + q.toString());
    // A zoom is no "Last 24 hours" (and that can be chosen again): a length the select lacks is "—".
    lastSel.value = span ? String(span / 3600e3) : "";
    if (lastSel.selectedIndex < 0) lastSel.value = "";
    q.delete("last"); q.set("since", since.toISOString()); q.set("until", until.toISOString());
    const tsum = document.getElementById("t-summary");
    // Only the latest load is drawn: a live update's, begun before a zoom or another "Last", answered
    // after it and drew the old period's bars (and count) on the new period's axis.
    const n = ++loads;
    try {
      const tl = await api("/timeline?" + q.toString());
      if (n === loads) draw(shown = tl);
    } catch (e) {
      if (n !== loads) return;
      shown = null;
      svg.replaceChildren();  // bars of another period under this one's axis would mislead
      tsum.className = "error";
      tsum.textContent = `Could not load the timeline (${e.message}).`;
    }
  }
  function draw(tl) {
    W = Math.max(svg.getBoundingClientRect().width || 800, 300);
    // Pressed at its closest, the button did nothing and said nothing.
    zoomIn.disabled = until - since < ZOOM_MIN;
    // Drawn again as the period slides on: an alert that ended before it begins has left it.
    const alerts = tl.alerts.filter((a) => !a.ended_at || Date.parse(a.ended_at) >= since.getTime());
    // Alerts of one camera that overlap in time (two people tracked in it, two profiles) each get a
    // lane of its row: on one line, one bar hid the other.
    const ends = new Map(tl.streams.map((st) => [st, []]));  // a camera's lanes: where each is taken to
    const bars = alerts.map((a) => {
      const s = Date.parse(a.started_at), e = a.ended_at ? Date.parse(a.ended_at) : lostAt ? lostAt.getTime() : Date.now();
      const x = Math.max(X(s), L), w = Math.max(3, Math.min(X(e), W - R) - x), taken = ends.get(a.stream_id);
      let lane = taken.findIndex((end) => end + 2 <= x);
      if (lane < 0) lane = taken.length;
      taken[lane] = x + w;
      return { a, s, x, w, lane };
    });
    const rowH = (stream) => ROW + LANE * Math.max(ends.get(stream).length - 1, 0);
    const tops = new Map();
    tl.streams.reduce((y, st) => (tops.set(st, y), y + rowH(st)), T);
    const H = T + Math.max(tl.streams.reduce((h, st) => h + rowH(st), 0), ROW) + 4;
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`); svg.setAttribute("height", H);
    // A keyboard user's bar keeps the focus across a redraw (a live update comes any time).
    const focused = svg.contains(document.activeElement) ? document.activeElement.getAttribute("href") : null;
    svg.replaceChildren();
    // The period's part of the chart: the trace of an alert begun before it ran over the camera names.
    const period = svgEl("clipPath", { id: "tl-period" });
    period.append(svgEl("rect", { x: L, y: 0, width: W - L - R, height: H }));
    svg.append(period);
    // As many axis times as fit side by side (a phone's chart holds its two ends): the first reaches
    // right of its line, the next half each way.
    // Measured as the finest marks (a quarter of the period) would label it.
    const probe = svg.appendChild(Object.assign(svgEl("text", { "font-size": 10 }), { textContent: short(until.getTime(), (until - since) / 4) }));
    const width = probe.getComputedTextLength(), room = 1.5 * width + 12;
    probe.remove();
    const n = [4, 2].find((k) => (W - L - R) / k >= room) || 1;
    for (const mark of axisMarks(n, room)) {
      const { t, step } = mark, x = X(t), middle = Math.min(Math.max(x, width / 2 + 2), W - width / 2 - 2);  // a mark by an edge: its label within the chart
      // The ends alone (a phone): the first is centred on its line, over the free corner above the
      // camera names, as reaching right of it, it ran into the last.
      const anchor = n === 1 && mark.anchor === "start" ? "middle" : mark.anchor;
      svg.append(svgEl("line", { x1: x, x2: x, y1: T - 4, y2: H, stroke: "#e3e7ec", class: "mark" }));
      svg.append(Object.assign(svgEl("text", { x: anchor === "middle" ? middle : x, y: 12, "font-size": 10, fill: "#667", "text-anchor": anchor }), { textContent: short(t, step) }));
    }
    const rowY = (stream) => tops.get(stream);
    // A row's scores are drawn as score / threshold: the dashed line is each alert's threshold.
    const Y = (stream, ratio) => rowY(stream) + 4 + (1 - Math.min(ratio, 2) / 2) * (ROW - 18);
    for (const s of tl.streams) {
      const y = rowY(s);
      svg.append(rowLabel(s, y + ROW / 2));
      svg.append(svgEl("line", { x1: L, x2: W - R, y1: Y(s, 1), y2: Y(s, 1), stroke: "#bbb", "stroke-dasharray": "4 3" }));
      svg.append(svgEl("line", { x1: 0, x2: W, y1: y + rowH(s), y2: y + rowH(s), stroke: "#d8dde3" }));
    }
    const colour = { new: "#d62728", confirmed: "#9b1c1c", dismissed: "#2a7a3b" };
    for (const { a, s, x, w, lane } of bars) {
      const bar = svgEl("rect", { x, y: rowY(a.stream_id) + ROW - 12 + LANE * lane, width: w, height: 8, rx: 2, fill: colour[a.status] || "#888", class: "bar", "data-id": a.id });
      const label = `alert ${a.id}: ${a.host ? a.host + " · " : ""}${who(a)} · ${a.profile} · ${when(a.started_at)} · peak ${a.peak_score.toFixed(3)} / ${a.threshold.toFixed(3)} · ${a.status}${a.ended_at ? "" : " · still open"}`;
      // A link, so the keyboard reaches each alert (Tab, Enter) as a click does; its words shown by
      // the page's own tip (below), not an SVG title, which went with the bar at each redraw.
      const link = svgEl("a", { href: "/alerts/" + a.id, "aria-label": label, class: "bar-link", "data-id": a.id, "data-tip": `alert ${a.id}` });
      link.append(bar);
      svg.append(link);
      if (a.trace.length) {
        for (const piece of atHoles(a.trace, a.holes)) {
          const pts = piece.map(([dt, sc]) => `${X(s + dt * 1000).toFixed(1)},${Y(a.stream_id, sc / a.threshold).toFixed(1)}`);
          svg.append(svgEl("polyline", { points: pts.join(" "), fill: "none", stroke: "#1f77b4", "stroke-width": 1.2, "clip-path": "url(#tl-period)", class: "trace", "data-id": a.id, "data-n": piece.length }));
        }
      }
    }
    if (focused) svg.querySelector(`a[href="${focused}"]`)?.focus();
    tip.redrawn();
    if (from != null) svg.append(band);  // a drag under way goes on over the new chart
    const more = tl.truncated ? ` (only the newest ${tl.alerts.length} drawn, from ${when(tl.alerts[0].started_at)}: zoom in for the earlier ones)` : "";
    const tsum = document.getElementById("t-summary");
    tsum.className = lostAt ? "error" : "muted";
    tsum.textContent = `${alerts.length} alert(s) on ${tl.streams.length} camera(s), ${when(since)} – ${when(until)}` + more
      + (lostAt ? ` · No live updates since ${when(lostAt)} (reconnecting…): open alerts are drawn up to then.` : "");
  }
  // A camera's name, cut to the room left of the chart (it ran across its row's bars), whole in the
  // page's tip on hover and to a screen reader.
  function rowLabel(name, y) {
    const row = svgEl("g", { class: "camera", role: "img", "aria-label": name, "data-tip": "camera " + name });
    const text = svgEl("text", { x: 4, y, "font-size": 12, class: "row-label" });
    text.textContent = name;
    row.append(text);
    svg.append(row);  // measured where it is drawn
    for (let k = name.length - 1; k > 0 && text.getComputedTextLength() > L - 10; k--) text.textContent = name.slice(0, k) + "…";
    return row;
  }

  // Drag across the chart to zoom into that stretch (not a click on the bar it began on: its link
  // opens the alert).
  let from = null, band = null, dragged = false;
  const svgX = (ev) => { const r = svg.getBoundingClientRect(); return ((ev.clientX - r.left) / r.width) * W; };
  svg.addEventListener("pointerdown", (ev) => { from = svgX(ev); band = svgEl("rect", { x: from, y: 0, width: 0, height: "100%", fill: "rgba(31,119,180,.15)", class: "band" }); svg.append(band); });
  svg.addEventListener("pointermove", (ev) => { if (from == null) return; const x = svgX(ev); band.setAttribute("x", Math.min(x, from)); band.setAttribute("width", Math.abs(x - from)); });
  svg.addEventListener("pointerup", (ev) => {
    const x = svgX(ev), start = from;
    from = null; band?.remove();
    dragged = start != null && Math.abs(x - start) > 6;
    if (dragged) {
      const a = timeAt(Math.max(L, Math.min(x, start))), b = timeAt(Math.min(W - R, Math.max(x, start)));
      since = new Date(a); until = new Date(b); following = false; span = null; load();
    }
  });
  svg.addEventListener("click", (ev) => { if (dragged) ev.preventDefault(); dragged = false; });
  // Zoomed out, a period that ran until now still does (its later half would be the future).
  // The keyboard's zoom in (a drag needs a pointer): half the period, its middle kept, or its end
  // where it follows now (a "Last N hours" then slides on at half the length).
  zoomIn.onclick = () => {
    const half = (until - since) / 2;
    if (2 * half < ZOOM_MIN) return;  // (its state is from the last drawing: a failed load drew none)
    if (span) span = half;
    else if (following) since = new Date(until.getTime() - half);
    else { since = new Date(since.getTime() + half / 2); until = new Date(until.getTime() - half / 2); }
    load();
  };
  document.getElementById("t-out").onclick = () => { span = null; const mid = (since.getTime() + until.getTime()) / 2, half = until - since; since = new Date(mid - half); until = new Date(mid + half); load(); };
  lastSel.onchange = () => { following = true; span = Number(lastSel.value) * 3600e3; load(); };
  await load();
  // Between live events the clock moves on: an open alert's bar reaches now (left where the last
  // event drew it, it read as an alert that had ended), and a period that follows now still ends
  // there. A redraw of the answer drawn, no request; none for a hidden tab or during a drag.
  const tick = () => {
    if (document.hidden || !shown || from != null || lostAt) return;
    if (!following && !(until > Date.now() && shown.alerts.some((a) => !a.ended_at))) return;
    if (following) until = new Date();
    if (span) since = new Date(until.getTime() - span);
    draw(shown);
  };
  setInterval(tick, 5000);
  document.addEventListener("visibilitychange", tick);
  // Every alert change redraws the chart: a new alert's bar, an open one's growing, a review's colour.
  const state = document.getElementById("live-state");
  // The nav's unreviewed count with it: it kept the number the page opened with.
  const changed = () => { load(); unreviewedBadge(); };
  liveAlerts(debounced(changed), (s) => {
    state.textContent = s;
    if (s !== "live") { lostAt = lostAt || new Date(); if (shown) draw(shown); } else if (lostAt) { lostAt = null; changed(); }  // the changes missed
  });
}

// The words of a timeline bar or a camera's name while the pointer is on it, or of a bar while it has
// the keyboard's focus (each marked data-tip="<key>", its words its aria-label): the chart is drawn
// anew every few seconds (the clock, live events), and the browser's tooltip of an SVG title went
// with the element it belonged to, back only once the pointer moved (a flicker, or gone). This tip
// belongs to the page: kept across a redraw while its element is still drawn, with the new one's words.
function chartTip(svg, tip) {
  let key = null, at = null;  // what is shown, and where: the pointer's place or the element's
  const tipped = (target) => target?.closest?.("[data-tip]");
  const place = () => {
    const node = svg.querySelector(`[data-tip="${CSS.escape(key)}"]`);
    if (!node) { hide(); return; }
    tip.textContent = node.getAttribute("aria-label");
    tip.hidden = false;
    const r = node.getBoundingClientRect(), [x, y] = at || [r.left, r.bottom];
    tip.style.left = `${Math.max(4, Math.min(x + 12, innerWidth - tip.offsetWidth - 4))}px`;
    tip.style.top = `${y + 16 + tip.offsetHeight < innerHeight ? y + 16 : y - 8 - tip.offsetHeight}px`;
  };
  const show = (node, point) => { key = node.dataset.tip; at = point; place(); };
  const hide = () => { key = null; tip.hidden = true; };
  svg.addEventListener("pointermove", (ev) => {
    const node = tipped(ev.target);
    if (node) show(node, [ev.clientX, ev.clientY]); else if (at) hide();
  });
  svg.addEventListener("pointerleave", () => { if (at) hide(); });
  // Heard on the chart's box: Chromium makes an SVG element with focus listeners a Tab stop of its
  // own (the chart, between "zoom out" and its first bar, doing nothing).
  const box = svg.parentElement;
  box.addEventListener("focusin", (ev) => { if (tipped(ev.target)) show(tipped(ev.target), null); });
  box.addEventListener("focusout", (ev) => { if (!at && !tipped(ev.relatedTarget)) hide(); });
  return { redrawn: () => { if (key !== null) place(); } };
}

class Player {
  constructor(canvas, skel, win, onTime, holes = []) {
    this.holes = holes;
    this.c = canvas; this.ctx = canvas.getContext("2d"); this.skel = skel; this.onTime = onTime;
    this.speed = 1; this.playing = true; this.i = 0; this.acc = 0; this.view = "front";
    this.side = skel.joints.map((n) => (n.includes("Left") ? "#1f77b4" : n.includes("Right") ? "#ff7f0e" : "#333"));
    this.scrub = document.getElementById("scrub");
    this.scrub.oninput = () => { this.i = Number(this.scrub.value); this.draw(); };
    const play = document.getElementById("play");
    play.onclick = () => { this.playing = !this.playing; play.textContent = this.playing ? "Pause" : "Play"; };
    document.getElementById("speed").onchange = (e) => { this.speed = Number(e.target.value); };
    document.getElementById("view").onchange = (e) => { this.view = e.target.value; this.fit(); this.draw(); };
    this.setWindows(win);
  }
  // The windows played: again as an open alert's change (its page follows it), speed, view and
  // pause kept.
  setWindows(win) {
    this.fps = win.fps || 20;
    const frames = [];
    win.frames.forEach((w, k) => {
      const [a, b] = win.window_times[k];
      w.forEach((pose, f) => frames.push({ t: a + (w.length > 1 ? (f * (b - a)) / (w.length - 1) : 0), pose, k }));
    });
    frames.sort((p, q) => p.t - q.t);
    this.frames = [];
    for (const f of frames) {
      const last = this.frames[this.frames.length - 1];
      if (last && f.t <= last.t + 0.5 / this.fps) continue;
      // Across a hole in the stream, a second of "no frames" (scrubbed through, the cursor crossing
      // its band), not the last pose before it joined to the first after it.
      // (A hole is read between the moments scored around it, windows' middles: the frames stop and
      // start again within it.)
      const hole = last && f.t - last.t > 2 / this.fps && this.holes.find(([a, b]) => last.t < b && f.t > a);
      if (hole) {
        const from = Math.max(last.t, hole[0]), to = Math.min(f.t, hole[1]);
        for (let j = 0; j < this.fps; j++) this.frames.push({ t: from + ((j + 0.5) / this.fps) * (to - from), hole });
      }
      this.frames.push(f);
    }
    this.scores = win.window_scores; this.threshold = win.threshold;
    this.scrub.max = String(this.frames.length - 1);
    this.i = Math.min(this.i, Math.max(this.frames.length - 1, 0));
    this.fit();
  }
  uv(p) { return this.view === "front" ? [p[0], p[1]] : [p[2], p[1]]; }
  fit() {
    let u0 = Infinity, u1 = -Infinity, v0 = Infinity, v1 = -Infinity;
    for (const f of this.frames) for (const p of f.pose || []) {
      if (p[0] == null) continue;
      const [u, v] = this.uv(p); u0 = Math.min(u0, u); u1 = Math.max(u1, u); v0 = Math.min(v0, v); v1 = Math.max(v1, v);
    }
    const pad = 24, s = Math.min((this.c.width - 2 * pad) / Math.max(u1 - u0, 0.5), (this.c.height - 2 * pad) / Math.max(v1 - v0, 0.5));
    this.map = ([u, v]) => [this.c.width / 2 + (u - (u0 + u1) / 2) * s, this.c.height / 2 - (v - (v0 + v1) / 2) * s];
  }
  draw() {
    const g = this.ctx, f = this.frames[this.i];
    g.clearRect(0, 0, this.c.width, this.c.height);
    if (!f) return;
    this.scrub.value = String(this.i);
    if (f.hole) {
      g.fillStyle = "#667"; g.font = "15px system-ui"; g.textAlign = "center";
      g.fillText("no frames", this.c.width / 2, this.c.height / 2);
      g.font = "13px system-ui";
      g.fillText("a hole in the stream: nothing was seen here", this.c.width / 2, this.c.height / 2 + 20);
      g.textAlign = "start";
      document.getElementById("clock").textContent = `t = ${f.t.toFixed(2)} s (source clock) · no frames (a hole in the stream) · frame ${this.i + 1}/${this.frames.length}`;
      this.onTime(f.t);
      return;
    }
    const score = this.scores ? this.scores[f.k] : null;
    g.lineWidth = 4; g.lineCap = "round";
    for (const [a, b] of this.skel.bones) {
      const p = f.pose[a], q = f.pose[b];
      if (p[0] == null || q[0] == null) continue;
      const [x1, y1] = this.map(this.uv(p)), [x2, y2] = this.map(this.uv(q));
      g.strokeStyle = this.side[b]; g.beginPath(); g.moveTo(x1, y1); g.lineTo(x2, y2); g.stroke();
    }
    for (let j = 0; j < f.pose.length; j++) {
      const p = f.pose[j]; if (p[0] == null) continue;
      const [x, y] = this.map(this.uv(p)); g.fillStyle = this.side[j]; g.beginPath(); g.arc(x, y, 4, 0, 2 * Math.PI); g.fill();
    }
    g.fillStyle = score != null && score > this.threshold ? "#d62728" : "#333"; g.font = "13px system-ui";
    g.fillText(`window ${f.k + 1}/${this.scores ? this.scores.length : "?"}` + (score != null ? `  score ${score.toFixed(3)}` : ""), 10, 18);
    document.getElementById("clock").textContent = `t = ${f.t.toFixed(2)} s (source clock) · frame ${this.i + 1}/${this.frames.length}`;
    this.onTime(f.t);
  }
  start() {
    let last = performance.now();
    const tick = (now) => {
      const dt = (now - last) / 1000; last = now;
      if (this.playing && this.frames.length) {
        this.acc += dt * this.fps * this.speed;
        const steps = Math.floor(this.acc);
        if (steps > 0) { this.acc -= steps; this.i = (this.i + steps) % this.frames.length; this.draw(); }
      }
      requestAnimationFrame(tick);
    };
    this.draw();
    requestAnimationFrame(tick);
  }
}

// --- live view ----------------------------------------------------------------------------------
async function livePage() {
  const box = document.getElementById("streams"), lost = document.getElementById("live-error");
  let silentSince = null;  // when the server stopped answering
  async function refresh() {
    let streams;
    try { streams = await api("/streams?last=3"); } catch (e) {
      // The cards would go on saying "live" (or "ABNORMAL") from the last answer: say they are old.
      silentSince = silentSince || new Date();
      lost.textContent = `No answer from the server since ${when(silentSince)} (${e.message}): what is shown is from then.`;
      return;
    }
    silentSince = null;
    lost.textContent = "";
    box.replaceChildren(...streams.map((s) => {
      // A stream whose worker stopped keeps its last status row (and an open alert no worker will
      // close): older than a few status intervals, its state is unknown, never shown as current.
      const lastStatus = s.profiles.reduce((t, p) => (t && t > new Date(p.updated_at) ? t : new Date(p.updated_at)), null);
      // With open alerts and no status row ever (a worker that died before its first, a log whose
      // statuses are not kept) its state is as unknown: it said ABNORMAL, as if current.
      const stale = !s.live && lastStatus;
      const [cls, label] = stale ? ["stale", "stale"] : !s.live && s.open_alerts ? ["stale", "unknown"] : s.open_alerts ? ["new", "ABNORMAL"] : s.live ? ["dismissed", "live"] : ["", "no data"];
      const open = s.open_alerts ? ` · ${s.open_alerts} open alert(s), state unknown` : "";
      const card = el("section", { class: "card stream", "data-stream": s.stream_id },
        el("h2", {}, `${s.stream_id} `, el("span", { class: "status " + cls }, label)),
        el("p", { class: "muted" }, s.live ? `${(s.fps ?? 0).toFixed(1)} fps on ${s.host}` : stale ? `no status since ${when(lastStatus)}${open}` : `no recent status from a worker${open}`));
      for (const p of s.profiles) {
        const ratio = p.score == null ? 0 : p.score / p.threshold;
        const meter = el("div", { class: "meter" + (ratio > 1 && p.live ? " hot" : "") }, el("span", { style: `width:${Math.min(100, ratio * 50)}%` }));
        const score = `score ${p.score == null ? "–" : p.score.toFixed(3)} / threshold ${p.threshold.toFixed(3)}`;
        card.append(el("p", {}, `${p.profile} v${p.profile_version}: ${p.live ? score : `last ${score} (no status since ${when(p.updated_at)})`}`), meter, sparkline(p));
      }
      const list = el("ul", {}, ...s.last_alerts.map((a) => el("li", {}, el("a", { href: "/alerts/" + a.id }, `#${a.id}`), ` ${when(a.started_at)} · ${dur(a)} · `, badge(a.status))));
      card.append(el("p", { class: "muted" }, "last alerts:"), list);
      return card;
    }));
    if (!streams.length) box.replaceChildren(el("p", { class: "muted" }, "No stream has reported yet."));
  }
  await refresh();
  // Not while the tab is hidden (a page left open all day polled the alert log every 2 s); shown
  // again, it catches up at once.
  setInterval(() => { if (!document.hidden) refresh(); }, 2000);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
  // The nav's unreviewed count as alerts come and are reviewed (a screen left on this page said the
  // number it opened with), again on each (re)connect for the changes missed.
  liveAlerts(debounced(unreviewedBadge), (s) => { if (s === "live") unreviewedBadge(); });
}

function sparkline(p) {
  const W = 300, H = 40, svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", height: H });
  if (p.recent.length < 2) return svg;
  const t0 = p.recent[0][0], t1 = p.recent[p.recent.length - 1][0];
  const ymax = Math.max(p.threshold * 1.5, ...p.recent.map((r) => r[1]));
  const X = (t) => ((t - t0) / Math.max(t1 - t0, 1e-6)) * W, Y = (v) => H - (v / ymax) * H;
  svg.append(svgEl("line", { x1: 0, x2: W, y1: Y(p.threshold), y2: Y(p.threshold), stroke: "#555", "stroke-dasharray": "4 3" }));
  svg.append(svgEl("polyline", { points: p.recent.map((r) => `${X(r[0])},${Y(r[1])}`).join(" "), fill: "none", stroke: "#1f77b4" }));
  return svg;
}

// --- profiles -----------------------------------------------------------------------------------
async function profilesPage() {
  const profiles = await api("/profiles");
  document.getElementById("profile-rows").replaceChildren(...profiles.map((p) => {
    const l = p.latest || {};
    // Alerts the profile's newest version and its cameras' overlays hold as normal, as its page lists them.
    const held = [...(l.behaviours || []), ...(p.overlays || []).flatMap((o) => o.behaviours)];
    const marked = held.filter((b) => b.kind === "feedback").reduce((n, b) => n + b.alert_ids.length, 0);
    return el("tr", {}, el("td", {}, el("a", { href: "/profiles/" + encodeURIComponent(p.name) }, p.name)), el("td", {}, `v${l.version ?? "?"}`),
      el("td", {}, String(p.versions.length)), el("td", {}, String(l.support_windows ?? "–")), el("td", {}, String(l.clips ?? "–")),
      el("td", {}, l.threshold != null ? l.threshold.toFixed(3) : "–"), el("td", {}, p.streams.join(", ") || "–"), el("td", {}, String(marked)));
  }));
  if (!profiles.length) document.getElementById("profile-rows").replaceChildren(el("tr", {}, el("td", { colspan: 8, class: "muted" }, "No profile yet: enrol one (haad enroll).")));
}

async function profilePage() {
  const name = document.getElementById("profile").dataset.name;
  const p = await api("/profiles/" + encodeURIComponent(name));
  document.getElementById("profile-streams").textContent = "Used by: " + (p.streams.join(", ") || "no configured stream");
  const describe = (b) => `${b.name} (${b.kind === "feedback" ? `marked normal: alert(s) ${b.alert_ids.join(", ")}` : `${b.sources.length} clip(s)`}, ${b.windows} windows)`;
  document.getElementById("behaviour-rows").replaceChildren(...(p.latest ? p.latest.behaviours : []).map((b) => el("li", {}, describe(b))));
  document.getElementById("overlay-rows").replaceChildren(...p.overlays.map((o) => el("li", {}, `camera ${o.stream} (v${o.version}): ${o.behaviours.map(describe).join("; ")}`)));
  document.getElementById("overlays").hidden = !p.overlays.length;
  const change = (v) => {
    const f = v.feedback[v.feedback.length - 1];
    if (!f || (f.base_version ?? f.to_version) === undefined) return "enrolled";
    if (f.action === "rollback") return `rollback to v${f.to_version} by ${f.reviewer}`;
    return `${f.action === "normal" ? "+" : "−"} alert(s) ${f.alert_ids.join(", ")} by ${f.reviewer}`;
  };
  document.getElementById("version-rows").replaceChildren(...p.history.map((v) => {
    const btn = el("button", { type: "button" }, "make current");
    btn.onclick = async () => {
      const msg = document.getElementById("profile-msg");
      try { const r = await api(`/profiles/${encodeURIComponent(name)}/rollback`, { method: "POST", json: { version: v.version } }); msg.textContent = `v${v.version} is current again as v${r.latest.version}.`; setTimeout(() => location.reload(), 800); }
      catch (e) { msg.textContent = "Failed: " + e.message; }
    };
    return el("tr", {}, el("td", {}, `v${v.version}`), el("td", {}, v.threshold.toFixed(3)), el("td", {}, String(v.support_windows)),
      el("td", {}, String(v.clips)), el("td", {}, v.model_version), el("td", {}, change(v)), el("td", {}, v.version === p.versions[p.versions.length - 1] ? "current" : btn));
  }));
}

document.addEventListener("DOMContentLoaded", () => {
  wireLogout();
  unreviewedBadge();
  const page = { alerts: alertsPage, alert: alertPage, timeline: timelinePage, live: livePage, profiles: profilesPage, profile: profilePage }[document.body.dataset.page];
  if (page) page().catch((e) => document.querySelector("main").prepend(el("p", { class: "error" }, "Error: " + e.message)));
});
