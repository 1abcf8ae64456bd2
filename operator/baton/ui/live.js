// Baton UI: live run pages. The server sends the page's <main> rendered again (the same escaped HTML as a
// page load) on each change of the run; a running attempt's log grows line by line. Without this script
// the page is the snapshot it was when loaded.
"use strict";
(function () {
  if (!window.EventSource) return;

  var main = document.querySelector("main[data-live]");
  if (main) {
    var updates = new EventSource(main.getAttribute("data-live"));
    var pending = null;
    // Not while someone types into a form (a cancel's reason): the update waits for them to leave it.
    var apply = function () {
      var current = document.querySelector("main");
      var focused = document.activeElement;
      if (pending === null || !current) return;
      if (focused && focused.form && current.contains(focused)) return;
      current.outerHTML = pending;
      pending = null;
      document.body.setAttribute("data-updates", String(Number(document.body.getAttribute("data-updates") || 0) + 1));
    };
    updates.addEventListener("update", function (event) {
      pending = event.data;
      apply();
    });
    // The stream ends with the run, or says why it stopped following it (the run was deleted).
    updates.addEventListener("end", function (event) {
      updates.close();
      var current = document.querySelector("main");
      if (event.data && current) {
        var note = document.createElement("p");
        note.className = "note live-ended";
        note.textContent = event.data;
        current.insertBefore(note, current.firstChild);
      }
    });
    document.addEventListener("focusout", function () {
      setTimeout(apply, 0);
    });
  }

  var log = document.querySelector("pre.log[data-live]");
  if (log) {
    var lines = new EventSource(log.getAttribute("data-live"));
    var fresh = true;
    // Each connection starts from the log's last lines again: they replace what is shown.
    lines.addEventListener("open", function () {
      fresh = true;
    });
    lines.addEventListener("log", function (event) {
      if (fresh) {
        log.textContent = "";
        fresh = false;
      }
      log.appendChild(document.createTextNode(event.data + "\n"));
    });
    lines.addEventListener("end", function (event) {
      lines.close();
      if (event.data) log.appendChild(document.createTextNode("[" + event.data + "]\n"));
    });
  }
})();
