using CoreScope.Data.Backup;
using CoreScope.Data.Connections;
using CoreScope.Data.Maintenance;
using CoreScope.Data.Options;
using CoreScope.Data.Packets;
using CoreScope.Data.Reads;
using CoreScope.Data.Schema;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CoreScope.Data;

public static class DependencyInjection
{
    /// <summary>Registers the connections, the writer, the schema and the data services.</summary>
    public static IServiceCollection AddCoreScopeData(this IServiceCollection services)
    {
        services.AddOptions<DatabaseOptions>().BindConfiguration(DatabaseOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<BackupOptions>().BindConfiguration(BackupOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<RetentionOptions>().BindConfiguration(RetentionOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<DatabaseLocation>();
        services.AddSingleton<SqliteConnectionFactory>();
        services.AddSingleton<SchemaMigrator>();
        services.AddSingleton<DatabaseWriter>();
        services.AddSingleton<SnapshotSlots>();
        services.AddSingleton<BackupService>();
        services.AddSingleton<PacketIngestService>();
        services.AddSingleton<PacketReader>();
        services.AddSingleton<NodeReader>();
        services.AddSingleton<ObserverReader>();
        services.AddSingleton<StatsReader>();
        services.AddSingleton<PruneService>();

        services.AddHostedService<DatabaseInitializer>();
        return services;
    }
}
