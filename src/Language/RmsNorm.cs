using MultiLora.Core.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Language;

/// <summary>RMSNorm as Llama computes it: normalise in float32, cast back, then scale.</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    readonly double _eps;
    public readonly TorchSharp.Modules.Parameter weight;

    public RmsNorm(long size, double eps, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(RmsNorm))
    {
        _eps = eps;
        weight = new TorchSharp.Modules.Parameter(ones(size, dtype: dtype, device: device));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var x32 = x.to(ScalarType.Float32);
        var variance = x32.pow(Scalars.Of(2L)).mean([-1L], keepdim: true);
        var normed = (x32 * rsqrt(variance.PlusScalar(_eps))).to(x.dtype);
        return (weight * normed).MoveToOuterDisposeScope();
    }
}
