// Starts Swagger UI on /openapi.json (the document the gateway serves itself). A file of its
// own so /docs runs under a Content-Security-Policy without inline script. "Authorize" takes a
// bearer token (make token); it is kept in this page's memory only.
"use strict";
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#docs",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  persistAuthorization: false,
  // The document's examples are the demo data; "Try it out" sends them as they are.
  tryItOutEnabled: false,
  validatorUrl: null,
});
