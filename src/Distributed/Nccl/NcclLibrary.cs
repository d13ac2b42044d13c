using System.Runtime.InteropServices;

namespace MultiLora.Distributed.Nccl;

/// <summary>ncclUniqueId: 128 opaque bytes that rank 0 creates and every rank passes to ncclCommInitRank.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct NcclUniqueId
{
    public const int Bytes = 128;
    public fixed byte Internal[Bytes];
}

/// <summary>
/// libnccl (libnccl.so.2) from the PyTorch install LIBTORCH_DIR points at (its lib folder or the nvidia-nccl wheel
/// beside it), the system, or MULTILORA_NCCL_LIBRARY. Loaded only for CUDA runs: on a CPU machine it is never opened.
/// </summary>
sealed unsafe class NcclLibrary
{
    public const string PathVariable = "MULTILORA_NCCL_LIBRARY";
    public const int Success = 0;
    // ncclDataType_t and ncclRedOp_t (nccl.h)
    public const int Int8 = 0, Uint8 = 1, Int32 = 2, Int64 = 4, Float16 = 6, Float32 = 7, Float64 = 8, BFloat16 = 9;
    public const int Sum = 0;
    static readonly object Gate = new();
    static NcclLibrary? _loaded;

    public string Path { get; }
    public readonly delegate* unmanaged<NcclUniqueId*, int> GetUniqueId;
    public readonly delegate* unmanaged<nint*, int, NcclUniqueId, int, int> CommInitRank;
    public readonly delegate* unmanaged<nint, int> CommDestroy, CommAbort;
    public readonly delegate* unmanaged<void*, void*, nuint, int, int, nint, nint, int> AllReduce;
    public readonly delegate* unmanaged<void*, void*, nuint, int, int, nint, nint, int> Broadcast;
    public readonly delegate* unmanaged<void*, void*, nuint, int, nint, nint, int> AllGather;
    public readonly delegate* unmanaged<int, nint> GetErrorString;
    public readonly delegate* unmanaged<int*, int> GetVersion;

    NcclLibrary(string path, nint handle)
    {
        Path = path;
        nint Required(string name) => NativeLibrary.TryGetExport(handle, name, out var p) ? p : throw new EntryPointNotFoundException($"{path}: no symbol {name} (not libnccl?)");
        GetUniqueId = (delegate* unmanaged<NcclUniqueId*, int>)Required("ncclGetUniqueId");
        CommInitRank = (delegate* unmanaged<nint*, int, NcclUniqueId, int, int>)Required("ncclCommInitRank");
        CommDestroy = (delegate* unmanaged<nint, int>)Required("ncclCommDestroy");
        CommAbort = (delegate* unmanaged<nint, int>)Required("ncclCommAbort");
        AllReduce = (delegate* unmanaged<void*, void*, nuint, int, int, nint, nint, int>)Required("ncclAllReduce");
        Broadcast = (delegate* unmanaged<void*, void*, nuint, int, int, nint, nint, int>)Required("ncclBroadcast");
        AllGather = (delegate* unmanaged<void*, void*, nuint, int, nint, nint, int>)Required("ncclAllGather");
        GetErrorString = (delegate* unmanaged<int, nint>)Required("ncclGetErrorString");
        GetVersion = (delegate* unmanaged<int*, int>)Required("ncclGetVersion");
    }

    public static bool TryLoad(out NcclLibrary? library)
    {
        try { library = Load(); return true; }
        catch (DllNotFoundException) { library = null; return false; }
    }

    public static NcclLibrary Load()
    {
        lock (Gate)
        {
            if (_loaded is not null) return _loaded;
            var candidates = NativeLibraryPath.Candidates(PathVariable, "libnccl.so.2", "nccl");
            nint handle = NativeLibraryPath.TryLoad(candidates, out var path, out var errors);
            if (handle == 0)
                throw new DllNotFoundException($"libnccl.so.2 not found ({errors}); set LIBTORCH_DIR to a CUDA PyTorch's torch/lib or {PathVariable} to libnccl.so.2");
            return _loaded = new NcclLibrary(path, handle);
        }
    }

    public void Check(int code, string call)
    {
        if (code != Success) throw new InvalidOperationException($"{call} failed: {Marshal.PtrToStringAnsi(GetErrorString(code)) ?? $"NCCL error {code}"}");
    }

    /// <summary>"2.21.5" from ncclGetVersion's 22105.</summary>
    public string Version()
    {
        int v = 0;
        if (GetVersion(&v) != Success) return "?";
        return v >= 10000 ? $"{v / 10000}.{v / 100 % 100}.{v % 100}" : $"{v / 1000}.{v / 100 % 10}.{v % 100}";
    }
}
