// The hall console's staff page: the live alert feed (server-sent events from
// /events/stream, falling back to polling /alerts.json), a sound when a person waits
// (call staff, hand-off), and the board (tiles and alerts) refreshed from /board, which
// the server renders and escapes. Served from this origin only (CSP script-src 'self').
(function () {
  'use strict';
  var body = document.body;
  var board = document.getElementById('board');
  var refreshMs = Number(body.dataset.refreshMs) || 5000;
  var lastId = Number(body.dataset.lastAlert) || 0;
  var stateEl = document.getElementById('feed-state');
  var soundBtn = document.getElementById('sound');
  var ctx = null;
  var beeps = 0;

  function audio() {
    var AC = window.AudioContext || window.webkitAudioContext;
    if (!ctx && AC) { ctx = new AC(); }
    if (ctx && ctx.state === 'suspended') { ctx.resume(); }
    return ctx;
  }
  // Browsers start sound only after a tap: the button (or any tap) unlocks it.
  document.addEventListener('click', function () { audio(); });
  if (soundBtn) {
    soundBtn.addEventListener('click', function () {
      if (audio()) { soundBtn.classList.add('on'); tone(0.15); }
    });
  }
  function tone(len) {
    var c = audio();
    if (!c) { return; }
    var t = c.currentTime;
    [0, len * 2].forEach(function (d) {
      var o = c.createOscillator(), g = c.createGain();
      o.frequency.value = 880;
      o.connect(g); g.connect(c.destination);
      g.gain.setValueAtTime(0.3, t + d);
      g.gain.exponentialRampToValueAtTime(0.001, t + d + len);
      o.start(t + d); o.stop(t + d + len);
    });
  }
  function beep() {
    beeps += 1;
    body.dataset.beeps = String(beeps);
    tone(0.25);
  }
  function loud(kind) { return kind === 'call_staff' || kind === 'hand_off'; }
  function setState(s) {
    body.dataset.feed = s;
    if (stateEl) { stateEl.textContent = body.dataset['label' + s.charAt(0).toUpperCase() + s.slice(1)] || s; }
  }

  var loading = false, again = false, lastHtml = null;
  function refresh() {
    if (!board) { return; }
    if (loading) { again = true; return; }
    loading = true;
    fetch('/board', { credentials: 'same-origin', redirect: 'manual' })
      .then(function (r) {
        if (!r.ok) { throw new Error('board ' + r.status); }
        return r.text();
      })
      .then(function (html) {
        // Only a real change replaces the board, so a finger on a button keeps its target.
        if (html !== lastHtml) { board.innerHTML = html; lastHtml = html; }
      })
      .catch(function () { setState('lost'); })
      .then(function () { loading = false; if (again) { again = false; refresh(); } });
  }
  function seen(alerts) {
    var fresh = alerts.filter(function (a) { return a.id > lastId; });
    if (!fresh.length) { return false; }
    fresh.forEach(function (a) { lastId = Math.max(lastId, a.id); });
    if (fresh.some(function (a) { return loud(a.kind) && !a.acked_by && !a.resolved_ms; })) { beep(); }
    return true;
  }
  function poll() {
    fetch('/alerts.json', { credentials: 'same-origin', redirect: 'manual' })
      .then(function (r) { if (!r.ok) { throw new Error('alerts ' + r.status); } return r.json(); })
      .then(function (j) { if (seen(j.alerts)) { refresh(); } })
      .catch(function () { setState('lost'); });
  }
  var polling = null;
  function startPolling() {
    if (!polling) { polling = setInterval(poll, refreshMs); }
    setState('polling');
  }
  if (window.EventSource) {
    var es = new EventSource('/events/stream');
    es.addEventListener('alert', function (e) {
      var a = JSON.parse(e.data);
      seen([a]);
      refresh();
    });
    // The feed fell behind: catch up from the list.
    es.addEventListener('reload', poll);
    // The login expired or was ended elsewhere: log in again.
    es.addEventListener('expired', function () {
      es.close();
      location.href = '/login?next=%2F';
    });
    es.onopen = function () {
      if (polling) { clearInterval(polling); polling = null; }
      setState('live');
      poll();
    };
    es.onerror = startPolling;
  } else {
    startPolling();
  }
  // Tiles (last seen, offline) change without alerts.
  setInterval(refresh, refreshMs);
  if (board) { lastHtml = board.innerHTML; }
}());
