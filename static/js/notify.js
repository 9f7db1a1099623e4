// DAST Desk: browser notifications while the desk is open (no service worker). The header's
// bell (notifications/_bell.html) is refreshed by htmx; when it brings notifications newer
// than the last one shown, and the person allows them (their settings and the browser's
// permission), each is shown once, in one tab only (the last id shown is kept in
// localStorage, which the desk's tabs share).
(function () {
  "use strict";
  var KEY = "desk-notified-up-to";

  function supported() {
    return "Notification" in window;
  }

  function announce() {
    var bell = document.getElementById("bell");
    if (!bell) return;
    var items = bell.querySelectorAll(".bell-item");
    var newest = 0;
    Array.prototype.forEach.call(items, function (item) {
      newest = Math.max(newest, parseInt(item.dataset.id, 10) || 0);
    });
    var shown = null;
    try { shown = window.localStorage.getItem(KEY); } catch (e) { return; }
    // The first time in this browser: what is already there is not news.
    var upTo = shown === null ? newest : (parseInt(shown, 10) || 0);
    var allowed = bell.dataset.browser === "1" && supported() && Notification.permission === "granted";
    if (allowed) {
      Array.prototype.forEach.call(items, function (item) {
        if ((parseInt(item.dataset.id, 10) || 0) <= upTo) return;
        var note = new Notification("DAST Desk", { body: item.dataset.text, tag: "desk-" + item.dataset.id });
        note.onclick = function () { window.focus(); window.location.href = item.dataset.url; };
      });
    }
    try { window.localStorage.setItem(KEY, String(Math.max(upTo, newest))); } catch (e) { /* private mode */ }
  }

  document.addEventListener("htmx:afterSettle", function () { announce(); });

  // The settings page: ask the browser for its permission (it must follow a click).
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("allow-browser");
    var state = document.getElementById("browser-permission");
    if (!button || !state) return;
    function say() {
      if (!supported()) { state.textContent = "This browser cannot show notifications."; state.hidden = false; return; }
      var words = { granted: "This browser shows the desk's notifications.", denied: "This browser blocks the desk's notifications (change it in the browser's site settings).", "default": "" };
      state.textContent = words[Notification.permission] || "";
      state.hidden = !state.textContent;
      button.hidden = Notification.permission !== "default";
    }
    button.addEventListener("click", function () {
      Notification.requestPermission().then(say);
    });
    say();
  });
})();
