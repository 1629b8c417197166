using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CoreScope.Data.Offsite.Encryption;

public static class OffsiteEncryptionExtensions
{
    /// <summary>
    /// The encryption settings, checked at start (the key file is read then), and <see cref="OffsiteEncryption"/>.
    /// Needs the host's <c>IHostEnvironment</c> for relative paths.
    /// </summary>
    public static IServiceCollection AddOffsiteEncryption(this IServiceCollection services)
    {
        services.AddOptions<OffsiteEncryptionOptions>().BindConfiguration(OffsiteEncryptionOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<OffsiteEncryptionOptions>, OffsiteEncryptionOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<OffsiteEncryption>();
        return services;
    }
}
