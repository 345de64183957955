// Duban's only script of its own, loaded by base.html. The Content-Security-Policy allows no
// inline script or handler, so page behaviour is bound here by data attributes.
"use strict";

// A link marked data-follow-query takes the page's current query string when followed:
// the ledger's filters change by htmx and the address bar follows them, the link does not.
document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest("a[data-follow-query]");
  if (link) {
    link.search = window.location.search;
  }
});
