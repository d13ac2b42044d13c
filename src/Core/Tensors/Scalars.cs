using System.Collections.Concurrent;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Core.Tensors;

/// <summary>
/// Scalars that live for the whole process, and tensor arithmetic that uses them.
/// Why: TorchSharp turns `a + b`, `x * 1.7`, `t.eq(5)`, `add(.., alpha: s)` into a native call that takes a
/// temporary Scalar's handle; once the handle is read the temporary is unreachable, so a garbage collection
/// triggered meanwhile by another thread (the data loader's workers) can finalise and free it while the
/// native op still reads it. Seen as an intermittent "Expected false to be true ... toFloat
/// (c10/core/Scalar.h)" mid-training. Cached scalars are never finalised, so the race cannot happen.
/// Use these in every per-step code path.
/// </summary>
public static class Scalars
{
    static readonly ConcurrentDictionary<double, Scalar> Doubles = new();
    static readonly ConcurrentDictionary<long, Scalar> Longs = new();

    public static Scalar One { get; } = Of(1L);

    /// <summary>A process-lifetime float scalar (the set of distinct constants a model uses is small).</summary>
    public static Scalar Of(double value) => Doubles.GetOrAdd(value, v => v.ToScalar());

    /// <summary>A process-lifetime integer scalar.</summary>
    public static Scalar Of(long value) => Longs.GetOrAdd(value, v => v.ToScalar());

    /// <summary>a + b for tensors, without a temporary alpha scalar.</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

    /// <summary>a + alpha * b.</summary>
    public static Tensor PlusScaled(this Tensor a, Tensor b, double alpha) => a.add(b, Of(alpha));

    public static Tensor Times(this Tensor a, double s) => a.mul(Of(s));
    public static Tensor DividedBy(this Tensor a, double s) => a.div(Of(s));
    public static Tensor PlusScalar(this Tensor a, double s) => a.add(Of(s), One);
}
