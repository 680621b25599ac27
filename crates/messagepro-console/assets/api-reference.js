// Message Pro API reference (`/api/v1/reference`): starts the vendored Swagger UI on the
// console's OpenAPI document. A file of its own, not an inline script, so the CSP
// `script-src 'self'` holds. "Try it out" only ever calls this console: a request to another
// origin is refused here (and by the page's `connect-src 'self'`), and the external validator
// badge is off.
(function () {
  "use strict";
  var mount = document.getElementById("swagger-ui");
  var origin = window.location.origin;

  function sameOrigin(req) {
    var url = new URL(req.url, window.location.href);
    if (url.origin !== origin) {
      throw new Error("Refused: " + url.origin + " is not this console (" + origin + ").");
    }
    return req;
  }

  window.ui = window.SwaggerUIBundle({
    url: mount.getAttribute("data-openapi-url"),
    domNode: mount,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    validatorUrl: null,
    requestInterceptor: sameOrigin,
    defaultModelsExpandDepth: 0,
    displayRequestDuration: true,
  });
})();
