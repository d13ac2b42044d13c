using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Benchmarks.Anchor;

/// <summary>Waits for a device's queue (CUDA) so a host clock measures the work, and measures its matmul peak.</summary>
public static class DevicePeak
{
    public static void Synchronize(Device device)
    {
        if (device.type == DeviceType.CUDA) cuda.synchronize(device);
    }

    /// <summary>
    /// TFLOP/s of a square matmul in <paramref name="dtype"/>: 8192^3 on a GPU (hf_anchor.py measures the same
    /// product the same way), 512^3 on a CPU. The denominator of MFU: a measured peak, not the datasheet's.
    /// </summary>
    public static double MatmulTflops(Device device, ScalarType dtype)
    {
        long n = device.type == DeviceType.CUDA ? 8192 : 512;
        int warmup = 3, reps = device.type == DeviceType.CUDA ? 20 : 3;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var a = randn(n, n, dtype: dtype, device: device);
        var b = randn(n, n, dtype: dtype, device: device);
        for (int i = 0; i < warmup; i++) mm(a, b).Dispose();
        Synchronize(device);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < reps; i++) mm(a, b).Dispose();
        Synchronize(device);
        return 2.0 * n * n * n * reps / clock.Elapsed.TotalSeconds / 1e12;
    }
}
