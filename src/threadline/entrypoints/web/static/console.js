// The admin console's few behaviours: a copy button copies the text of the element it names
// (data-copy="element id") and says so where screen readers hear it.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-copy]");
    if (!button) {
      return;
    }
    const source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) {
      return;
    }
    const text = source.value !== undefined ? source.value : source.textContent;
    const done = function () {
      const live = document.getElementById("live-status");
      const copied = button.getAttribute("data-copied") || "";
      if (live) {
        live.textContent = copied;
      }
      button.setAttribute("data-state", "copied");
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text.trim()).then(done, function () {});
    } else if (source.select) {
      source.select();
      done();
    }
  });
})();
