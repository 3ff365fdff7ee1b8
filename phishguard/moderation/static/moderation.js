// phishguard moderation pages: keyboard shortcuts only (served from /moderation/static; the CSP
// allows no inline script). c = confirm, d = dismiss, j/k = next/previous, / = focus the filters,
// Enter or o = open the selected row of the queue.
"use strict";
(function () {
  function typing(target) {
    if (!target) return false;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  function click(selector) {
    var el = document.querySelector(selector);
    if (el) { el.click(); return true; }
    return false;
  }

  function follow(selector) {
    var el = document.querySelector(selector);
    if (el && el.getAttribute("href")) { window.location.assign(el.getAttribute("href")); return true; }
    return false;
  }

  var rows = [];
  var current = -1;

  function select(index) {
    if (!rows.length) return;
    if (current >= 0) rows[current].classList.remove("current");
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows[current].classList.add("current");
    rows[current].scrollIntoView({ block: "nearest" });
  }

  function openCurrent() {
    if (current >= 0) window.location.assign(rows[current].getAttribute("data-href"));
  }

  document.addEventListener("DOMContentLoaded", function () {
    rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-href]"));
    rows.forEach(function (row, i) {
      row.addEventListener("click", function (ev) {
        if (ev.target.closest("a, button, form")) return;
        select(i);
        openCurrent();
      });
    });
  });

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) return;
    var page = document.body.getAttribute("data-page");
    var handled = false;
    switch (ev.key) {
      case "/":
        var first = document.getElementById("filter-first");
        if (first) { first.focus(); handled = true; }
        break;
      case "c":
        handled = page === "flag" && click('button[data-key="c"]');
        break;
      case "d":
        handled = page === "flag" && click('button[data-key="d"]');
        break;
      case "j":
        if (page === "queue") { select(current + 1); handled = true; }
        else if (page === "flag") { handled = follow("#next-flag"); }
        break;
      case "k":
        if (page === "queue") { select(current - 1); handled = true; }
        else if (page === "flag") { handled = follow("#prev-flag"); }
        break;
      case "Enter":
      case "o":
        if (page === "queue" && current >= 0) { openCurrent(); handled = true; }
        break;
    }
    if (handled) ev.preventDefault();
  });
})();
