using System.Runtime.InteropServices;
using MultiLora.Core.Runtime;
using MultiLora.Core.Tensors;
using MultiLora.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Tests.Distributed;

/// <summary>Backend choice and its refusals, in one process (no launcher needed).</summary>
public sealed class CollectivesStartTests
{
    static readonly LaunchEnvironment TwoRanksByMpirun = new(Launcher.OpenMpi, 0, 2, 0);
    static readonly LaunchEnvironment TwoRanksByTorchrun = new(Launcher.Torchrun, 0, 2, 0, "127.0.0.1", 29500);

    [Fact]
    public void Nccl_OnACpuRun_IsAOneLineError_AndNeverLoadsLibnccl()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Collectives.Start(DistributedBackend.Nccl, TwoRanksByMpirun, DeviceType.CPU, null));
        Assert.Equal("distributed.backend nccl needs CUDA tensors and this run's device is cpu: use distributed.backend mpi (or auto) on CPU", e.Message);
        Assert.DoesNotContain("libnccl", File.ReadAllText("/proc/self/maps"));
    }

    [Fact]
    public void OneProcess_RunsWithoutAnyLibrary()
    {
        using var auto = Collectives.Start(DistributedBackend.Auto, LaunchEnvironment.SingleProcess, DeviceType.CPU, null);
        using var none = Collectives.Start(DistributedBackend.None, LaunchEnvironment.SingleProcess, DeviceType.CPU, null);
        Assert.IsType<SingleProcessCollectives>(auto);
        Assert.IsType<SingleProcessCollectives>(none);
    }

    [Fact]
    public void BackendNone_UnderALauncherOfTwoRanks_IsRefused()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Collectives.Start(DistributedBackend.None, TwoRanksByMpirun, DeviceType.CPU, null));
        Assert.StartsWith("distributed.backend is none but this process is rank 0 of 2, local rank 0, launched by openmpi", e.Message);
    }

    [Fact]
    public void Mpi_UnderTorchrunVariables_IsRefused()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Collectives.Start(DistributedBackend.Auto, TwoRanksByTorchrun, DeviceType.CPU, null));
        Assert.Contains("the mpi backend needs an MPI launcher", e.Message);
    }

    [Fact]
    public void BackendNames_AreParsed_AndAnUnknownOneIsNamed()
    {
        Assert.Equal(DistributedBackend.Nccl, DistributedBackends.Parse(" NCCL "));
        Assert.Equal("distributed.backend 'gloo' is not one of auto|mpi|nccl|none", Assert.Throws<InvalidDataException>(() => DistributedBackends.Parse("gloo")).Message);
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float64)]
    [InlineData(ScalarType.Int64)]
    [InlineData(ScalarType.BFloat16)]
    public void TensorMemory_PointsAtTheTensorsOwnElements(ScalarType dtype)
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var whole = Ranges.Arange(0, 10, ScalarType.Float64).to(dtype);
        var slice = whole.narrow(0, 3, 4);   // starts at element 3 of the same storage
        nint address = TensorMemory.DataPointer(slice);
        long elementSize = whole.ElementSize;
        // write zeros through the pointer: the parent tensor must see them at elements 3..6 and nowhere else
        for (long i = 0; i < 4 * elementSize; i++) Marshal.WriteByte(address, (int)i, 0);
        var values = whole.to(ScalarType.Float64).data<double>().ToArray();
        Assert.Equal([0, 1, 2, 0, 0, 0, 0, 7, 8, 9], values);
    }
}
