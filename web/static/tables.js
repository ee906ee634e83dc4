/* A table wider than the screen scrolls inside itself (style.css, on phones); one that
   does is made reachable by keyboard (tabindex), so its hidden columns can be scrolled
   to without a mouse. A file, not an inline script: the CSP allows script-src 'self'. */
(function () {
  "use strict";

  function mark() {
    document.querySelectorAll("main table, main figure.chart").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth) {
        box.tabIndex = 0;
      } else if (box.tagName === "TABLE") {
        box.removeAttribute("tabindex");
      }
    });
  }

  mark();
  window.addEventListener("resize", mark);
  // Live refresh swaps tables in: mark those too.
  new MutationObserver(mark).observe(document.querySelector("main") || document.body,
                                     { childList: true, subtree: true });
})();
