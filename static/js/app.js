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
  // An answer to a poll whose element has left the page (another answer re-rendered
  // the panel holding it out of band; the new copy polls again) is dropped: swapped,
  // its out-of-band parts would look for their targets in the detached copy and fail
  // (htmx:oobErrorNoTarget). Events on a detached element reach no document listener,
  // so this is an extension the polling element names (hx-ext="drop-if-detached").
  if (window.htmx) {
    window.htmx.defineExtension("drop-if-detached", {
      onEvent: function (name, event) {
        if (name === "htmx:beforeSwap" && event.detail.elt && !event.detail.elt.isConnected) {
          event.detail.shouldSwap = false;
        }
        return true;
      }
    });
  }
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
