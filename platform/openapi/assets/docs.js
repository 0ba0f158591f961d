// Starts Swagger UI (swagger-ui/, copied from its npm package) on the
// document named by the page's openapi-spec-url meta tag. It lives in a file
// of its own because the page's Content-Security-Policy refuses inline
// scripts.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="openapi-spec-url"]');
  window.ui = window.SwaggerUIBundle({
    url: (meta && meta.getAttribute("content")) || "/openapi.json",
    dom_id: "#swagger-ui",
    presets: [window.SwaggerUIBundle.presets.apis],
    // BaseLayout: no top bar with a field to load another document.
    layout: "BaseLayout",
    deepLinking: true,
    filter: true,
    displayRequestDuration: true,
    // x-roles lists who may call an operation.
    showExtensions: true,
    // Code samples (curl for bash, PowerShell and cmd) beside each request.
    requestSnippetsEnabled: true,
    // Swagger UI would otherwise send the document to an outside validator
    // and show its badge: the CSP refuses that host, and the document is
    // validated in CI.
    validatorUrl: null,
    // Never read a configuration or a document URL from the page's query:
    // a crafted link could point the page at another API.
    queryConfigEnabled: false,
    // The bearer token stays in memory: it is gone when the tab is closed.
    persistAuthorization: false,
  });
})();
