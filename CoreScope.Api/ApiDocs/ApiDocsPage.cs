using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Primitives;
using NSwag.AspNetCore;

namespace CoreScope.Api.ApiDocs;

/// <summary>
/// Serves Swagger UI at <c>/api/docs</c>: this folder's own page and start script with the Swagger UI files NSwag
/// ships, under a same-origin Content-Security-Policy. NSwag's own page reads <c>?url=</c> and loads any OpenAPI
/// document it names, so a link could make "Try it out" send the API key to another server; ours loads only
/// <c>/api/openapi</c>, and the policy keeps the page from talking to, or being framed by, any other origin.
/// </summary>
public static class ApiDocsPage
{
    public const string Path = "/api/docs";

    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

    // What the page needs of NSwag's copy of Swagger UI; its index.html and oauth2-redirect.html are never served.
    private static readonly HashSet<string> SwaggerUiFiles = new(StringComparer.Ordinal)
    {
        "swagger-ui.css", "swagger-ui-bundle.js", "favicon-16x16.png", "favicon-32x32.png",
    };

    public static WebApplication UseApiDocs(this WebApplication app)
    {
        var files = new CompositeFileProvider(
            new EmbeddedFileProvider(typeof(ApiDocsPage).Assembly, typeof(ApiDocsPage).Namespace),
            new OnlyTheseFiles(
                new EmbeddedFileProvider(typeof(SwaggerUiSettings).Assembly, "NSwag.AspNetCore.SwaggerUi"), SwaggerUiFiles));

        app.Map(Path, docs =>
        {
            docs.Use((context, next) =>
            {
                var headers = context.Response.Headers;
                headers.ContentSecurityPolicy = ContentSecurityPolicy;
                headers.XContentTypeOptions = "nosniff";
                headers.XFrameOptions = "DENY";
                headers["Referrer-Policy"] = "no-referrer";
                if (context.Request.Path.Value is null or "" or "/")
                {
                    // The bare address goes to the page without any query: nothing a link adds is carried along.
                    context.Response.Redirect(context.Request.PathBase + "/index.html");
                    return Task.CompletedTask;
                }

                return next(context);
            });
            docs.UseStaticFiles(new StaticFileOptions
            {
                FileProvider = files,
                OnPrepareResponse = context => context.Context.Response.Headers.CacheControl = "no-cache",
            });
        });
        return app;
    }

    /// <summary>Shows only the named files of another provider.</summary>
    private sealed class OnlyTheseFiles(IFileProvider inner, HashSet<string> names) : IFileProvider
    {
        public IFileInfo GetFileInfo(string subpath) =>
            names.Contains(subpath.TrimStart('/')) ? inner.GetFileInfo(subpath) : new NotFoundFileInfo(subpath);

        public IDirectoryContents GetDirectoryContents(string subpath) => NotFoundDirectoryContents.Singleton;

        public IChangeToken Watch(string filter) => NullChangeToken.Singleton;
    }
}
