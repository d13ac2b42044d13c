using MultiLora.Core.Tensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiLora.Core.Optim;

/// <summary>
/// Gradient housekeeping between backward and the optimizer step, with PyTorch's semantics: the norm and the
/// clipping see only the gradients that exist, and clearing sets them to none (what PyTorch's zero_grad does by
/// default since 2.0; TorchSharp 0.107's zeroes them in place, which makes AdamW keep moving a parameter that got
/// no gradient, and a resumed run, whose parameters start with none, differ from the uninterrupted one).
/// </summary>
public static class Gradients
{
    /// <summary>
    /// torch.nn.utils.clip_grad_norm_(parameters, maxNorm): total = 2-norm of the stacked per-gradient 2-norms; every
    /// gradient is multiplied by min(maxNorm / (total + 1e-6), 1) (computed as torch does: (total + 1e-6).reciprocal()
    /// * maxNorm, clamped, as a tensor). Returns the total before clipping (0 when no parameter has a gradient). A
    /// NaN/infinite total propagates into the gradients, as in torch: check the returned value before stepping.
    /// </summary>
    public static double ClipGradNorm(IEnumerable<Parameter> parameters, double maxNorm)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var grads = Present(parameters);
        if (grads.Count == 0) return 0.0;
        var total = TotalNorm(grads);
        using var max = maxNorm.ToScalar();
        // max_norm / (total + 1e-6) is y.reciprocal() * x in libtorch, then clamp(max: 1)
        var coefficient = total.add(Scalars.Of(1e-6), Scalars.One).reciprocal_().mul_(max).clamp_max_(Scalars.One);
        foreach (var g in grads) g.mul_(coefficient);
        return ToDouble(total);
    }

    /// <summary>The total 2-norm of the gradients that exist, as <see cref="ClipGradNorm"/> computes it, without clipping.</summary>
    public static double Norm(IEnumerable<Parameter> parameters)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var grads = Present(parameters);
        return grads.Count == 0 ? 0.0 : ToDouble(TotalNorm(grads));
    }

    /// <summary>Sets every gradient to none (PyTorch's zero_grad(set_to_none=True)); the next backward allocates afresh.</summary>
    public static void SetToNone(IEnumerable<Parameter> parameters)
    {
        foreach (var p in parameters) p.grad = null;
    }

    static List<Tensor> Present(IEnumerable<Parameter> parameters) =>
        parameters.Select(p => p.grad).Where(g => g is not null).Select(g => g!).ToList();

    static Tensor TotalNorm(List<Tensor> grads)
    {
        // p goes to native code as a float (no managed Scalar). Python's clip_grad_norm_ stacks even a single norm
        // (libtorch's C++ one returns it as is: the two can differ in the last bit there)
        return stack(grads.Select(g => g.norm(2f))).norm(2f);
    }

    static double ToDouble(Tensor t)
    {
        using var d = t.to_type(ScalarType.Float64);
        return d.item<double>();
    }
}
