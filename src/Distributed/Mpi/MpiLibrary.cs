using System.Runtime.InteropServices;
using System.Text;

namespace MultiLora.Distributed.Mpi;

/// <summary>A failed MPI call, with the library's own error text.</summary>
public sealed class MpiException(string message) : Exception(message);

/// <summary>
/// The system libmpi, loaded once per process: by name (libmpi.so.40 = Open MPI 3-5, libmpi.so.12 = MPICH /
/// Intel MPI, then libmpi.so), or from the path in MULTILORA_MPI_LIBRARY. Loaded RTLD_GLOBAL because Open MPI
/// dlopens its own plugins, which expect libmpi's symbols to be global (as mpi4py does). Every function we use
/// is bound as an unmanaged pointer; the ABI (Open MPI or MPICH handles) is decided by which symbols exist.
/// </summary>
sealed unsafe class MpiLibrary
{
    public const string PathVariable = "MULTILORA_MPI_LIBRARY";
    static readonly string[] Names = ["libmpi.so.40", "libmpi.so.12", "libmpi.so"];
    static readonly object Gate = new();
    static MpiLibrary? _loaded;

    public string Path { get; }
    public MpiAbi Abi { get; }

    public readonly delegate* unmanaged<int*, int> Initialized, Finalized;
    public readonly delegate* unmanaged<int*, byte***, int, int*, int> InitThread;
    public readonly delegate* unmanaged<int> Finalize;
    public readonly delegate* unmanaged<nint, int, int> Abort;
    public readonly delegate* unmanaged<nint, int*, int> CommRank, CommSize;
    public readonly delegate* unmanaged<nint, nint*, int> CommDup;
    public readonly delegate* unmanaged<nint*, int> CommFree;
    public readonly delegate* unmanaged<nint, nint, int> CommSetErrhandler;
    public readonly delegate* unmanaged<void*, void*, int, nint, nint, nint, int> Allreduce;
    public readonly delegate* unmanaged<void*, int, nint, int, nint, int> Bcast;
    public readonly delegate* unmanaged<nint, int> Barrier;
    public readonly delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int> Allgather;
    public readonly delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int> Isend, Irecv;
    public readonly delegate* unmanaged<nint*, int*, void*, int> Test;
    public readonly delegate* unmanaged<nint*, int> Cancel, RequestFree;
    public readonly delegate* unmanaged<int, byte*, int*, int> ErrorString;
    public readonly delegate* unmanaged<byte*, int*, int> LibraryVersion;

    MpiLibrary(string path, nint handle)
    {
        Path = path;
        nint Export(string name) => NativeLibrary.TryGetExport(handle, name, out var p) ? p : 0;
        nint Required(string name) => Export(name) is var p && p != 0 ? p : throw new MpiException($"{path}: no symbol {name} (not an MPI library?)");
        Abi = MpiAbi.OpenMpi(Export) ?? MpiAbi.Mpich;
        Initialized = (delegate* unmanaged<int*, int>)Required("MPI_Initialized");
        Finalized = (delegate* unmanaged<int*, int>)Required("MPI_Finalized");
        InitThread = (delegate* unmanaged<int*, byte***, int, int*, int>)Required("MPI_Init_thread");
        Finalize = (delegate* unmanaged<int>)Required("MPI_Finalize");
        Abort = (delegate* unmanaged<nint, int, int>)Required("MPI_Abort");
        CommRank = (delegate* unmanaged<nint, int*, int>)Required("MPI_Comm_rank");
        CommSize = (delegate* unmanaged<nint, int*, int>)Required("MPI_Comm_size");
        CommDup = (delegate* unmanaged<nint, nint*, int>)Required("MPI_Comm_dup");
        CommFree = (delegate* unmanaged<nint*, int>)Required("MPI_Comm_free");
        CommSetErrhandler = (delegate* unmanaged<nint, nint, int>)Required("MPI_Comm_set_errhandler");
        Allreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, int>)Required("MPI_Allreduce");
        Bcast = (delegate* unmanaged<void*, int, nint, int, nint, int>)Required("MPI_Bcast");
        Barrier = (delegate* unmanaged<nint, int>)Required("MPI_Barrier");
        Allgather = (delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int>)Required("MPI_Allgather");
        Isend = (delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int>)Required("MPI_Isend");
        Irecv = (delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int>)Required("MPI_Irecv");
        Test = (delegate* unmanaged<nint*, int*, void*, int>)Required("MPI_Test");
        Cancel = (delegate* unmanaged<nint*, int>)Required("MPI_Cancel");
        RequestFree = (delegate* unmanaged<nint*, int>)Required("MPI_Request_free");
        ErrorString = (delegate* unmanaged<int, byte*, int*, int>)Required("MPI_Error_string");
        LibraryVersion = (delegate* unmanaged<byte*, int*, int>)Required("MPI_Get_library_version");
    }

    /// <summary>The process's MPI library (loaded on first use); a one-line error when none is found.</summary>
    public static MpiLibrary Load()
    {
        lock (Gate)
        {
            if (_loaded is not null) return _loaded;
            string? configured = Environment.GetEnvironmentVariable(PathVariable);
            var candidates = string.IsNullOrWhiteSpace(configured) ? Names : [configured.Trim()];
            foreach (var name in candidates)
            {
                nint handle = Dl.Open(name);
                if (handle != 0) return _loaded = new MpiLibrary(name, handle);
            }
            throw new DllNotFoundException(string.IsNullOrWhiteSpace(configured)
                ? $"no MPI library found ({string.Join(", ", Names)}: {Dl.LastError()}); install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev) or set {PathVariable} to a libmpi.so"
                : $"{PathVariable}={configured}: cannot load it ({Dl.LastError()})");
        }
    }

    /// <summary>Throws <see cref="MpiException"/> naming the call when <paramref name="code"/> is not MPI_SUCCESS.</summary>
    public void Check(int code, string call)
    {
        if (code == MpiAbi.Success) return;
        throw new MpiException($"{call} failed: {Describe(code)}");
    }

    public string Describe(int code)
    {
        var buffer = stackalloc byte[MpiAbi.MaxErrorString];
        int length = 0;
        return ErrorString(code, buffer, &length) == MpiAbi.Success ? Encoding.ASCII.GetString(buffer, Math.Clamp(length, 0, MpiAbi.MaxErrorString)) : $"MPI error {code}";
    }

    /// <summary>MPI_Get_library_version's first line ("Open MPI v4.1.4, package: ...").</summary>
    public string Version()
    {
        var buffer = new byte[MpiAbi.MaxLibraryVersionString];
        int length = 0;
        fixed (byte* b = buffer)
            if (LibraryVersion(b, &length) != MpiAbi.Success) return Abi.Name;
        var text = Encoding.ASCII.GetString(buffer, 0, Math.Clamp(length, 0, buffer.Length)).TrimEnd('\0');
        return text.Split('\n', ',')[0].Replace('\t', ' ').Trim();
    }

    /// <summary>dlopen with RTLD_NOW | RTLD_GLOBAL (NativeLibrary.Load uses RTLD_LOCAL).</summary>
    static class Dl
    {
        const int RtldNow = 0x2, RtldGlobal = 0x100;

        [DllImport("libc", EntryPoint = "dlopen")]
        static extern nint DlOpen(string file, int mode);

        [DllImport("libc", EntryPoint = "dlerror")]
        static extern nint DlError();

        public static nint Open(string name) => DlOpen(name, RtldNow | RtldGlobal);

        public static string LastError() => Marshal.PtrToStringAnsi(DlError()) ?? "not found";
    }
}
