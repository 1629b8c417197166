using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

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
        [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
        public static partial int Open(string path, int flags);

        [LibraryImport("libc", EntryPoint = "fsync")]
        public static partial int Fsync(int descriptor);

        [LibraryImport("libc", EntryPoint = "close")]
        public static partial int Close(int descriptor);
    }
}
