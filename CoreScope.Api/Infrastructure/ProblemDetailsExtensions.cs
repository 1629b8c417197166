namespace CoreScope.Api.Infrastructure;

/// <summary>Every error, ours or the framework's, as a ProblemDetails that also carries CoreScope's <c>error</c> member.</summary>
public static class ProblemDetailsExtensions
{
    public static IServiceCollection AddCoreScopeProblemDetails(this IServiceCollection services)
    {
        services.AddProblemDetails(options => options.CustomizeProblemDetails = ProblemDetailsDefaults.AddErrorMember);
        services.AddExceptionHandler<ProblemDetailsExceptionHandler>();
        return services;
    }

    /// <summary>Exceptions and bare status codes (404 of an unknown route, 405) both become ProblemDetails.</summary>
    public static WebApplication UseCoreScopeProblemDetails(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        return app;
    }
}
