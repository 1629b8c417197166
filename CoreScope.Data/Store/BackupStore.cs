using System.Collections.Concurrent;
using System.Data.SQLite;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json;
using CoreScope.Data.Backup;
using CoreScope.Data.Connections;
using CoreScope.Data.Diagnostics;
using CoreScope.Data.Drills;
using CoreScope.Data.Options;
using CoreScope.Data.Scheduling;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CoreScope.Data.Store;

/// <summary>A stored backup that failed, kept so that the list of backups and the admin page can show it.</summary>
public sealed record StoreFailure(DateTimeOffset At, string Trigger, string Error);

/// <summary>A stored backup's file, checked against its manifest, ready to be served.</summary>
public sealed record StoredBackupFile(string Path, BackupManifest Manifest);

/// <summary>
/// The backups the server keeps: in one folder, each a snapshot file and a JSON manifest beside it. A backup is
/// written as <c>.partial</c>, fsynced and renamed only when complete, its manifest after it; leftovers of a crash
/// are swept at start, and the catalogue is rebuilt from the folder, listing what is damaged instead of dropping
/// it. Stored backups take the same slot and disk guard as a download's snapshot (<see cref="BackupService"/>),
/// and retention runs after each one that succeeds.
/// </summary>
public sealed class BackupStore
{
    private static readonly JsonSerializerOptions ManifestJson = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private static readonly string ServerVersion =
        typeof(BackupStore).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    private readonly BackupService _backupService;
    private readonly DatabaseLocation _database;
    private readonly DatabaseChanges _changes;
    private readonly BackupActivity _activity;
    private readonly BackupOptions _backupOptions;
    private readonly BackupStoreOptions _options;
    private readonly RetentionPolicy _retention;
    private readonly Lazy<TimeZoneInfo> _timeZone;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<BackupStore> _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, BackupManifest> _catalogue = new(StringComparer.Ordinal);

    // Files whose SHA-256 was checked, by the size and write time they had then: a resumed download does not hash
    // a 1 GiB file again (1.4 to 3.2 s here, docs/benchmarks.md) for every range it asks for, while any write to the file changes its time.
    private readonly ConcurrentDictionary<string, (long Length, DateTime WrittenAt)> _verified = new(StringComparer.Ordinal);
    private StoreFailure? _lastFailure;
    private long _highestSequence;

    public BackupStore(
        BackupService backupService,
        DatabaseChanges changes,
        BackupActivity activity,
        DatabaseLocation database,
        IHostEnvironment environment,
        IOptions<BackupOptions> backupOptions,
        IOptions<BackupStoreOptions> options,
        IOptions<BackupRetentionOptions> retention,
        IOptions<BackupScheduleOptions> schedule,
        TimeProvider timeProvider,
        ILogger<BackupStore> logger)
    {
        _backupService = backupService;
        _database = database;
        _changes = changes;
        _activity = activity;
        _backupOptions = backupOptions.Value;
        _options = options.Value;
        var keep = retention.Value;
        _retention = new RetentionPolicy(keep.KeepLast, keep.KeepDaily, keep.KeepWeekly, keep.KeepMonthly);
        // Parsed when retention first runs: a bad value is reported by the options' validation at start, naming the
        // setting, instead of failing the construction of every service that needs the store.
        _timeZone = new Lazy<TimeZoneInfo>(() => BackupSchedule.ParseTimeZone(schedule.Value.TimeZone));
        _timeProvider = timeProvider;
        _logger = logger;
        Folder = string.IsNullOrWhiteSpace(_options.Directory)
            ? Path.Combine(Path.GetDirectoryName(database.FilePath)!, "backups")
            : Path.GetFullPath(_options.Directory, environment.ContentRootPath);
    }

    /// <summary>The store folder.</summary>
    public string Folder { get; }

    /// <summary>Whether the store folder holds any file the store wrote: a sign that a database was backed up from here.</summary>
    public bool HoldsStoredBackups() =>
        Directory.Exists(Folder) && Directory.EnumerateFiles(Folder, StoreFiles.Prefix + "*").Any(file => StoreFiles.TryParse(Path.GetFileName(file), out _, out _));

    /// <summary>The last stored backup that failed since the server started, if any.</summary>
    public StoreFailure? LastFailure => Volatile.Read(ref _lastFailure);

    /// <summary>
    /// At start: makes sure the store folder can be used (created if missing), removes what a crash left half-written,
    /// then reads the catalogue from the folder. Throws <see cref="StartupCheckFailedException"/> when the folder cannot
    /// be used.
    /// </summary>
    public void Initialize()
    {
        try
        {
            Directory.CreateDirectory(Folder);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw Unusable(exception);
        }

        EnsureUsable();
        foreach (var partial in Directory.EnumerateFiles(Folder, StoreFiles.Prefix + "*" + StoreFiles.PartialSuffix + "*"))
        {
            if (StoreFiles.IsPartial(Path.GetFileName(partial)) && StagingFiles.TryDelete(partial))
            {
                _logger.LogWarning("Removed {File}, a stored backup left half-written by an earlier run", Path.GetFileName(partial));
            }
        }

        LoadCatalogue();
    }

    /// <summary>
    /// Refuses the start (<see cref="StartupCheckFailedException"/>) when the store folder, if it exists, is not a
    /// folder the server may list and write to: found at start, that is one line for the operator, not a crash while
    /// the catalogue is read or a 500 at the first backup. A folder that does not exist yet is left to
    /// <see cref="Initialize"/>, which creates it after the database check (that check must create nothing).
    /// </summary>
    public void EnsureUsable()
    {
        if (File.Exists(Folder) && !Directory.Exists(Folder))
        {
            var what = new FileInfo(Folder).LinkTarget is { } target ? $"a link to {target}, which is not a folder" : "a file, not a folder";
            throw new StartupCheckFailedException(
                $"The backup store folder {Folder} (CoreScope:Backup:Store:Directory) is {what}, so no backup could be stored there. " +
                "Point the setting at a folder, or leave it empty for \"backups\" beside the database, and restart.");
        }

        if (!Directory.Exists(Folder))
        {
            return;
        }

        try
        {
            using (var entries = Directory.EnumerateFileSystemEntries(Folder).GetEnumerator())
            {
                entries.MoveNext();
            }

            var probe = Path.Combine(Folder, ".corescope-write-check-" + Guid.NewGuid().ToString("N"));
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw Unusable(exception);
        }
    }

    private StartupCheckFailedException Unusable(Exception exception) => new(
        $"The backup store folder {Folder} (CoreScope:Backup:Store:Directory) cannot be used: {exception.Message} " +
        "The server must be able to list and write it; fix its permissions or point the setting at another folder, and restart.");

    /// <summary>
    /// Reads the catalogue from the folder without sweeping it: for the offline restore, which may run beside a
    /// server whose half-written backup is not a leftover. A damaged backup is listed with its status and logged once
    /// with the reason; nothing in the folder stops the read.
    /// </summary>
    public void LoadCatalogue()
    {
        if (!Directory.Exists(Folder))
        {
            return;
        }

        var found = new Dictionary<string, (string? Data, string? Manifest)>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(Folder, StoreFiles.Prefix + "*"))
        {
            if (StoreFiles.TryParse(Path.GetFileName(file), out var id, out var isManifest))
            {
                var entry = found.GetValueOrDefault(id);
                found[id] = isManifest ? entry with { Manifest = file } : entry with { Data = file };
            }
        }

        var damaged = new List<(BackupManifest Entry, string Reason)>();
        lock (_gate)
        {
            _catalogue.Clear();
            foreach (var (id, files) in found)
            {
                var (entry, reason) = ReadEntry(id, files.Data, files.Manifest);
                _catalogue[id] = entry;
                if (reason is not null)
                {
                    damaged.Add((entry, reason));
                }
            }
        }

        ReportCatalogue();
        _logger.LogInformation("Backup store {Folder}: {Count} stored backups", Folder, found.Count);
        foreach (var (entry, reason) in damaged)
        {
            _logger.LogWarning("Stored backup {Id} is damaged ({Status}): {Reason}; it is listed but never served", entry.Id, entry.Status, reason);
        }
    }

    /// <summary>Every stored backup, damaged ones included, newest first in the store's order (<see cref="StoreOrder"/>).</summary>
    public IReadOnlyList<BackupManifest> List()
    {
        lock (_gate)
        {
            return NewestFirst(_catalogue.Keys.ToList().Select(Refresh));
        }
    }

    /// <summary>Whether a good stored backup with this id is in the store, its file as written: what a skipped scheduled run relies on.</summary>
    public bool HoldsGood(string id)
    {
        lock (_gate)
        {
            return _catalogue.ContainsKey(id) && Refresh(id).IsGood;
        }
    }

    /// <summary>One stored backup's manifest; <see cref="StoredBackupNotFoundException"/> for anything that is not a known id.</summary>
    public BackupManifest Get(string id)
    {
        lock (_gate)
        {
            return _catalogue.ContainsKey(id) ? Refresh(id) : throw new StoredBackupNotFoundException(id);
        }
    }

    /// <summary>Deletes a stored backup, damaged or not: its file and its manifest.</summary>
    public void Delete(string id)
    {
        lock (_gate)
        {
            var manifest = _catalogue.GetValueOrDefault(id) ?? throw new StoredBackupNotFoundException(id);
            DeleteFiles(manifest);
            _catalogue.Remove(id);
            _verified.TryRemove(id, out _);
        }

        _logger.LogInformation("Deleted stored backup {Id}", id);
        ReportCatalogue();
    }

    /// <summary>
    /// Writes a restore drill's verdict into the backup's manifest, the way every manifest is written (<c>.partial</c>,
    /// fsync, rename over the old one, folder fsync), and returns the manifest as listed now. A backup deleted while it
    /// was drilled stays deleted (<see cref="StoredBackupNotFoundException"/>); one without a readable manifest keeps
    /// the verdict in the catalogue only, since there is no manifest to add it to.
    /// </summary>
    public Task<BackupManifest> RecordDrillAsync(string id, BackupDrill drill, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            // Under the gate, from the catalogue's entry as it is now: an offsite copy recorded meanwhile is kept, and a
            // delete or retention pass that ran meanwhile is not undone by a manifest without its file.
            var listed = _catalogue.GetValueOrDefault(id) ?? throw new StoredBackupNotFoundException(id);
            var updated = listed with { Drill = drill };
            if (listed.Status is not (StoredBackupStatus.MissingManifest or StoredBackupStatus.UnreadableManifest))
            {
                RewriteManifest(updated);
            }

            _catalogue[id] = updated;
            return Task.FromResult(updated);
        }
    }

    /// <summary>
    /// A drill read the file and found another SHA-256 than its manifest's: the backup is <see cref="StoredBackupStatus.Modified"/>
    /// from now on, as if a download had found it, so it is no longer served.
    /// </summary>
    public void MarkModified(string id, string actualSha256)
    {
        string? expected = null;
        lock (_gate)
        {
            if (_catalogue.TryGetValue(id, out var manifest))
            {
                _catalogue[id] = manifest with { Status = StoredBackupStatus.Modified };
                expected = manifest.Sha256;
            }
        }

        _verified.TryRemove(id, out _);
        _logger.LogError("Stored backup {Id} was changed on disk after it was written: SHA-256 {Actual}, its manifest says {Expected}",
            id, actualSha256, expected);
    }

    /// <summary>
    /// The file of a good stored backup, after its SHA-256 was checked against the manifest (once per change of the
    /// file). A file that is missing or no longer what was written is refused with
    /// <see cref="StoredBackupDamagedException"/> and marked <see cref="StoredBackupStatus.Modified"/> in the catalogue.
    /// </summary>
    public async Task<StoredBackupFile> OpenForDownloadAsync(string id, CancellationToken cancellationToken)
    {
        var manifest = Get(id);
        if (manifest.Status != StoredBackupStatus.Ok)
        {
            throw new StoredBackupDamagedException(
                $"Stored backup {id} is damaged ({manifest.Status}) and is not served. Delete it, or check its files in the backup store (CoreScope:Backup:Store:Directory).");
        }

        var path = Path.Combine(Folder, manifest.FileName);
        var file = new FileInfo(path);
        var stamp = (file.Length, file.LastWriteTimeUtc);
        if (_verified.TryGetValue(id, out var verified) && verified == stamp)
        {
            return new StoredBackupFile(path, manifest);
        }

        var actual = Convert.ToHexStringLower(await StagingFiles.HashAsync(path, cancellationToken));
        if (!string.Equals(actual, manifest.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            lock (_gate)
            {
                if (_catalogue.ContainsKey(id))
                {
                    _catalogue[id] = manifest with { Status = StoredBackupStatus.Modified };
                }
            }

            _logger.LogError("Stored backup {Id} was changed on disk after it was written: SHA-256 {Actual}, its manifest says {Expected}",
                id, actual, manifest.Sha256);
            throw new StoredBackupDamagedException(
                $"Stored backup {id} was changed on disk after it was written: its SHA-256 is now {actual}, its manifest says " +
                $"{manifest.Sha256}. It is not served; delete it and use another backup.");
        }

        _verified[id] = stamp;
        return new StoredBackupFile(path, manifest);
    }

    /// <summary>
    /// Makes a backup now and keeps it: snapshot straight into a <c>.partial</c> file in the store folder, check its
    /// integrity, compress when asked, fsync, hash, rename, write the manifest the same way, then apply retention.
    /// Throws like <see cref="BackupService.CreateSnapshotAsync(SnapshotRequest, CancellationToken)"/> (busy, insufficient storage, failed); a failure
    /// leaves nothing of this backup on disk, touches no other backup, and is kept as <see cref="LastFailure"/>.
    /// </summary>
    public Task<BackupManifest> StoreBackupAsync(BackupTrigger trigger, SnapshotMethod? method, bool compress, CancellationToken cancellationToken)
    {
        if (trigger is BackupTrigger.Download or BackupTrigger.PreRestore)
        {
            throw new ArgumentException("A download is not a stored backup, and a safety copy is stored by StorePreRestoreAsync; use Manual or Schedule.", nameof(trigger));
        }

        return StoreAsync(trigger, method, compress, heldSlot: null, cancellationToken);
    }

    /// <summary>
    /// Stores the safety copy a restore takes before it changes anything, as a stored backup with trigger
    /// <c>pre-restore</c>: listed, served, restorable by its id and kept by retention like any other. It runs under the
    /// restore's own slot (<paramref name="heldSlot"/>), since the gate would refuse a second one, with the page copy
    /// (the backup API in one step: 1.65 s for 1 GB against 4.1 s for VACUUM INTO, docs/benchmarks.md; the restore
    /// waits for it) and not compressed. When SQLite cannot read the live database at all (the offline restore of a
    /// damaged file), its files are kept as they are instead, with method <c>file</c> and an <c>integrity</c> that
    /// says why, so nothing is ever replaced without a copy.
    /// </summary>
    public async Task<BackupManifest> StorePreRestoreAsync(IDisposable heldSlot, CancellationToken cancellationToken)
    {
        try
        {
            return await StoreAsync(BackupTrigger.PreRestore, SnapshotMethod.Pages, compress: false, heldSlot, cancellationToken);
        }
        catch (UnreadableLiveDatabaseException unreadable)
        {
            _logger.LogWarning(unreadable.InnerException, "The live database cannot be read; the safety copy is a copy of its files");
            return await StoreFilesAsIsAsync(unreadable.InnerException!.Message, cancellationToken);
        }
    }

    private async Task<BackupManifest> StoreAsync(
        BackupTrigger trigger, SnapshotMethod? method, bool compress, IDisposable? heldSlot, CancellationToken cancellationToken)
    {

        var stopwatch = Stopwatch.StartNew();
        var createdAt = _timeProvider.GetUtcNow();
        var id = NewId(createdAt);
        var fileName = StoreFiles.Data(id, compress);
        var finalPath = Path.Combine(Folder, fileName);
        var renamed = false;
        try
        {
            Directory.CreateDirectory(Folder);

            // Read before the snapshot: a commit that races it makes the next scheduled run store again, never skip.
            var version = await _changes.ReadVersionAsync(cancellationToken);
            await using var snapshot = await _backupService.CreateSnapshotFileAsync(
                Path.Combine(Folder, StoreFiles.Partial(StoreFiles.Data(id, compressed: false))), method, compress ? 2 : 1,
                StorageLocation.Store, heldSlot, cancellationToken);

            var snapshotMs = stopwatch.ElapsedMilliseconds;
            var integrity = _options.IntegrityCheck == StoreIntegrityCheck.None ? null
                : await CheckIntegrityAsync(snapshot.FilePath, _options.IntegrityCheck == StoreIntegrityCheck.Quick, cancellationToken);
            RemoveSidecars(snapshot.FilePath);
            var integrityMs = stopwatch.ElapsedMilliseconds - snapshotMs;
            if (compress)
            {
                snapshot.FilePath = await StagingFiles.CompressAsync(
                    snapshot.FilePath, _backupOptions.CompressionLevel, cancellationToken, Path.Combine(Folder, StoreFiles.Partial(fileName)));
            }

            var flushStartedMs = stopwatch.ElapsedMilliseconds;
            StagingFiles.FlushToDisk(snapshot.FilePath);
            var hashStartedMs = stopwatch.ElapsedMilliseconds;
            var sha256 = Convert.ToHexStringLower(await StagingFiles.HashAsync(snapshot.FilePath, cancellationToken));
            var hashMs = stopwatch.ElapsedMilliseconds - hashStartedMs;
            var length = new FileInfo(snapshot.FilePath).Length;

            File.Move(snapshot.FilePath, finalPath);
            renamed = true;
            var manifest = new BackupManifest
            {
                Id = id,
                CreatedAt = createdAt.UtcDateTime,
                Trigger = MonitoringLabels.Of(trigger),
                Method = snapshot.Method.ToString().ToLowerInvariant(),
                Compressed = compress,
                SizeBytes = length,
                Sha256 = sha256,
                DurationMs = stopwatch.ElapsedMilliseconds,
                ServerVersion = ServerVersion,
                SchemaSteps = snapshot.SchemaSteps,
                Rows = snapshot.Rows,
                Integrity = integrity,
                IntegrityCheck = integrity is null ? null : _options.IntegrityCheck.ToString().ToLowerInvariant(),
                FileName = fileName,
                Sequence = NextSequence(),
            };
            await WriteManifestAsync(manifest, cancellationToken);
            StoreFiles.FlushFolder(Folder);

            lock (_gate)
            {
                _catalogue[id] = manifest;
            }

            _verified[id] = (length, File.GetLastWriteTimeUtc(finalPath));
            _changes.BackupStored(version, id);
            _activity.RecordBackupSucceeded(trigger, length, TimeSpan.FromMilliseconds(manifest.DurationMs), id);
            _logger.LogInformation(
                "Stored backup {Id} ({Trigger}, {Method}{Compressed}, {Bytes} bytes, integrity {Integrity}) in {DurationMs} ms: " +
                "snapshot {SnapshotMs} ms, integrity check {IntegrityMs} ms, compress {CompressMs} ms, fsync {FlushMs} ms, SHA-256 {HashMs} ms",
                id, manifest.Trigger, manifest.Method, compress ? ", gzip" : "", length, integrity ?? "not checked", manifest.DurationMs,
                snapshotMs, integrityMs, flushStartedMs - snapshotMs - integrityMs, hashStartedMs - flushStartedMs, hashMs);
            ApplyRetention(justStored: id);
            ReportCatalogue();
            AnnounceStored(manifest);
            return manifest;
        }
        catch (Exception exception) when (exception is not BackupBusyException)
        {
            if (renamed)
            {
                StagingFiles.TryDelete(finalPath);
            }

            StagingFiles.TryDelete(Path.Combine(Folder, StoreFiles.Partial(StoreFiles.Manifest(id))));
            StagingFiles.TryDelete(Path.Combine(Folder, StoreFiles.Partial(fileName)));
            RemoveSidecars(Path.Combine(Folder, StoreFiles.Partial(StoreFiles.Data(id, compressed: false))));
            if (exception is OperationCanceledException)
            {
                throw;
            }

            var failure = exception as BackupFailedException ?? SnapshotFailures.Classify(exception, Folder, StorageLocation.Store);
            if (trigger == BackupTrigger.PreRestore && IsUnreadable(exception, failure))
            {
                throw new UnreadableLiveDatabaseException(exception);
            }

            Volatile.Write(ref _lastFailure, new StoreFailure(_timeProvider.GetUtcNow(), MonitoringLabels.Of(trigger), failure.Message));
            _logger.LogError(exception, "Storing a backup ({Trigger}) failed; nothing of it was left in {Folder}: {Reason}",
                MonitoringLabels.Of(trigger), Folder, failure.Message);
            _activity.RecordBackupFailed(trigger, failure.Message);
            if (ReferenceEquals(failure, exception))
            {
                throw;
            }

            throw failure;
        }
    }

    // The live database is too damaged for SQLite to copy or count: the safety copy falls back to its bytes.
    private sealed class UnreadableLiveDatabaseException(Exception inner) : Exception(inner.Message, inner);

    private static bool IsUnreadable(Exception exception, BackupFailedException failure) =>
        failure.Failure == BackupFailure.DatabaseUnreadable
        || exception is SQLiteException { ResultCode: SQLiteErrorCode.NotADb or SQLiteErrorCode.Corrupt }
        || exception.InnerException is SQLiteException { ResultCode: SQLiteErrorCode.NotADb or SQLiteErrorCode.Corrupt };

    // The live file and its WAL, copied byte for byte: .partial, fsync, rename, manifest, as every stored backup. The
    // WAL keeps its SQLite name beside the copy (<file>-wal), so opening the copy sees what the live file would have.
    private async Task<BackupManifest> StoreFilesAsIsAsync(string reason, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        var createdAt = _timeProvider.GetUtcNow();
        var id = NewId(createdAt);
        var fileName = StoreFiles.Data(id, compressed: false);
        var finalPath = Path.Combine(Folder, fileName);
        var partial = Path.Combine(Folder, StoreFiles.Partial(fileName));
        try
        {
            File.Copy(_database.FilePath, partial);
            StagingFiles.FlushToDisk(partial);
            if (File.Exists(_database.WalPath))
            {
                File.Copy(_database.WalPath, finalPath + "-wal", overwrite: true);
            }

            var sha256 = Convert.ToHexStringLower(await StagingFiles.HashAsync(partial, cancellationToken));
            var length = new FileInfo(partial).Length;
            File.Move(partial, finalPath);
            var manifest = new BackupManifest
            {
                Id = id,
                CreatedAt = createdAt.UtcDateTime,
                Trigger = MonitoringLabels.Of(BackupTrigger.PreRestore),
                Method = "file",
                Compressed = false,
                SizeBytes = length,
                Sha256 = sha256,
                DurationMs = stopwatch.ElapsedMilliseconds,
                ServerVersion = ServerVersion,
                SchemaSteps = [],
                Rows = new Dictionary<string, long>(),
                Integrity = "the live database could not be read: " + reason,
                FileName = fileName,
                Sequence = NextSequence(),
            };
            await WriteManifestAsync(manifest, cancellationToken);
            StoreFiles.FlushFolder(Folder);
            lock (_gate)
            {
                _catalogue[id] = manifest;
            }

            _activity.RecordBackupSucceeded(BackupTrigger.PreRestore, length, stopwatch.Elapsed, id);
            ReportCatalogue();
            return manifest;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            StagingFiles.TryDelete(partial);
            StagingFiles.TryDelete(finalPath);
            StagingFiles.TryDelete(finalPath + "-wal");
            StagingFiles.TryDelete(Path.Combine(Folder, StoreFiles.Partial(StoreFiles.Manifest(id))));
            var failure = SnapshotFailures.Classify(exception, Folder, StorageLocation.Store);
            Volatile.Write(ref _lastFailure, new StoreFailure(_timeProvider.GetUtcNow(), MonitoringLabels.Of(BackupTrigger.PreRestore), failure.Message));
            _activity.RecordBackupFailed(BackupTrigger.PreRestore, failure.Message);
            throw failure;
        }
    }

    private static string NewId(DateTimeOffset createdAt) =>
        createdAt.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture) + "-" +
        Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));

    /// <summary>
    /// Writes into a stored backup's manifest that <paramref name="copy"/> is on its target (replacing an older entry
    /// for the same target), or, with <paramref name="copy"/> null, that <paramref name="target"/> holds it no more.
    /// The manifest is rewritten the way it was first written (<c>.partial</c>, fsync, rename), from the catalogue's
    /// entry and under the catalogue's gate, so a drill's verdict or a delete that lands at the same moment is neither
    /// lost nor undone (a few KB and one fsync). Returns the manifest as written, or null when the backup is gone or
    /// damaged (nothing is written then).
    /// </summary>
    public BackupManifest? SetOffsiteCopy(string id, string target, OffsiteCopy? copy)
    {
        lock (_gate)
        {
            var current = _catalogue.GetValueOrDefault(id);
            if (current is null || current.Status != StoredBackupStatus.Ok)
            {
                return null;
            }

            var others = (current.Offsite ?? []).Where(existing => existing.Target != target);
            var copies = (copy is null ? others : others.Append(copy)).ToList();
            var updated = current with { Offsite = copies.Count == 0 ? null : copies };
            RewriteManifest(updated);
            _catalogue[id] = updated;
            return updated;
        }
    }

    /// <summary>Raised after a backup is stored (file renamed, manifest written); offsite copies start from here. Never fails the backup.</summary>
    public event Action<BackupManifest>? BackupStored;

    // SQLite's files beside a partial copy: VACUUM INTO journals its target and leaves the -journal when it fails
    // (seen when the disk filled up), and a pages copy keeps the live database's WAL flag, so the read-only connections
    // that counted and checked it left an empty -wal and -shm. Nothing writes to a copy once it is complete, so there
    // is nothing in them to lose.
    private static void RemoveSidecars(string databaseFile)
    {
        StagingFiles.TryDelete(databaseFile + "-journal");
        var wal = new FileInfo(databaseFile + "-wal");
        if (!wal.Exists || wal.Length == 0)
        {
            StagingFiles.TryDelete(wal.FullName);
            StagingFiles.TryDelete(databaseFile + "-shm");
        }
    }

    // A listener's failure is logged, never the backup's: the backup is on disk and its manifest written.
    private void AnnounceStored(BackupManifest manifest)
    {
        try
        {
            BackupStored?.Invoke(manifest);
        }
        catch (Exception exception)
        {
            _logger.LogError(exception, "A listener of stored backups failed for {Id}; the backup itself is kept", manifest.Id);
        }
    }

    // What health and /metrics say the store holds: every listed backup, damaged ones too, since they take the disk, in
    // the store's order, so that health's newest good backup is the one retention and the list call newest.
    private void ReportCatalogue()
    {
        lock (_gate)
        {
            _activity.SetStoredBackups(NewestFirst(_catalogue.Values)
                .Select(manifest => new StoredBackupSummary(
                    manifest.Id, new DateTimeOffset(manifest.CreatedAt, TimeSpan.Zero), manifest.SizeBytes, manifest.Trigger, manifest.IsGood))
                .ToList());
        }
    }

    // One more than the highest sequence the store knows, in its catalogue or handed out since the start (a deleted
    // newest backup does not give its number back). Only one backup is written at a time (the snapshot slot), and the
    // gate makes even two at once get two numbers.
    private long NextSequence()
    {
        lock (_gate)
        {
            _highestSequence = StoreOrder.Next(Math.Max(_highestSequence, StoreOrder.Highest(_catalogue.Values)));
            return _highestSequence;
        }
    }

    private List<BackupManifest> NewestFirst(IEnumerable<BackupManifest> manifests) =>
        StoreOrder.NewestFirst(manifests, manifest => manifest, ObservedAt);

    // When the store saw a manifest without a sequence written: its data file's time, which nothing changes once it is
    // renamed into place; the manifest's own time changes with every drill verdict or offsite copy written into it, so
    // it is the fallback only for a backup whose file is gone.
    private DateTime? ObservedAt(BackupManifest manifest)
    {
        foreach (var file in (string[])[manifest.FileName, StoreFiles.Manifest(manifest.Id)])
        {
            var info = new FileInfo(Path.Combine(Folder, file));
            if (info.Exists)
            {
                return info.LastWriteTimeUtc;
            }
        }

        return null;
    }

    private async Task<string> CheckIntegrityAsync(string file, bool quick, CancellationToken cancellationToken)
    {
        var report = await _backupService.CheckIntegrityAsync(file, cancellationToken, quick);
        return report is ["ok"] ? "ok" : string.Join("; ", report.Take(10));
    }

    private async Task WriteManifestAsync(BackupManifest manifest, CancellationToken cancellationToken)
    {
        var path = Path.Combine(Folder, StoreFiles.Manifest(manifest.Id));
        var partial = StoreFiles.Partial(path);
        await using (var stream = new FileStream(partial, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous))
        {
            await JsonSerializer.SerializeAsync(stream, manifest, ManifestJson, cancellationToken);
            stream.Flush(flushToDisk: true);
        }

        File.Move(partial, path);
    }

    // A manifest written again (offsite copies): fsync and rename over the old one, from a .partial of its own so that
    // a drill writing its verdict at the same moment never shares one. Called under the gate.
    // Rewrites a stored backup's manifest (a drill's verdict, an offsite copy); called under the gate, so two updates of
    // one manifest never race, each starting from the catalogue's entry. A small JSON file: fsynced, then renamed.
    private void RewriteManifest(BackupManifest manifest)
    {
        var path = Path.Combine(Folder, StoreFiles.Manifest(manifest.Id));
        var partial = StoreFiles.Partial(path);
        using (var stream = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(stream, manifest, ManifestJson);
            stream.Flush(flushToDisk: true);
        }

        File.Move(partial, path, overwrite: true);
        StoreFiles.FlushFolder(Folder);
    }

    /// <summary>
    /// Applies the retention policy to the good backups on disk, in the store's order; damaged ones are left for the
    /// operator, and <paramref name="justStored"/> is kept whatever the rules say.
    /// </summary>
    private void ApplyRetention(string justStored)
    {
        if (_retention.KeepsEverything)
        {
            return;
        }

        lock (_gate)
        {
            var candidates = NewestFirst(_catalogue.Values.Where(manifest => manifest.Status == StoredBackupStatus.Ok))
                .Select(manifest => new RetentionCandidate(manifest.Id, new DateTimeOffset(manifest.CreatedAt, TimeSpan.Zero), manifest.Trigger, manifest.IsGood));
            var decision = _retention.Apply(candidates, _timeProvider.GetUtcNow(), _timeZone.Value, justStored);
            foreach (var id in decision.Remove)
            {
                var manifest = _catalogue[id];
                if (DeleteFiles(manifest))
                {
                    _catalogue.Remove(id);
                    _verified.TryRemove(id, out _);
                    _logger.LogInformation("Retention removed stored backup {Id} ({Trigger}, {CreatedAt:O})", id, manifest.Trigger, manifest.CreatedAt);
                }
                else
                {
                    _logger.LogWarning("Retention could not remove stored backup {Id}; it stays listed", id);
                }
            }

            if (decision.Remove.Count > 0)
            {
                _logger.LogInformation("Retention kept {Kept} stored backups and removed {Removed}", decision.Keep.Count, decision.Remove.Count);
            }
        }
    }

    // The WAL beside a safety copy kept as files (StoreFilesAsIsAsync) goes with it.
    private bool DeleteFiles(BackupManifest manifest) =>
        StagingFiles.TryDelete(Path.Combine(Folder, manifest.FileName))
        & StagingFiles.TryDelete(Path.Combine(Folder, StoreFiles.Manifest(manifest.Id)))
        & StagingFiles.TryDelete(Path.Combine(Folder, manifest.FileName + "-wal"));

    // The catalogue entry with what a stat of its file says now: a file removed or resized since it was listed is
    // damaged from then on. Called under the gate.
    private BackupManifest Refresh(string id)
    {
        var manifest = _catalogue[id];
        if (manifest.Status != StoredBackupStatus.Ok)
        {
            return manifest;
        }

        var file = new FileInfo(Path.Combine(Folder, manifest.FileName));
        var status = !file.Exists ? StoredBackupStatus.MissingFile
            : file.Length != manifest.SizeBytes ? StoredBackupStatus.Modified
            : StoredBackupStatus.Ok;
        if (status != StoredBackupStatus.Ok)
        {
            manifest = manifest with { Status = status };
            _catalogue[id] = manifest;
        }

        return manifest;
    }

    // A manifest is a few KB (rows per table, schema steps, a drill's verdict, offsite copies): anything near this is no manifest.
    private const int MostManifestBytes = 1 << 20;

    // The catalogue entry for one id and why it is damaged (null when it is not). Whatever the files hold, it never
    // throws: a manifest that cannot be read or used is listed as unreadable with what is left of it.
    private (BackupManifest Entry, string? Damage) ReadEntry(string id, string? dataFile, string? manifestFile)
    {
        string? problem = null;
        if (manifestFile is not null)
        {
            try
            {
                var manifest = JsonSerializer.Deserialize<BackupManifest>(StoreFiles.ReadSmallRegularFile(manifestFile, MostManifestBytes), ManifestJson);
                if (manifest is null)
                {
                    problem = "it is null";
                }
                else if ((problem = manifest.FindProblem(id)) is null)
                {
                    var file = new FileInfo(Path.Combine(Folder, manifest.FileName));
                    return !file.Exists ? (manifest with { Status = StoredBackupStatus.MissingFile }, $"its file {manifest.FileName} is missing")
                        : file.Length != manifest.SizeBytes
                            ? (manifest with { Status = StoredBackupStatus.Modified }, $"its file is {file.Length} bytes, its manifest says {manifest.SizeBytes}")
                        : (manifest with { Status = StoredBackupStatus.Ok }, null);
                }
            }
            catch (Exception exception) when (exception is JsonException or IOException or NotSupportedException or UnauthorizedAccessException)
            {
                problem = exception.Message;
            }
        }

        // What is left of a backup whose manifest is missing or unreadable: enough to list it and to delete it.
        var createdAt = DateTime.ParseExact(id[..16], "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
        var entry = new BackupManifest
        {
            Id = id,
            CreatedAt = createdAt,
            Trigger = "unknown",
            Method = "unknown",
            Compressed = dataFile?.EndsWith(".gz", StringComparison.Ordinal) ?? false,
            SizeBytes = dataFile is null ? 0 : new FileInfo(dataFile).Length,
            Sha256 = "",
            DurationMs = 0,
            ServerVersion = "",
            SchemaSteps = [],
            Rows = new Dictionary<string, long>(),
            FileName = dataFile is null ? StoreFiles.Data(id, compressed: false) : Path.GetFileName(dataFile),
            Status = manifestFile is null ? StoredBackupStatus.MissingManifest : StoredBackupStatus.UnreadableManifest,
        };
        return (entry, manifestFile is null ? "it has no manifest" : $"its manifest {Path.GetFileName(manifestFile)} cannot be used: {problem}");
    }
}
