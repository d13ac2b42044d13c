using MultiLora.Distributed.Watchdog;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Distributed.Mpi;

/// <summary>
/// Collectives over the system MPI. CPU tensors are passed to MPI in place; CUDA tensors are staged through a
/// pinned host copy (correct with any MPI build, slower than NCCL). Sums run in the tensor's dtype for float32,
/// float64 and int64, and in float32 for bf16/fp16 (MPI has no 16-bit float sum; one rounding at the end).
/// Broadcast and all-gather move bytes, so any dtype goes. Runs on two communicators duplicated from
/// MPI_COMM_WORLD, both with MPI_ERRORS_RETURN: one for the collectives, one for the watchdog's heartbeats.
/// </summary>
public sealed unsafe class MpiCollectives : ICollectives
{
    /// <summary>Elements per MPI call: MPI counts are 32-bit ints.</summary>
    const int MaxCount = 1 << 28;
    readonly MpiLibrary _mpi;
    nint _comm, _heartbeatComm;
    readonly bool _initializedHere;
    readonly MpiHeartbeatChannel? _channel;
    readonly RankWatchdog? _watchdog;
    bool _failed, _disposed;

    public int Rank { get; }
    public int WorldSize { get; }
    public string Description { get; }
    public long BytesAllReduced { get; private set; }

    MpiCollectives(MpiLibrary mpi, bool initializedHere, int rank, int world, WatchdogOptions? watchdog)
    {
        _mpi = mpi;
        _initializedHere = initializedHere;
        Rank = rank;
        WorldSize = world;
        Description = $"mpi ({mpi.Version()}, {mpi.Path})";
        _comm = Duplicate();
        _heartbeatComm = Duplicate();
        if (watchdog is not null && world > 1)
        {
            _channel = new MpiHeartbeatChannel(mpi, _heartbeatComm, rank == 0 ? Enumerable.Range(1, world - 1) : [0], world);
            _watchdog = new RankWatchdog(rank, world, _channel, watchdog);
        }
    }

    /// <summary>
    /// Initialises MPI (MPI_THREAD_MULTIPLE: the watchdog's thread sends heartbeats while the main thread is inside a
    /// collective) and checks that MPI sees the world the launcher announced.
    /// </summary>
    public static MpiCollectives Start(LaunchEnvironment launch, WatchdogOptions? watchdog)
    {
        // srun without an MPI plugin: Open MPI would abort inside MPI_Init with a page of text
        if (launch.Launcher == Launcher.Slurm && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("PMIX_RANK")) && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("PMI_FD")))
            throw new MpiException($"srun started this process ({launch}) without an MPI plugin (no PMIX_RANK or PMI_FD): use srun --mpi=pmix (or SLURM_MPI_TYPE=pmix, or MpiDefault=pmix in slurm.conf)");
        var mpi = MpiLibrary.Load();
        int initialized = 0, provided = 0;
        mpi.Check(mpi.Initialized(&initialized), "MPI_Initialized");
        if (initialized == 0)
        {
            mpi.Check(mpi.InitThread(null, null, MpiAbi.ThreadMultiple, &provided), "MPI_Init_thread");
            if (provided < MpiAbi.ThreadMultiple)
                throw new MpiException($"{mpi.Path} gives thread level {provided}, the rank watchdog needs MPI_THREAD_MULTIPLE ({MpiAbi.ThreadMultiple}): use an MPI built with thread support");
        }
        int rank = 0, size = 0;
        mpi.Check(mpi.CommRank(mpi.Abi.CommWorld, &rank), "MPI_Comm_rank");
        mpi.Check(mpi.CommSize(mpi.Abi.CommWorld, &size), "MPI_Comm_size");
        if (launch.Launcher != Launcher.Single && (size != launch.WorldSize || rank != launch.Rank))
            throw new MpiException(launch.Launcher == Launcher.Slurm
                ? $"MPI sees rank {rank} of {size} but srun started rank {launch.Rank} of {launch.WorldSize}: MPI was not wired to srun (try srun --mpi=pmix, or launch with mpirun inside the allocation)"
                : $"MPI sees rank {rank} of {size} but the launcher ({launch.Launcher}) says rank {launch.Rank} of {launch.WorldSize}: {mpi.Path} is not the MPI that launched this process (set {MpiLibrary.PathVariable})");
        return new MpiCollectives(mpi, initialized == 0, rank, size, watchdog);
    }

    nint Duplicate()
    {
        nint comm = 0;
        _mpi.Check(_mpi.CommDup(_mpi.Abi.CommWorld, &comm), "MPI_Comm_dup");
        _mpi.Check(_mpi.CommSetErrhandler(comm, _mpi.Abi.ErrorsReturn), "MPI_Comm_set_errhandler");
        return comm;
    }

    public void AllReduceSum(Tensor tensor)
    {
        using var scope = NewDisposeScope();
        var sumType = tensor.dtype is ScalarType.Float64 or ScalarType.Int64 ? tensor.dtype : ScalarType.Float32;
        if (!tensor.is_floating_point() && tensor.dtype != ScalarType.Int64)
            throw new NotSupportedException($"all-reduce of {tensor.dtype} tensors (float or int64 only)");
        var (work, staged) = Stage(tensor, sumType);
        nint datatype = sumType switch { ScalarType.Float64 => _mpi.Abi.Double, ScalarType.Int64 => _mpi.Abi.Int64, _ => _mpi.Abi.Float };
        long count = work.NumberOfElements;
        byte* data = (byte*)TensorMemory.DataPointer(work);
        Collective("all-reduce", () =>
        {
            for (long done = 0; done < count; done += MaxCount)
            {
                int n = (int)Math.Min(MaxCount, count - done);
                _mpi.Check(_mpi.Allreduce((void*)_mpi.Abi.InPlace, data + done * work.ElementSize, n, datatype, _mpi.Abi.Sum, _comm), "MPI_Allreduce");
            }
        });
        BytesAllReduced += count * work.ElementSize;
        if (staged) tensor.copy_(work);
    }

    public void Broadcast(Tensor tensor, int root = 0)
    {
        RequireRank(root);
        using var scope = NewDisposeScope();
        var (work, staged) = Stage(tensor, tensor.dtype);
        long bytes = work.NumberOfElements * work.ElementSize;
        byte* data = (byte*)TensorMemory.DataPointer(work);
        Collective("broadcast", () =>
        {
            for (long done = 0; done < bytes; done += MaxCount)
                _mpi.Check(_mpi.Bcast(data + done, (int)Math.Min(MaxCount, bytes - done), _mpi.Abi.Byte, root, _comm), "MPI_Bcast");
        });
        if (staged && Rank != root) tensor.copy_(work);
    }

    public void Barrier() => Collective("barrier", () => _mpi.Check(_mpi.Barrier(_comm), "MPI_Barrier"));

    public long[] AllGather(ReadOnlySpan<long> values) => Gather<long>(values);

    public double[] AllGather(ReadOnlySpan<double> values) => Gather<double>(values);

    T[] Gather<T>(ReadOnlySpan<T> values) where T : unmanaged
    {
        var send = values.ToArray();
        var all = new T[send.Length * WorldSize];
        int bytes = send.Length * sizeof(T);
        Collective("all-gather", () =>
        {
            fixed (T* s = send)
            fixed (T* r = all)
                _mpi.Check(_mpi.Allgather(s, bytes, _mpi.Abi.Byte, r, bytes, _mpi.Abi.Byte, _comm), "MPI_Allgather");
        });
        return all;
    }

    /// <summary>
    /// The tensor itself when MPI can use it in place (CPU, contiguous, in <paramref name="dtype"/>), else a host
    /// copy in <paramref name="dtype"/>, pinned when the tensor lives on a GPU (faster, asynchronous-capable copies).
    /// </summary>
    static (Tensor Work, bool Staged) Stage(Tensor tensor, ScalarType dtype)
    {
        if (tensor.device_type == DeviceType.CPU && tensor.is_contiguous() && tensor.dtype == dtype) return (tensor, false);
        var host = empty(tensor.shape, dtype, CPU);
        if (tensor.device_type != DeviceType.CPU) host = host.pin_memory();
        host.copy_(tensor);
        return (host, true);
    }

    /// <summary>Lets a backend that only borrows MPI (NCCL's id exchange and heartbeats) time its own collectives.</summary>
    internal void EnterWatch(string name) => _watchdog?.Enter(name);

    internal void ExitWatch() => _watchdog?.Exit();

    void Collective(string name, Action call)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _watchdog?.Enter(name);
        try { call(); }
        finally { _watchdog?.Exit(); }
    }

    void RequireRank(int rank)
    {
        if (rank < 0 || rank >= WorldSize) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"not a rank of a world of {WorldSize}");
    }

    public void Fail(string reason)
    {
        if (_failed) return;
        _failed = true;
        _watchdog?.Fail();
    }

    /// <summary>
    /// Normal end: a barrier (no rank leaves while another still needs it), the watchdog says goodbye, MPI is
    /// finalised. After <see cref="Fail"/> nothing collective is attempted: the peers are stopping.
    /// </summary>
    public void Dispose()
    {
        if (_disposed) return;
        if (!_failed)
        {
            Barrier();
            _watchdog?.Dispose();
            _channel?.Dispose();
            fixed (nint* c = &_comm) _mpi.CommFree(c);
            fixed (nint* h = &_heartbeatComm) _mpi.CommFree(h);
            int finalized = 0;
            _mpi.Finalized(&finalized);
            if (_initializedHere && finalized == 0) _mpi.Finalize();
        }
        _disposed = true;
    }
}
