// Switchyard's only script besides htmx. No inline handlers anywhere (CSP):
// behaviour hangs off data- attributes here.
(function () {
  "use strict";
  // Buttons that ask before acting: <button data-confirm="Sure?">.
  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-confirm]");
    if (target && !window.confirm(target.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
  // An htmx request that fails at the network level or with a 5xx shows a message
  // instead of doing nothing.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    showFlash("The server answered " + xhr.status + ". Nothing was lost; try again.");
  });
  document.addEventListener("htmx:sendError", function () {
    showFlash("Could not reach the console. Check your connection; nothing was lost.");
  });
  // Requests a page makes by itself (polling: hx-trigger "every ..." or "load ...")
  // say so, and the server does not count them as activity: an idle page still
  // times out (dashboard/core/idle.py).
  var SELF_TRIGGERED = /(^|,)\s*(every\s|load\b)/;
  document.addEventListener("htmx:configRequest", function (event) {
    var trigger = event.detail.elt && event.detail.elt.getAttribute("hx-trigger");
    if (trigger && SELF_TRIGGERED.test(trigger)) {
      event.detail.headers["X-Switchyard-Poll"] = "1";
    }
  });
  function showFlash(text) {
    var list = document.querySelector(".messages");
    if (!list) {
      list = document.createElement("ul");
      list.className = "messages";
      list.setAttribute("role", "status");
      var main = document.querySelector("main");
      main.insertBefore(list, main.firstChild);
    }
    var item = document.createElement("li");
    item.className = "message error";
    item.textContent = text;
    list.appendChild(item);
  }
})();
