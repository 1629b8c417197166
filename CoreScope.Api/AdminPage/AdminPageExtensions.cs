using Microsoft.AspNetCore.Rewrite;
using Microsoft.AspNetCore.StaticFiles;

namespace CoreScope.Api.AdminPage;

/// <summary>
/// Serves the operator's page at <c>/admin</c> from wwwroot/admin, under a Content-Security-Policy that lets it
/// load only its own script and style, so nothing from another origin can run beside the API key.
/// </summary>
public static class AdminPageExtensions
{
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

    public static WebApplication UseAdminPage(this WebApplication app)
    {
        app.UseRewriter(new RewriteOptions().AddRewrite("^admin/?$", "admin/index.html", skipRemainingRules: true));
        app.UseStaticFiles(new StaticFileOptions
        {
            ContentTypeProvider = new FileExtensionContentTypeProvider(),
            OnPrepareResponse = context =>
            {
                var headers = context.Context.Response.Headers;
                headers.ContentSecurityPolicy = ContentSecurityPolicy;
                headers.XContentTypeOptions = "nosniff";
                headers["Referrer-Policy"] = "no-referrer";
                headers.CacheControl = "no-cache";
            },
        });
        return app;
    }
}
