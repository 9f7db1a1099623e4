// DAST Desk: small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  // Times are shown in the viewer's time zone: tell the server which one this browser uses.
  // Zone names ("Europe/Zurich", "Etc/GMT+5") are cookie-safe as they are: written plain,
  // not percent-encoded (the server decodes an old encoded cookie all the same).
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var found = /(?:^|;\s*)tz=([^;]*)/.exec(document.cookie);
    if (zone && /^[A-Za-z0-9_+\-\/]{1,64}$/.test(zone) && (!found || found[1] !== zone)) {
      document.cookie = "tz=" + zone + "; path=/; max-age=31536000; samesite=lax";
    }
  } catch (e) { /* an old browser: the team's time zone is used */ }

  // A canned answer goes into the reply box where the cursor is, to be edited before sending.
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.matches || !select.matches("select[data-target]")) return;
    var option = select.options[select.selectedIndex];
    var box = document.getElementById(select.dataset.target);
    if (!option || !option.dataset.body || !box) return;
    var at = box.selectionStart || box.value.length;
    var before = box.value.slice(0, at), after = box.value.slice(at);
    var gap = before && !/\n$/.test(before) ? "\n" : "";
    box.value = before + gap + option.dataset.body + after;
    box.focus();
  });
})();

// The queue: one box ticks every ticket on the page.
document.addEventListener("change", function (event) {
  var box = event.target;
  if (!box.dataset || !box.dataset.checkAll) return;
  var form = box.form;
  if (!form) return;
  Array.prototype.forEach.call(form.querySelectorAll('input[name="' + box.dataset.checkAll + '"]'), function (each) {
    each.checked = box.checked;
  });
});

// The queue refreshes itself every minute (htmx, templates/tickets/_queue.html), but not
// while someone is using it: ticking tickets, choosing filters, or typing in it.
window.deskQueueIdle = function () {
  if (document.visibilityState !== "visible") return false;
  var queue = document.getElementById("queue");
  if (!queue) return false;
  if (queue.querySelector('input[name="tickets"]:checked')) return false;
  if (queue.querySelector("details.filters[open]")) return false;
  var focused = document.activeElement;
  return !(focused && focused !== document.body && queue.contains(focused));
};

// The page's Content-Security-Policy allows no eval, so the condition is checked here and not
// as an htmx trigger filter: the queue's own refresh is called off while it is in use.
document.addEventListener("htmx:beforeRequest", function (event) {
  var elt = event.detail && event.detail.elt;
  if (elt && elt.id === "queue" && !window.deskQueueIdle()) event.preventDefault();
});

// An action sent by htmx that fails says so where the page's messages go.
function deskSaysFailed(text) {
  var flash = document.getElementById("flash");
  if (!flash) return;
  flash.innerHTML = '<ul class="flash"><li class="error"></li></ul>';
  flash.querySelector("li").textContent = text;
}
document.addEventListener("htmx:responseError", function (event) {
  var status = event.detail.xhr ? event.detail.xhr.status : "";
  deskSaysFailed("That did not work (HTTP " + status + "). Reload the page and try again.");
});
document.addEventListener("htmx:sendError", function () {
  deskSaysFailed("The desk could not be reached. Check the connection and try again.");
});

// Merging cannot be undone: ask first. A form with data-confirm asks its question; the
// queue's bulk form asks only when its action is a merge. Listening in the capture phase
// runs before htmx's own submit handler, so a "Cancel" sends nothing.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!form.dataset) return;
  var question = form.dataset.confirm || "";
  if (form.dataset.confirmMerge) {
    var action = form.querySelector("select[name=action]");
    question = action && action.value === "merge" ? form.dataset.confirmMerge : "";
  }
  if (question && !window.confirm(question)) {
    event.preventDefault();
    event.stopPropagation();
  }
}, true);
