using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CoreScope.Data.Offsite.Signing;

public static class OffsiteSigningExtensions
{
    /// <summary>
    /// The signing settings, checked at start (every key file is read then), and <see cref="OffsiteSigning"/>. Needs the
    /// host's <c>IHostEnvironment</c> for relative paths and <c>DatabaseLocation</c> for the HMAC key file beside the database.
    /// </summary>
    public static IServiceCollection AddOffsiteSigning(this IServiceCollection services)
    {
        services.AddOptions<OffsiteSigningOptions>().BindConfiguration(OffsiteSigningOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<OffsiteSigningOptions>, OffsiteSigningOptionsValidator>();
        services.AddSingleton<OffsiteSigning>();
        return services;
    }
}
