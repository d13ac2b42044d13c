using MultiLora.Core.Runtime;

namespace MultiLora.Tests.Gpu;

/// <summary>
/// A fact that runs only where libtorch has a CUDA device (a CUDA build, or LIBTORCH_DIR pointing at a CUDA
/// libtorch such as a PyTorch install's torch/lib); elsewhere it is reported as skipped, with the reason.
/// </summary>
public sealed class CudaFactAttribute : FactAttribute
{
    public const string NoCuda = "no CUDA device: this libtorch is CPU-only (run with LIBTORCH_DIR=<a CUDA PyTorch>/torch/lib, or build with -p:TorchBackend=cuda)";

    public CudaFactAttribute()
    {
        if (!TorchRuntime.CudaAvailable()) Skip = NoCuda;
    }
}
