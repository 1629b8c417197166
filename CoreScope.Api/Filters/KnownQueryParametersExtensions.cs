using Microsoft.AspNetCore.Mvc;

namespace CoreScope.Api.Filters;

/// <summary>Registers <see cref="KnownQueryParametersFilter"/> for every action.</summary>
public static class KnownQueryParametersExtensions
{
    public static IServiceCollection AddKnownQueryParameters(this IServiceCollection services)
    {
        services.AddSingleton<KnownQueryParametersFilter>();
        services.Configure<MvcOptions>(options => options.Filters.AddService<KnownQueryParametersFilter>());
        return services;
    }
}
