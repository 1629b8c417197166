using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Microsoft.Win32.SafeHandles;

namespace CoreScope.Data.Store;

/// <summary>
/// The names of the store's files. Only names this class made are ever read, served or deleted, so an id can
/// never point outside the store folder and nothing else an operator keeps there is touched.
/// </summary>
internal static partial class StoreFiles
{
    public const string Prefix = "corescope-backup-";

    public const string PartialSuffix = ".partial";

    [GeneratedRegex(@"^corescope-backup-(?<id>[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6})(?<ext>\.db|\.db\.gz|\.json)$", RegexOptions.CultureInvariant)]
    private static partial Regex StoreFileName();

    // What the store writes before a rename: a backup's file or manifest with .partial, and the journal, WAL and
    // shared-memory files SQLite makes beside a partial snapshot.
    [GeneratedRegex(@"^corescope-backup-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}(\.db|\.db\.gz|\.json)\.partial(-journal|-wal|-shm)?$", RegexOptions.CultureInvariant)]
    private static partial Regex StorePartialName();

    public static string Data(string id, bool compressed) => Prefix + id + (compressed ? ".db.gz" : ".db");

    public static string Manifest(string id) => Prefix + id + ".json";

    public static string Partial(string name) => name + PartialSuffix;

    /// <summary>Reads a file name the store wrote: its id and whether it is the manifest.</summary>
    public static bool TryParse(string fileName, out string id, out bool isManifest)
    {
        var match = StoreFileName().Match(fileName);
        id = match.Success ? match.Groups["id"].Value : "";
        isManifest = match.Success && match.Groups["ext"].Value == ".json";
        return match.Success;
    }

    /// <summary>
    /// Whether <paramref name="fileName"/> is one the store writes while a backup is half-done: only those are swept at
    /// start, so a <c>corescope-backup-x.partial</c> an operator keeps in the folder is left alone.
    /// </summary>
    public static bool IsPartial(string fileName) => StorePartialName().IsMatch(fileName);

    /// <summary>
    /// Reads a small file the store wrote (a manifest), at most <paramref name="maxBytes"/>, without ever waiting: a
    /// FIFO named like one would block a plain open until some program writes to it, and so the start. On Linux and
    /// macOS the file is opened with O_NONBLOCK, which returns at once for a FIFO, and anything that cannot seek (a
    /// FIFO, a socket, a terminal) is refused unread. Throws <see cref="IOException"/> saying what the file is.
    /// </summary>
    public static byte[] ReadSmallRegularFile(string path, int maxBytes)
    {
        using var stream = OpenForReadWithoutWaiting(path);
        if (!stream.CanSeek)
        {
            throw new IOException("it is not a regular file (a FIFO, socket or device), so it was not read");
        }

        var buffer = new byte[maxBytes + 1];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = stream.Read(buffer, length, buffer.Length - length)) > 0)
        {
            length += read;
        }

        return length > maxBytes
            ? throw new IOException($"it is larger than {maxBytes} bytes, which no manifest is")
            : buffer[..length];
    }

    private static FileStream OpenForReadWithoutWaiting(string path)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
        }

        var flags = OperatingSystem.IsLinux() ? LinuxReadNonBlockingCloseOnExec : MacReadNonBlockingCloseOnExec;
        var descriptor = NativeMethods.Open(path, flags);
        if (descriptor < 0)
        {
            throw new IOException(Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError()));
        }

        return new FileStream(new SafeFileHandle(descriptor, ownsHandle: true), FileAccess.Read, 1);
    }

    // O_RDONLY | O_NONBLOCK | O_CLOEXEC: 0 | 0x800 | 0x80000 on Linux, 0 | 0x4 | 0x1000000 on macOS.
    private const int LinuxReadNonBlockingCloseOnExec = 0x800 | 0x80000;

    private const int MacReadNonBlockingCloseOnExec = 0x4 | 0x1000000;

    /// <summary>
    /// After a rename, fsyncs the folder so the new name itself survives a power cut (POSIX keeps names in the
    /// folder's own data). Windows has no such call and needs none (NTFS journals renames).
    /// </summary>
    public static void FlushFolder(string folder)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return;
        }

        var descriptor = NativeMethods.Open(folder, 0);
        if (descriptor < 0)
        {
            return;
        }

        try
        {
            _ = NativeMethods.Fsync(descriptor);
        }
        finally
        {
            _ = NativeMethods.Close(descriptor);
        }
    }

    private static partial class NativeMethods
    {
        [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        public static partial int Open(string path, int flags);

        [LibraryImport("libc", EntryPoint = "fsync")]
        public static partial int Fsync(int descriptor);

        [LibraryImport("libc", EntryPoint = "close")]
        public static partial int Close(int descriptor);
    }
}
