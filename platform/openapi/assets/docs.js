// Starts Swagger UI (swagger-ui/, copied from its npm package) on the
// document named by the page's openapi-spec-url meta tag. It lives in a file
// of its own because the page's Content-Security-Policy refuses inline
// scripts.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="openapi-spec-url"]');
  var url = (meta && meta.getAttribute("content")) || "/openapi.json";
  fetch(url, { credentials: "same-origin" })
    .then(function (res) { return res.json(); })
    .then(show, function () { show(null); });

  // show starts Swagger UI on doc, with this page's own origin as the
  // first server: "Try it out" then calls the server that served the page,
  // whatever address the document advertises (APP_PUBLIC_URL may be a
  // proxy's). Without doc (it could not be read here), Swagger UI fetches
  // the document itself and says what went wrong.
  function show(doc) {
    if (doc) {
      var here = { url: window.location.origin, description: "this server" };
      doc.servers = [here].concat((doc.servers || []).filter(function (s) { return s.url !== here.url; }));
    }
    window.ui = window.SwaggerUIBundle({
      spec: doc || undefined,
      url: doc ? undefined : url,
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
  }
})();
