// Starts Swagger UI on this server's own OpenAPI document and nothing else. The document's address is fixed
// here: Swagger UI would otherwise take it from ?url= or ?configUrl=, and a link to this page with another
// server's document would make "Authorize" then "Try it out" send the API key to the servers that document
// names. BaseLayout leaves out the top bar, whose box loads any document typed into it.
window.addEventListener('DOMContentLoaded', function () {
  window.ui = SwaggerUIBundle({
    url: new URL('../openapi', window.location.href).href,
    queryConfigEnabled: false,
    validatorUrl: null,
    dom_id: '#swagger-ui',
    deepLinking: true,
    layout: 'BaseLayout',
    presets: [SwaggerUIBundle.presets.apis],
  });
});
