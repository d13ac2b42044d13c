using MultiLora.Core.Runtime;

namespace MultiLora.Lora.Tests;

/// <summary>Base of every test class touching TorchSharp: loads the native runtime (with this host's fix) first.</summary>
public abstract class TorchTest
{
    static TorchTest() => TorchRuntime.EnsureLoaded();

    protected TorchTest() => TorchSharp.torch.manual_seed(1234);
}

/// <summary>Tensor comparisons that read well in assertions.</summary>
public static class TensorAssert
{
    /// <summary>Same shape and bit-identical values.</summary>
    public static bool Identical(TorchSharp.torch.Tensor a, TorchSharp.torch.Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape) || a.dtype != b.dtype) return false;
        using var eq = a.eq(b).all();
        return eq.item<bool>();
    }
}
