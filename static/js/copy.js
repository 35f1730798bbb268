// Copy buttons: <button data-copy="#id"> copies the text of #id to the clipboard (the
// CSP forbids inline handlers, so the behaviour hangs off the attribute). Where the
// clipboard is refused, the text is selected for the reader to copy.
(function () {
  "use strict";
  function select(source) {
    var range = document.createRange();
    range.selectNodeContents(source);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) {
      return;
    }
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) {
      return;
    }
    var status = button.parentNode.querySelector("[data-copy-status]");
    function say(text) {
      if (status) {
        status.textContent = text;
      }
    }
    function refused() {
      select(source);
      say("Selected: press Ctrl+C (⌘C) to copy.");
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.textContent).then(function () {
        say("Copied.");
      }, refused);
    } else {
      refused();
    }
  });
})();
