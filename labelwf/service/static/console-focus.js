// After a decision taken in place (htmx swaps #instance), the keyboard's focus moves to its result
// message, so that a keyboard or screen-reader user hears the outcome instead of being dropped at
// the top of the page. A static file: the console's Content-Security-Policy allows no inline script.
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
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.elt;
    if (target && target.id === "instance") {
      focusResult();
    }
  });
})();
