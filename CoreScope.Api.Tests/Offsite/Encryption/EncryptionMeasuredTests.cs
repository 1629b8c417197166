using System.Diagnostics;
using CoreScope.Data.Offsite.Encryption;

namespace CoreScope.Api.Tests.Offsite.Encryption;

/// <summary>
/// docs/offsite.md "Encryption", "Measured": encryption and decryption stream with fixed buffers, so a file of any size
/// costs the same memory; the throughput is printed, never asserted (the machine decides it). Encryption allocates
/// next to nothing per byte; decryption's garbage grows with the file (BouncyCastle's cipher stream allocates two small
/// arrays per 16-byte block as it reads), but it dies young, so the heap itself stays flat.
/// </summary>
[Category("Slow")]
public sealed class EncryptionMeasuredTests : EncryptionTests
{
    private const long MiB = 1024 * 1024;

    [Test]
    public async Task EncryptAndDecrypt_200MB_KeepMemoryBounded()
    {
        var (encrypting, decrypting) = await MeasureAsync(200 * MiB);

        encrypting.AllocatedBytes.Should().BeLessThan(16 * MiB, "a 1 MiB copy buffer and 64 KiB packet buffers, whatever the file's size");
        encrypting.HeapGrowthBytes.Should().BeLessThan(16 * MiB);
        encrypting.RetainedBytes.Should().BeLessThan(MiB);

        // The upload encrypts; only a restore decrypts. Its peak is the collector's young-generation budget filling with
        // BouncyCastle's per-block arrays before a collection, the same +81 MiB at 200 MiB and at 1 GiB, not the file.
        decrypting.HeapGrowthBytes.Should().BeLessThan(128 * MiB);
        decrypting.RetainedBytes.Should().BeLessThan(MiB, "nothing of the file is kept");
    }

    [Test]
    [Explicit("A measurement for docs/offsite.md (Encryption): 1 GiB each way, several seconds of disk and CPU.")]
    public async Task EncryptAndDecrypt_1GiB_Throughput() => await MeasureAsync(1024 * MiB);

    private async Task<(Measurement Encrypting, Measurement Decrypting)> MeasureAsync(long bytes)
    {
        var input = CreateRandomFile(bytes, "corescope-backup.db.gz");
        var (fingerprint, publicKeyFile) = await CreateKeyAsync(algorithm: "default");
        var encryption = await StartEncryptionAsync(publicKeyFile);
        var key = new OffsiteDecryptionKey(await Gpg.ExportPrivateKeyAsync(fingerprint), GpgHome.Passphrase);
        var encryptedPath = input + ".gpg";
        var decryptedPath = Path.Combine(Workspace.DownloadDirectory, "decrypted.db.gz");

        // Warm up (JIT, BouncyCastle's static tables) on a small file, so the measurement is the stream's own cost.
        var warmUp = CreateRandomFile(MiB, "warm-up.bin");
        await encryption.EncryptAsync(warmUp, warmUp + ".gpg", CancellationToken.None);
        await encryption.DecryptAsync(warmUp + ".gpg", warmUp + ".back", key, CancellationToken.None);

        var (encrypted, encrypting) = await MeasureOneAsync(() => encryption.EncryptAsync(input, encryptedPath, CancellationToken.None));
        var (decrypted, decrypting) = await MeasureOneAsync(() => encryption.DecryptAsync(encryptedPath, decryptedPath, key, CancellationToken.None));

        decrypted.Sha256.Should().Be(encrypted.PlainSha256);
        var megabytes = bytes / (double)MiB;
        await TestContext.Out.WriteLineAsync(
            $"{megabytes:F0} MiB: encrypt {encrypting.Describe(megabytes)}; decrypt {decrypting.Describe(megabytes)}; " +
            $"the encrypted file is {encrypted.SizeBytes - encrypted.PlainSizeBytes} bytes larger than the input");
        return (encrypting, decrypting);
    }

    /// <summary>Runs <paramref name="run"/> while sampling the managed heap every 10 ms; the growth is the peak over the start.</summary>
    private static async Task<(T Result, Measurement Measurement)> MeasureOneAsync<T>(Func<Task<T>> run)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var peakHeap = heapBefore;
        using var stopSampling = new CancellationTokenSource();
        var sampling = Task.Run(async () =>
        {
            while (!stopSampling.IsCancellationRequested)
            {
                peakHeap = Math.Max(peakHeap, GC.GetTotalMemory(forceFullCollection: false));
                await Task.Delay(10);
            }
        });

        var started = Stopwatch.GetTimestamp();
        var result = await run();
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        await stopSampling.CancelAsync();
        await sampling;
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        return (result, new Measurement(seconds, allocated, peakHeap - heapBefore, GC.GetTotalMemory(forceFullCollection: true) - heapBefore));
    }

    private sealed record Measurement(double Seconds, long AllocatedBytes, long HeapGrowthBytes, long RetainedBytes)
    {
        public string Describe(double megabytes) =>
            $"{Seconds:F2} s ({megabytes / Seconds:F0} MiB/s, {AllocatedBytes / (double)MiB:F1} MiB allocated, " +
            $"heap peak +{HeapGrowthBytes / (double)MiB:F1} MiB, retained {RetainedBytes / 1024.0:F0} KiB)";
    }
}
