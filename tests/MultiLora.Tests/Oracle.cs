using MultiLora.Core.Runtime;
using MultiLora.Core.Safetensors;
using MultiLora.Tests.Common;
using static TorchSharp.torch;

namespace MultiLora.Tests;

/// <summary>The tensors HF transformers/peft computed for the tiny-llava fixture (expected.safetensors).</summary>
public static class Oracle
{
    static readonly Lazy<SafetensorsFile> File = new(() =>
    {
        TorchRuntime.EnsureLoaded();
        return SafetensorsFile.Open(Fixture.Path("expected.safetensors"));
    });

    public static Tensor Load(string name) => File.Value.Load(name);

    public static long[] Ids(string name)
    {
        using var t = Load(name);
        return t.flatten().data<long>().ToArray();
    }

    /// <summary>Largest absolute difference, for assertions that print it.</summary>
    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        return (a.to(ScalarType.Float64) - b.to(ScalarType.Float64)).abs().max().item<double>();
    }

    /// <summary>‖a − b‖ / ‖b‖ over all elements.</summary>
    public static double RelativeError(Tensor actual, Tensor expected)
    {
        using var scope = NewDisposeScope();
        var a = actual.to(ScalarType.Float64);
        var e = expected.to(ScalarType.Float64);
        return ((a - e).norm().item<double>()) / e.norm().item<double>();
    }

    public static void Close(Tensor actual, Tensor expected, double tolerance, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        double diff = MaxAbsDiff(actual, expected);
        Assert.True(diff <= tolerance, $"{what}: max |diff| {diff:E3} exceeds {tolerance:E1}");
    }
}
