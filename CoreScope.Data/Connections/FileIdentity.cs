using System.Runtime.InteropServices;

namespace CoreScope.Data.Connections;

/// <summary>
/// A file's device and inode number, the identity a path can lose while a process keeps the file open: after an
/// unlink the path is gone, after a rename over it the path names another file. .NET has no API for it, so it is
/// read with the C library's <c>stat</c>, where <c>st_dev</c> and <c>st_ino</c> are the first two 64-bit fields on
/// 64-bit Linux (glibc 2.33+ and musl). Elsewhere <see cref="IsSupported"/> is false; on Windows an open database
/// cannot be deleted or replaced in the first place.
/// </summary>
internal readonly record struct FileIdentity(ulong Device, ulong Inode)
{
    private static readonly StatFunction? Stat = FindStat();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl, SetLastError = true)]
    private delegate int StatFunction([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte[] buffer);

    public static bool IsSupported => Stat is not null;

    /// <summary>The identity of the file at <paramref name="path"/> now, or null when there is none (or no way to tell).</summary>
    public static FileIdentity? Of(string path)
    {
        if (Stat is null)
        {
            return null;
        }

        // struct stat is 144 bytes on x86-64 and 128 on arm64; the rest of the buffer is room to spare.
        var buffer = new byte[256];
        return Stat(path, buffer) == 0
            ? new FileIdentity(BitConverter.ToUInt64(buffer, 0), BitConverter.ToUInt64(buffer, 8))
            : null;
    }

    private static StatFunction? FindStat()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.Arm64))
        {
            return null;
        }

        // The C library is loaded into every .NET process; its symbols are found through the main program.
        return NativeLibrary.TryGetExport(NativeLibrary.GetMainProgramHandle(), "stat", out var address)
            ? Marshal.GetDelegateForFunctionPointer<StatFunction>(address)
            : null;
    }
}
