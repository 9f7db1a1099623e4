// DAST Desk: small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  // Times are shown in the viewer's time zone: tell the server which one this browser uses.
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("tz=" + encodeURIComponent(zone)) === -1) {
      document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; samesite=lax";
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
