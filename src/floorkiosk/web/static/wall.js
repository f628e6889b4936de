// floorkiosk wall: as many lanes as fit the screen, then the next ones, every ten seconds.
(function () {
  "use strict";
  var main = document.getElementById("live");
  var page = 0;
  function show() {
    var lanes = main.querySelectorAll(".wall-lanes .lane");
    if (!lanes.length) return;
    var fit = Math.max(1, Math.floor(window.innerWidth / 380));
    var pages = Math.ceil(lanes.length / fit);
    page = page % pages;
    for (var i = 0; i < lanes.length; i++) {
      lanes[i].hidden = Math.floor(i / fit) !== page;
    }
  }
  function next() { page += 1; show(); }
  if (document.documentElement.requestFullscreen) {
    document.addEventListener("click", function () { document.documentElement.requestFullscreen().catch(function () {}); });
  }
  main.addEventListener("live:updated", show);
  window.addEventListener("resize", show);
  show();
  setInterval(next, 10000);
})();
