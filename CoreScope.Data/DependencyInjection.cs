using CoreScope.Data.Backup;
using CoreScope.Data.Connections;
using CoreScope.Data.Maintenance;
using CoreScope.Data.Diagnostics;
using CoreScope.Data.Drills;
using CoreScope.Data.Notify;
using CoreScope.Data.Offsite;
using CoreScope.Data.Offsite.Encryption;
using CoreScope.Data.Offsite.Signing;
using CoreScope.Data.Options;
using CoreScope.Data.Packets;
using CoreScope.Data.Reads;
using CoreScope.Data.Restore;
using CoreScope.Data.Schema;
using CoreScope.Data.Scheduling;
using CoreScope.Data.Store;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

namespace CoreScope.Data;

public static class DependencyInjection
{
    /// <summary>Registers the connections, the writer, the schema and the data services.</summary>
    public static IServiceCollection AddCoreScopeData(this IServiceCollection services)
    {
        services.AddOptions<DatabaseOptions>().BindConfiguration(DatabaseOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<BackupOptions>().BindConfiguration(BackupOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<RestoreOptions>().BindConfiguration(RestoreOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<RetentionOptions>().BindConfiguration(RetentionOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<BackupStoreOptions>().BindConfiguration(BackupStoreOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<BackupRetentionOptions>().BindConfiguration(BackupRetentionOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<BackupScheduleOptions>().BindConfiguration(BackupScheduleOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<BackupScheduleOptions>, BackupScheduleOptionsValidator>();

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<DatabaseLocation>();
        services.AddSingleton<SqliteConnectionFactory>();
        services.AddSingleton<SchemaMigrator>();
        services.AddSingleton<DatabaseWriter>();
        services.AddSingleton<SnapshotSlots>();
        services.AddSingleton<BackupService>();
        services.AddSingleton<DatabaseChanges>();
        services.AddSingleton<BackupStore>();
        services.AddSingleton<PacketIngestService>();
        services.AddSingleton<PacketReader>();
        services.AddSingleton<NodeReader>();
        services.AddSingleton<ObserverReader>();
        services.AddSingleton<StatsReader>();
        services.AddSingleton<PruneService>();

        // The one place the safety copy's home is chosen: the stored-backups store (#12) replaces this line.
        services.AddSingleton<RestoreChecks>();
        services.AddSingleton<RestoreService>();
        services.AddSingleton<DrillService>();

        // One instance for the host to start and for the program to run first (a refusal is then one line, not a crash).
        services.AddSingleton<DatabaseInitializer>();
        services.AddHostedService(provider => provider.GetRequiredService<DatabaseInitializer>());

        // After the initializer: the schedule's first run finds the schema in place and the store's catalogue read.
        services.AddHostedService<ScheduledBackupService>();
        services.AddHostedService<ScheduledDrillService>();
        services.AddBackupMonitoring();
        services.AddOffsiteCopies();
        return services;
    }

    /// <summary>Copies to S3-compatible storage and Azure Blob (Offsite/): the targets, the uploader after each stored backup, the catalogue, the restore.</summary>
    private static IServiceCollection AddOffsiteCopies(this IServiceCollection services)
    {
        services.AddOptions<OffsiteOptions>().BindConfiguration(OffsiteOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<OffsiteS3Options>().BindConfiguration(OffsiteS3Options.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<OffsiteAzureBlobOptions>().BindConfiguration(OffsiteAzureBlobOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<OffsiteRetentionOptions>().BindConfiguration(OffsiteRetentionOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<OffsiteS3Options>, OffsiteS3OptionsValidator>();
        services.AddSingleton<IValidateOptions<OffsiteAzureBlobOptions>, OffsiteAzureBlobOptionsValidator>();
        services.AddSingleton<OffsiteTargets>();

        // Plain copies, or encrypted to the operator's OpenPGP key when one is configured; a bad key file stops the start.
        services.AddOffsiteEncryption();

        // Manifests on the targets signed, and checked before any list, restore or retention trusts them; a bad key stops the start.
        services.AddOffsiteSigning();
        services.TryAddSingleton<IOffsitePayloads, OffsitePayloads>();
        services.AddSingleton<OffsiteCatalogue>();
        services.AddSingleton<OffsiteUploader>();
        services.AddSingleton<OffsiteRestore>();

        // After the initializer (registered first), so the store's catalogue is read when it looks for copies left undone.
        services.AddHostedService<OffsiteCopyService>();
        return services;
    }

    /// <summary>The record of backup activity (health, the CoreScope meter) and the webhook alerts it raises.</summary>
    private static IServiceCollection AddBackupMonitoring(this IServiceCollection services)
    {
        // The meter factory; ASP.NET Core's host registers it already, a bare service collection (a tool, a bench) does not.
        services.AddMetrics();
        services.AddOptions<BackupMonitoringOptions>().BindConfiguration(BackupMonitoringOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<NotifyOptions>().BindConfiguration(NotifyOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<CoreScopeMeter>();
        services.AddSingleton<IngestCounters>();
        services.AddSingleton<BackupAlerts>();
        services.AddSingleton<BackupActivity>();
        services.AddHostedService<WebhookSender>();

        // Each try is bounded by AttemptTimeoutSeconds and the tries by MaxAttempts, so the client's own 100 s limit,
        // which would cut the retries short, is lifted.
        // The factory's own request logging writes the full URL, and a webhook's URL carries its token: it is removed,
        // and WebhookSender logs the host alone (WebhookAlertTests checks the log for the token).
        // Redirects are not followed: the receiver the operator configured is the one that must answer, and a redirect
        // elsewhere (or a POST turned into a GET by a 301/302) is a failed delivery that WebhookSender logs with its target host.
        services.AddHttpClient(WebhookSender.ClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(static () => new SocketsHttpHandler { AllowAutoRedirect = false })
            .RemoveAllLoggers()
            .AddResilienceHandler("webhook", static (pipeline, context) =>
            {
                var options = context.ServiceProvider.GetRequiredService<IOptions<NotifyOptions>>().Value;

                // Waits and timeouts of network tries are wall-clock time, whatever clock the host's schedules run on:
                // a test that moves the schedule's clock a day ahead must not time out a POST that is in flight.
                pipeline.TimeProvider = TimeProvider.System;
                if (options.MaxAttempts > 1)
                {
                    pipeline.AddRetry(new HttpRetryStrategyOptions
                    {
                        MaxRetryAttempts = options.MaxAttempts - 1,
                        BackoffType = DelayBackoffType.Exponential,
                        UseJitter = true,
                        Delay = TimeSpan.FromSeconds(options.FirstRetryDelaySeconds),
                        MaxDelay = TimeSpan.FromMinutes(5),
                    });
                }

                pipeline.AddTimeout(TimeSpan.FromSeconds(options.AttemptTimeoutSeconds));
            });
        return services;
    }
}
