// The keyboard in the console. After a decision taken in place (htmx swaps #instance), the focus
// moves to its result message, so that a keyboard or screen-reader user hears the outcome instead of
// being dropped at the top of the page; a table that scrolls sideways can be reached to scroll it.
// A static file: the console's Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  function focusResult() {
    var scope = document.getElementById("instance");
    var result = scope && scope.querySelector("[data-result]");
    if (result) {
      if (!result.hasAttribute("tabindex")) {
        result.setAttribute("tabindex", "-1");
      }
      result.focus();
    }
  }
  // A table wider than the screen scrolls in its own box; the keyboard must reach that box too.
  function reachScrollingTables() {
    var tables = document.querySelectorAll("main table");
    for (var i = 0; i < tables.length; i += 1) {
      var table = tables[i];
      if (table.scrollWidth > table.clientWidth + 1) {
        table.setAttribute("tabindex", "0");
      } else if (table.getAttribute("tabindex") === "0") {
        table.removeAttribute("tabindex");
      }
    }
  }
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.elt;
    if (target && target.id === "instance") {
      focusResult();
    }
    reachScrollingTables();
  });
  document.addEventListener("DOMContentLoaded", reachScrollingTables);
  window.addEventListener("resize", reachScrollingTables);
})();
