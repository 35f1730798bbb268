// Errors page: live updates only while someone is looking. The groups fragment polls
// itself (hx-trigger="every Ns"); a hidden tab skips its polls and catches up with one
// refresh when it is shown again.
(function () {
  "use strict";
  var POLLED = "[data-live-poll]";
  document.addEventListener("htmx:beforeRequest", function (event) {
    var source = event.detail.elt;
    if (!source || !source.matches || !source.matches(POLLED)) {
      return;
    }
    // A hidden tab skips its polls; so does a list with ticked boxes, which a swap
    // would untick before the bulk form is sent.
    if (document.hidden || source.querySelector("input[form=bulk-form]:checked")) {
      event.preventDefault();
    }
  });
  document.addEventListener("visibilitychange", function () {
    if (document.hidden || !window.htmx) {
      return;
    }
    var live = document.querySelector(POLLED);
    if (live) {
      window.htmx.trigger(live, "refresh");
    }
  });
})();
