// Slot previews (#5): small conveniences; every page works without them.
(function () {
  "use strict";
  // The share link selects itself so it can be copied at once.
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("[data-select-on-focus]")) {
      event.target.select();
    }
  });
  // The CQL query's character count, against the 500 the API allows.
  document.addEventListener("input", function (event) {
    var field = event.target;
    if (!field.id) { return; }
    var counter = document.querySelector('[data-counter-for="' + field.id + '"]');
    if (counter) {
      counter.textContent = String(field.value.length);
      counter.classList.toggle("over", field.value.length > 500);
    }
  });
  // A poll that fails (a deploy restarting the server, a network blip) is tried again a
  // few times instead of leaving the fragment spinning forever.
  var MAX_POLL_RETRIES = 5;
  function retryPoll(event) {
    var elt = event.detail && event.detail.elt;
    if (!elt || !elt.hasAttribute || !elt.hasAttribute("data-poll")) { return; }
    var failures = parseInt(elt.getAttribute("data-poll-failures") || "0", 10) + 1;
    elt.setAttribute("data-poll-failures", String(failures));
    if (failures <= MAX_POLL_RETRIES) {
      elt.dispatchEvent(new CustomEvent("poll-retry"));
    }
  }
  document.addEventListener("htmx:responseError", retryPoll);
  document.addEventListener("htmx:sendError", retryPoll);
  // Only two grid cells can be picked for a diff: a third unticks the oldest pick.
  var picks = [];
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("[data-diff-pick]")) { return; }
    picks = picks.filter(function (b) { return b !== box && document.contains(b); });
    if (box.checked) {
      picks.push(box);
      while (picks.length > 2) { picks.shift().checked = false; }
    }
  });
  // A catalog suggestion fills the slot id field it was found for.
  document.addEventListener("click", function (event) {
    var pick = event.target.closest && event.target.closest("[data-pick-slot]");
    if (!pick) { return; }
    var list = pick.closest(".slot-suggestions");
    var form = pick.closest("form");
    var field = form && form.querySelector("[name=slot_id]");
    if (!field) { return; }
    field.value = pick.getAttribute("data-pick-slot");
    if (list) { list.innerHTML = ""; }
    field.focus();
  });
  // A filter select that applies itself (the catalog's account).
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.matches && select.matches("[data-submit-on-change]") && select.form) {
      select.form.submit();
    }
  });
  // After a preview is submitted the result may sit beside or below a long form: bring
  // its top into view when it is off screen (#16 defect 10).
  document.addEventListener("htmx:afterSwap", function (event) {
    var result = document.getElementById("preview-result");
    if (!result || !event.detail.target || event.detail.target.id !== "workbench") { return; }
    var box = result.getBoundingClientRect();
    if (box.top < 0 || box.top > window.innerHeight - 80) {
      result.scrollIntoView({ block: "start", behavior: "auto" });
    }
  });
})();
