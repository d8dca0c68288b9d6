// lvs-web: optional enhancements only; every page works without this file.
"use strict";
(function () {
  // Ask before the buttons that change something at once (apply, restore,
  // discard, runtime actions, sync); without script the form posts as is.
  document.addEventListener("submit", function (ev) {
    var q = ev.target.getAttribute("data-confirm");
    if (q && !window.confirm(q)) {
      ev.preventDefault();
    }
  });
})();
