// floorkiosk web board: follow the journal. The server says when the journal moved (server-sent events);
// the page then fetches its own body again and puts it in place, without reloading.
(function () {
  "use strict";
  var main = document.getElementById("live");
  if (!main || !main.dataset.live) return;
  var state = document.getElementById("live-state");
  var busy = false, again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, {headers: {"X-Fragment": "1"}, credentials: "same-origin", cache: "no-store"})
      .then(function (r) {
        if (r.status === 401) { location.reload(); return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        if (html !== null) {
          main.innerHTML = html;
          main.dispatchEvent(new CustomEvent("live:updated"));
        }
      })
      .catch(function () {})
      .then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }
  var src = new EventSource(main.dataset.live + "?seq=" + encodeURIComponent(main.dataset.seq));
  src.addEventListener("seq", function (e) {
    if (e.data !== main.dataset.seq) { main.dataset.seq = e.data; refresh(); }
  });
  src.onopen = function () {
    document.body.classList.remove("offline");
    document.body.dataset.live = "open";
    if (state) state.textContent = "live";
  };
  src.onerror = function () {
    document.body.classList.add("offline");
    if (state) state.textContent = "reconnecting…";
  };
})();
