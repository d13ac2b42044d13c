using MultiLora.Distributed.Mpi;
using MultiLora.Distributed.Nccl;
using MultiLora.Distributed.Watchdog;
using TorchSharp;

namespace MultiLora.Distributed;

/// <summary>Picks and starts the backend for this process (recipe distributed.backend, the launcher's variables, the device).</summary>
public static class Collectives
{
    /// <param name="device">The training device: nccl needs CUDA; mpi stages CUDA tensors through host memory.</param>
    /// <param name="watchdog">Heartbeat settings; null runs without a watchdog (tests of the collectives alone).</param>
    public static ICollectives Start(DistributedBackend backend, LaunchEnvironment launch, DeviceType device, WatchdogOptions? watchdog)
    {
        switch (backend)
        {
            case DistributedBackend.None:
                if (launch.IsDistributed)
                    throw new InvalidOperationException($"distributed.backend is none but this process is {launch}: set distributed.backend to auto, mpi or nccl, or start one process");
                return new SingleProcessCollectives();
            case DistributedBackend.Nccl:
                return NcclCollectives.Start(launch, device, watchdog);
            case DistributedBackend.Mpi:
                RequireMpiLaunch(launch);
                return MpiCollectives.Start(launch, watchdog);
            default:
                if (!launch.IsDistributed) return new SingleProcessCollectives();
                if (device == DeviceType.CUDA && NcclLibrary.TryLoad(out _)) return NcclCollectives.Start(launch, device, watchdog);
                RequireMpiLaunch(launch);
                return MpiCollectives.Start(launch, watchdog);
        }
    }

    /// <summary>MPI ranks exist only under an MPI launcher; torchrun's variables describe a world MPI cannot join.</summary>
    static void RequireMpiLaunch(LaunchEnvironment launch)
    {
        if (launch.Launcher == Launcher.Torchrun)
            throw new InvalidOperationException($"this process is {launch}: the mpi backend needs an MPI launcher (mpirun -n N ..., or srun under Slurm); torchrun-style variables work with the nccl backend on CUDA");
    }
}
