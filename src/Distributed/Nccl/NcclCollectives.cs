using MultiLora.Distributed.Mpi;
using MultiLora.Distributed.Watchdog;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Distributed.Nccl;

/// <summary>
/// Collectives over NCCL on CUDA tensors, enqueued on the legacy default CUDA stream (stream 0, the one TorchSharp
/// computes on: it never switches streams). Each call synchronises the device before returning, so the watchdog's
/// collective timer covers the wait and a later .item() never blocks on a peer. The unique id reaches the ranks
/// by MPI_Bcast when an MPI launcher started them (MPI then also carries the heartbeats), otherwise through the
/// TCP rendezvous at MASTER_ADDR:MASTER_PORT (whose connections carry the heartbeats).
/// </summary>
public sealed unsafe class NcclCollectives : ICollectives
{
    static readonly TimeSpan RendezvousTimeout = TimeSpan.FromMinutes(5);
    readonly NcclLibrary _nccl;
    readonly nint _comm;
    readonly Device _device;
    readonly MpiCollectives? _mpi;
    readonly TcpRendezvous? _rendezvous;
    readonly RankWatchdog? _watchdog;
    bool _failed, _disposed;

    public int Rank { get; }
    public int WorldSize { get; }
    public string Description { get; }
    public long BytesAllReduced { get; private set; }

    NcclCollectives(NcclLibrary nccl, nint comm, Device device, int rank, int world, MpiCollectives? mpi, TcpRendezvous? rendezvous, RankWatchdog? watchdog)
    {
        (_nccl, _comm, _device, Rank, WorldSize, _mpi, _rendezvous, _watchdog) = (nccl, comm, device, rank, world, mpi, rendezvous, watchdog);
        Description = $"nccl ({nccl.Version()}, {nccl.Path}) on {device}{(mpi is not null ? ", id over MPI" : ", id over TCP")}";
    }

    /// <summary>Checks the device first: on a CPU run libnccl is never opened.</summary>
    public static NcclCollectives Start(LaunchEnvironment launch, DeviceType device, WatchdogOptions? watchdog)
    {
        if (device != DeviceType.CUDA)
            throw new InvalidOperationException($"distributed.backend nccl needs CUDA tensors and this run's device is {device.ToString().ToLowerInvariant()}: use distributed.backend mpi (or auto) on CPU");
        var nccl = NcclLibrary.Load();
        CudaRuntime.SetDevice(launch.LocalRank);
        var cuda = new Device(DeviceType.CUDA, launch.LocalRank);

        NcclUniqueId id = default;
        MpiCollectives? mpi = null;
        TcpRendezvous? rendezvous = null;
        RankWatchdog? dog = null;
        if (launch.LaunchedByMpi || launch.Launcher == Launcher.Single)
        {
            mpi = MpiCollectives.Start(launch, watchdog);
            if (mpi.Rank == 0) nccl.Check(nccl.GetUniqueId(&id), "ncclGetUniqueId");
            using var bytes = IdTensor(id);
            mpi.Broadcast(bytes, 0);
            id = IdFrom(bytes);
        }
        else
        {
            string address = launch.MasterAddr ?? throw new InvalidOperationException($"this process is {launch} but MASTER_ADDR is not set (the rendezvous address)");
            int port = launch.MasterPort ?? throw new InvalidOperationException($"this process is {launch} but MASTER_PORT is not set (the rendezvous port)");
            if (launch.Rank == 0) nccl.Check(nccl.GetUniqueId(&id), "ncclGetUniqueId");
            var mine = new byte[NcclUniqueId.Bytes];
            new ReadOnlySpan<byte>(id.Internal, NcclUniqueId.Bytes).CopyTo(mine);
            rendezvous = TcpRendezvous.Connect(launch.Rank, launch.WorldSize, address, port, mine, RendezvousTimeout);
            rendezvous.Payload.CopyTo(new Span<byte>(id.Internal, NcclUniqueId.Bytes));
            if (watchdog is not null && launch.IsDistributed)
                dog = new RankWatchdog(launch.Rank, launch.WorldSize, new TcpHeartbeatChannel(rendezvous.Peers), watchdog);
        }
        int rank = mpi?.Rank ?? launch.Rank, world = mpi?.WorldSize ?? launch.WorldSize;
        nint comm = 0;
        nccl.Check(nccl.CommInitRank(&comm, world, id, rank), "ncclCommInitRank");
        return new NcclCollectives(nccl, comm, cuda, rank, world, mpi, rendezvous, dog);
    }

    static Tensor IdTensor(NcclUniqueId id)
    {
        var bytes = new byte[NcclUniqueId.Bytes];
        new ReadOnlySpan<byte>(id.Internal, NcclUniqueId.Bytes).CopyTo(bytes);
        return tensor(bytes, ScalarType.Byte);
    }

    static NcclUniqueId IdFrom(Tensor t)
    {
        NcclUniqueId id = default;
        t.data<byte>().ToArray().CopyTo(new Span<byte>(id.Internal, NcclUniqueId.Bytes));
        return id;
    }

    static int DataType(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => NcclLibrary.Float32,
        ScalarType.Float64 => NcclLibrary.Float64,
        ScalarType.BFloat16 => NcclLibrary.BFloat16,
        ScalarType.Float16 => NcclLibrary.Float16,
        ScalarType.Int64 => NcclLibrary.Int64,
        ScalarType.Int32 => NcclLibrary.Int32,
        ScalarType.Byte => NcclLibrary.Uint8,
        ScalarType.Int8 => NcclLibrary.Int8,
        _ => throw new NotSupportedException($"nccl has no {dtype} type"),
    };

    /// <summary>The tensor itself when it is a contiguous tensor on this rank's GPU, else a copy there.</summary>
    (Tensor Work, bool Staged) OnDevice(Tensor t)
    {
        if (t.device_type == DeviceType.CUDA && t.device_index == _device.index && t.is_contiguous()) return (t, false);
        return (t.to(_device).contiguous(), true);
    }

    public void AllReduceSum(Tensor tensor)
    {
        using var scope = NewDisposeScope();
        var (work, staged) = OnDevice(tensor);
        Collective("all-reduce", () => _nccl.Check(_nccl.AllReduce((void*)TensorMemory.DataPointer(work), (void*)TensorMemory.DataPointer(work),
            (nuint)work.NumberOfElements, DataType(work.dtype), NcclLibrary.Sum, _comm, 0), "ncclAllReduce"));
        BytesAllReduced += work.NumberOfElements * work.ElementSize;
        if (staged) tensor.copy_(work);
    }

    public void Broadcast(Tensor tensor, int root = 0)
    {
        if (root < 0 || root >= WorldSize) throw new ArgumentOutOfRangeException(nameof(root), root, $"not a rank of a world of {WorldSize}");
        using var scope = NewDisposeScope();
        var (work, staged) = OnDevice(tensor);
        Collective("broadcast", () => _nccl.Check(_nccl.Broadcast((void*)TensorMemory.DataPointer(work), (void*)TensorMemory.DataPointer(work),
            (nuint)work.NumberOfElements, DataType(work.dtype), root, _comm, 0), "ncclBroadcast"));
        if (staged && Rank != root) tensor.copy_(work);
    }

    public void Barrier()
    {
        using var scope = NewDisposeScope();
        AllReduceSum(zeros(1, ScalarType.Float32, _device));
        BytesAllReduced -= sizeof(float);   // a barrier moves no payload worth reporting
    }

    public long[] AllGather(ReadOnlySpan<long> values)
    {
        using var all = Gather(tensor(values.ToArray()), ScalarType.Int64);
        return all.data<long>().ToArray();
    }

    public double[] AllGather(ReadOnlySpan<double> values)
    {
        using var all = Gather(tensor(values.ToArray()), ScalarType.Float64);
        return all.data<double>().ToArray();
    }

    Tensor Gather(Tensor values, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var send = values.to(_device);
        var all = empty(values.NumberOfElements * WorldSize, dtype, _device);
        Collective("all-gather", () => _nccl.Check(_nccl.AllGather((void*)TensorMemory.DataPointer(send), (void*)TensorMemory.DataPointer(all),
            (nuint)values.NumberOfElements, DataType(dtype), _comm, 0), "ncclAllGather"));
        values.Dispose();
        return all.cpu().MoveToOuterDisposeScope();
    }

    void Collective(string name, Action call)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _mpi?.EnterWatch(name);
        _watchdog?.Enter(name);
        try
        {
            call();
            cuda.synchronize();
        }
        finally
        {
            _watchdog?.Exit();
            _mpi?.ExitWatch();
        }
    }

    public void Fail(string reason)
    {
        if (_failed) return;
        _failed = true;
        _watchdog?.Fail();
        _mpi?.Fail(reason);
        _nccl.CommAbort(_comm);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_failed) return;
        Barrier();
        _nccl.CommDestroy(_comm);
        _watchdog?.Dispose();
        _rendezvous?.Dispose();
        _mpi?.Dispose();
    }
}
