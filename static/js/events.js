// Events inspector: Live / Pause for the live stream. While paused the poll only
// counts what arrived ("N new while paused"); on resume the next poll brings the rows.
(function () {
  function toggle() {
    return document.querySelector(".live-toggle");
  }
  function isPaused() {
    var button = toggle();
    return Boolean(button) && button.getAttribute("aria-pressed") === "false";
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest(".live-toggle");
    if (!button) return;
    var paused = !isPaused();
    button.setAttribute("aria-pressed", paused ? "false" : "true");
    button.textContent = paused ? "Resume" : "Pause";
    var state = document.querySelector(".live-state");
    if (state) {
      state.classList.toggle("paused", paused);
      state.lastChild.textContent = paused ? " Paused" : " Live";
    }
  });
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (!elt || elt.id !== "live-poller") return;
    if (isPaused()) {
      event.detail.parameters.paused = "1";
      return;
    }
    // Rows still on their way: the poll brings them back once their status changes.
    var pending = document.querySelectorAll(
      "#event-rows tr[data-status=queued], #event-rows tr[data-status=sending]"
    );
    if (pending.length) {
      event.detail.parameters.pending = Array.prototype.map
        .call(pending, function (row) { return row.dataset.id; })
        .slice(0, 200)
        .join(",");
    }
  });
  // The composer: an account change reloads the form for that account. It is posted
  // (action=switch) so the typed event type and payload come back with it, not lost.
  document.addEventListener("change", function (event) {
    var select = event.target.closest("[data-reload-on-change]");
    if (select && select.form) {
      var action = document.createElement("input");
      action.type = "hidden";
      action.name = "action";
      action.value = "switch";
      select.form.appendChild(action);
      select.form.submit();
    }
  });
})();
